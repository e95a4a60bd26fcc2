// bench/preview-scale: time `pulumi preview` for 25, 50, 100 and 200 guests against the empty
// program, measured in the same run. Prints medians and ratios; asserts nothing.
// Run: npx tsx bench/preview-scale.ts [runs=3]
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { stringify } from "yaml";
import { ROOT } from "../test/support/toolchain";
import { projectEnv, setSecretConfig } from "../test/support/pulumi-project";
import { syntheticDefinition } from "./generate";

const runs = Number(process.argv[2] ?? 3);
const sizes = [25, 50, 100, 200];

async function timePreview(label: string, program: "empty" | number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), `phoenix-bench-${label}-`));
  mkdirSync(join(dir, "state"));
  const main = program === "empty" ? join(dir, "empty") : ROOT;
  if (program === "empty") {
    mkdirSync(main);
    writeFileSync(join(main, "index.ts"), "export {};\n");
    // Same compiler settings and packages as the real program, so only the program's work differs.
    writeFileSync(
      join(main, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, module: "commonjs", moduleResolution: "node", target: "ES2022", skipLibCheck: true },
      }),
    );
    writeFileSync(join(main, "package.json"), JSON.stringify({ name: "empty", private: true, main: "index.ts" }));
    symlinkSync(join(ROOT, "node_modules"), join(main, "node_modules"));
  }
  writeFileSync(
    join(dir, "Pulumi.yaml"),
    `name: phoenix\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: ${main}\n`,
  );
  // A passphrase made for this run in a 0600 file; secrets set on pulumi's stdin, never on a command line.
  const envVars = projectEnv(dir);
  const stack = await LocalWorkspace.createOrSelectStack({ stackName: "bench", workDir: dir }, { envVars });
  if (program !== "empty") {
    const def = join(dir, "definition.yaml");
    writeFileSync(def, stringify(syntheticDefinition(program)));
    await stack.setConfig("phoenix:definition", { value: def });
    const secret = (key: string, value: string) => setSecretConfig({ dir, stackName: "bench", env: envVars, key, value });
    await secret("phoenix:proxmoxRootPassword", "bench-only");
    await secret("phoenix:nodeSshKey", "unused: preview opens no connection");
  }
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await stack.preview({ diff: false });
    times.push(performance.now() - t0);
  }
  rmSync(dir, { recursive: true, force: true });
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function main() {
  const baseline = await timePreview("empty", "empty");
  const rows: [string, number][] = [["empty program", baseline]];
  for (const n of sizes) rows.push([`${n} guests`, await timePreview(String(n), n)]);
  console.log(`pulumi preview, median of ${runs} runs (2 cores)`);
  console.log("program          median s   × empty   guest cost s (minus empty)");
  for (const [label, ms] of rows)
    console.log(
      `${label.padEnd(16)} ${(ms / 1000).toFixed(2).padStart(8)}   ${(ms / baseline).toFixed(2).padStart(7)}   ${((ms - baseline) / 1000).toFixed(2).padStart(8)}`,
    );
  const t100 = rows.find(([l]) => l === "100 guests")![1];
  const t200 = rows.find(([l]) => l === "200 guests")![1];
  console.log(
    `200/100 guests: ${(t200 / t100).toFixed(2)}× (goal ≤ 2.2×); 100 guests: ${(t100 / 1000).toFixed(1)} s (goal < 30 s)`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
