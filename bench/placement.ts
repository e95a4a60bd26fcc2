// bench/placement: what placement costs. `pulumi preview` and the plan alone of a generated 3-node definition whose
// 150 guests the plan places, against the same guests on one node, both measured in the same run. Asserts nothing.
// Run: npx tsx bench/placement.ts [runs=3] [guests=150]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { stringify } from "yaml";
import { ROOT } from "../test/support/toolchain";
import { projectEnv, setSecretConfig } from "../test/support/pulumi-project";
import { checkShape } from "../definition/load";
import { validate } from "../validate";
import { asValid } from "../definition/valid";
import { buildPlan } from "../plan/plan";
import { placedDefinition } from "./generate";

const runs = Number(process.argv[2] ?? 3);
const guests = Number(process.argv[3] ?? 150);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Validation and plan of the definition in this process (what preview does before any resource), in ms. */
function timePlan(nodes: number): { ms: number; spread: string } {
  const shaped = checkShape(placedDefinition(guests, nodes));
  if (!shaped.definition) throw new Error(JSON.stringify(shaped.problems));
  const times: number[] = [];
  let plan;
  for (let i = 0; i < Math.max(5, runs); i++) {
    const t0 = performance.now();
    const problems = validate(shaped.definition).filter((p) => p.severity === "error");
    if (problems.length) throw new Error(JSON.stringify(problems.slice(0, 3)));
    plan = buildPlan(asValid(shaped.definition));
    times.push(performance.now() - t0);
  }
  const perNode = new Map<string, number>();
  for (const p of plan!.placements) perNode.set(p.node, (perNode.get(p.node) ?? 0) + 1);
  return { ms: median(times), spread: [...perNode].map(([n, c]) => `${n}: ${c}`).join(", ") };
}

async function timePreview(nodes: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), `phoenix-bench-placement-${nodes}-`));
  mkdirSync(join(dir, "state"));
  writeFileSync(
    join(dir, "Pulumi.yaml"),
    `name: phoenix\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: ${ROOT}\n`,
  );
  const envVars = projectEnv(dir);
  const stack = await LocalWorkspace.createOrSelectStack({ stackName: "bench", workDir: dir }, { envVars });
  const def = join(dir, "definition.yaml");
  writeFileSync(def, stringify(placedDefinition(guests, nodes)));
  await stack.setConfig("phoenix:definition", { value: def });
  const secret = (key: string, value: string) => setSecretConfig({ dir, stackName: "bench", env: envVars, key, value });
  await secret("phoenix:proxmoxRootPassword", "bench-only");
  await secret("phoenix:nodeSshKey", "unused: preview opens no connection");
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await stack.preview({ diff: false });
    times.push(performance.now() - t0);
  }
  rmSync(dir, { recursive: true, force: true });
  return median(times);
}

async function main() {
  timePlan(1); // warm-up: the first run pays for loading and compiling the code
  const one = timePlan(1);
  const three = timePlan(3);
  console.log(`validate + plan of ${guests} guests, median of ${Math.max(5, runs)} runs (in process)`);
  console.log(`  1 node : ${one.ms.toFixed(1)} ms (${one.spread})`);
  console.log(`  3 nodes: ${three.ms.toFixed(1)} ms (${three.spread}), ${(three.ms / one.ms).toFixed(2)}× the 1-node one`);
  if (process.env["PHOENIX_BENCH_PLAN_ONLY"] === "1") return;
  const p1 = await timePreview(1);
  const p3 = await timePreview(3);
  console.log(`pulumi preview of ${guests} guests, median of ${runs} runs (2 cores)`);
  console.log(`  1 node : ${(p1 / 1000).toFixed(2)} s`);
  console.log(`  3 nodes: ${(p3 / 1000).toFixed(2)} s, ${(p3 / p1).toFixed(2)}× the 1-node one`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
