// Runs the test suite by tier so CI fits its 90 minutes: unit and host files first (one vitest process, host files
// one at a time), then the end-to-end files in parallel lanes. Each e2e file brings up a lab of its own (pools,
// bridge, ports, state directory), so two labs share the machine safely, and one lab alone leaves much of two cores
// idle (zfs-fuse and bindfs serialise a guest's I/O): two dev-stack files took 886 s side by side where one took
// 584 s alone. Files are dealt to lanes longest first by the seconds test/tiers.json records; a file it does not
// list counts as the longest. `--tier ci` (`npm test`, what CI runs) leaves out the files test/tiers.json names under
// `fullOnly`, each with its reason; `--tier full` (`npm run test:full`) runs every file. Exit 1 when any phase failed.
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

export interface Tiers {
  /** Seconds each e2e file took alone, by its path from the repository's root. */
  seconds: Record<string, number>;
  /** Files `npm test` leaves to `npm run test:full`, with the reason. */
  fullOnly: Record<string, string>;
}

const ROOT = join(__dirname, "..");

/** Deals files to at most `n` lanes, longest first, each to the lane with the least time so far. */
export function dealLanes(files: string[], seconds: Record<string, number>, n: number): string[][] {
  const longest = Math.max(0, ...Object.values(seconds)) + 1;
  const weight = (f: string) => seconds[f] ?? longest;
  const lanes = Array.from({ length: n }, () => ({ files: [] as string[], total: 0 }));
  for (const f of [...files].sort((a, b) => weight(b) - weight(a) || a.localeCompare(b))) {
    const lane = lanes.reduce((min, l) => (l.total < min.total ? l : min));
    lane.files.push(f);
    lane.total += weight(f);
  }
  return lanes.map((l) => l.files).filter((l) => l.length > 0);
}

/** The test files of one vitest project (`test/<project>/**`), by path from the repository's root. */
function filesOf(project: string): string[] {
  const dir = join(ROOT, "test", project);
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => `test/${project}/${f}`)
    .sort();
}

/** Runs vitest with `args`, every output line prefixed with `label`; resolves to its exit code. */
function vitest(label: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn("npx", ["vitest", "run", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    for (const stream of [child.stdout, child.stderr]) {
      let rest = "";
      stream.on("data", (chunk: Buffer) => {
        const lines = (rest + chunk.toString()).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) process.stdout.write(`${label}${line}\n`);
      });
      stream.on("end", () => rest && process.stdout.write(`${label}${rest}\n`));
    }
    child.on("close", (code) => resolve(code ?? 1));
  });
}

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function main(): Promise<number> {
  const tier = option("tier", "ci");
  if (tier !== "ci" && tier !== "full") throw new Error(`--tier ${tier}: use ci or full`);
  const laneCount = Number(option("lanes", process.env.PHOENIX_E2E_LANES ?? "2"));
  if (!Number.isInteger(laneCount) || laneCount < 1) throw new Error(`--lanes ${laneCount}: use a whole number ≥ 1`);
  const tiers = JSON.parse(readFileSync(join(ROOT, "test", "tiers.json"), "utf8")) as Tiers;
  const left = tier === "full" ? [] : Object.keys(tiers.fullOnly);
  for (const f of left) console.log(`tiers: ${f} runs in the full tier only (npm run test:full): ${tiers.fullOnly[f]}`);
  const started = Date.now();
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

  const hostLeft = left.filter((f) => f.startsWith("test/host/"));
  const first = await vitest("", ["--project", "unit", "--project", "host", ...hostLeft.flatMap((f) => ["--exclude", f])]);
  console.log(`tiers: unit and host files ${first === 0 ? "passed" : `failed (exit ${first})`} after ${seconds()}`);

  const e2e = filesOf("e2e").filter((f) => !left.includes(f));
  const lanes = dealLanes(e2e, tiers.seconds, laneCount);
  lanes.forEach((l, i) => console.log(`tiers: e2e lane ${i + 1}: ${l.join(" ")}`));
  const codes = await Promise.all(lanes.map((l, i) => vitest(`[lane ${i + 1}] `, ["--project", "e2e", ...l])));
  const failed = codes.flatMap((c, i) => (c === 0 ? [] : [`lane ${i + 1} (exit ${c})`]));
  console.log(
    `tiers: ${e2e.length} e2e files in ${lanes.length} lanes ${failed.length ? `failed: ${failed.join(", ")}` : "passed"}; ` +
      `the ${tier} tier took ${seconds()}`,
  );
  return first === 0 && failed.length === 0 ? 0 : 1;
}

if (require.main === module)
  main().then(
    (code) => process.exit(code),
    (e: Error) => {
      console.error(`tiers: ${e.message}`);
      process.exit(2);
    },
  );
