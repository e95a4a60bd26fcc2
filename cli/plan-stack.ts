// `phoenix plan --stack <env>`: what the next `pulumi up` of the stack replaces or deletes, before it happens. It runs
// the stack's preview through the Automation API and reads the engine's events (op replace/delete, the replace keys,
// the detailed diff) for every container and VM: the field that causes it, where the guest's data lives, whether a
// backup is taken first, and whether protection refuses it.
import type { Deployment, DeployedGuest } from "../plan/deployment";
import { REFUSED, backupBeforeReplace, backupNote, dataNote, deploymentOf } from "../plan/deployment";
import { readLockOptions } from "../definition/lock";
import { buildPlan, type PlannedMachine } from "../plan/plan";
import { loadDefinition } from "../validate";
import { MACHINE_TYPES, replacedPaths } from "./adopt";
import { type Io, report } from "./io";
import { type PlannedStep, openStack, previewSteps } from "./stack";

/** A guest's data and backup as the plan has them (an entry of the plan's deployment record, build aside). */
function asDeployed(m: PlannedMachine): DeployedGuest {
  return { ...deploymentOf({ machines: [m], nodes: [] }, new Map()).guests[m.name]!, backup: backupBeforeReplace(m) };
}

/** Why the engine replaces it, in words: the property paths, or what the replacement follows. */
export function causeOf(step: PlannedStep, m: PlannedMachine | undefined): string {
  const paths = replacedPaths(step);
  const show = (p: string) => {
    const v = step.values[p];
    return v && (typeof v.old !== "object" || v.old === null) && typeof v.new !== "object"
      ? `${p} changes from ${JSON.stringify(v.old ?? null)} to ${JSON.stringify(v.new ?? null)}`
      : `${p} changes`;
  };
  if (paths.length > 0) return paths.map(show).join("; ");
  if (step.keys.includes("replaceWith") && m?.source.kind === "clone")
    return `its golden template '${m.source.template}' is rebuilt (a linked clone goes with it)`;
  return m?.kind === "template" ? "its build changed (features, scripts or settings)" : "a resource it is made from is replaced";
}

export async function planStackCmd(stackName: string, io: Io, json = false): Promise<number> {
  const s = await openStack(stackName);
  const loaded = loadDefinition(s.definitionFile);
  if (!report(io, s.definitionFile, loaded.problems)) return 1;
  const plan = buildPlan(loaded.definition!, readLockOptions(s.definitionFile));
  const outputs = await s.stack.outputs();
  const previous = outputs.deployed?.value as Deployment | undefined;
  const preview = await previewSteps(s.stack, { PHOENIX_REPORT_ONLY: "1" });
  const machines = new Set<string>(Object.values(MACHINE_TYPES));
  const rows: {
    op: "replace" | "delete";
    name: string;
    what: string;
    cause: string;
    data: string;
    backup: string;
    protect: boolean;
  }[] = [];
  for (const step of preview.steps.values()) {
    if (!machines.has(step.type)) continue;
    const m = plan.machines.find((x) => x.name === step.name);
    const g = m ? asDeployed(m) : previous?.guests[step.name];
    const what = g ? `${g.type === "lxc" ? "CT" : "VM"} ${g.vmid} on ${g.node}` : step.name;
    if (step.ops.includes("replace"))
      rows.push({
        op: "replace",
        name: step.name,
        what,
        cause: causeOf(step, m),
        data: g ? dataNote(g) : "",
        backup: g ? backupNote(g) : "",
        protect: !!g?.protect,
      });
    else if (step.ops.includes("delete"))
      rows.push({
        op: "delete",
        name: step.name,
        what,
        cause: "it is no longer in the definition",
        data: g ? dataNote(g) : "",
        backup: g ? backupNote(g) : "",
        protect: !!g?.protect,
      });
  }
  const refused = preview.diagnostics.filter((d) => d.message.startsWith(REFUSED)).map((d) => d.message.slice(REFUSED.length));
  const failed =
    preview.error && refused.length === 0 && !/currently marked for protection/.test(preview.error) ? preview.error : undefined;
  if (json)
    io.out(
      JSON.stringify(
        { stack: stackName, guests: rows, refused, summary: preview.summary, ...(failed ? { error: failed } : {}) },
        null,
        2,
      ),
    );
  else {
    io.out(`pulumi preview of stack ${stackName} (${s.definitionFile}):`);
    for (const r of rows) {
      io.out(`  ${r.op.toUpperCase()} ${r.name} (${r.what}): ${r.cause}`);
      if (r.data) io.out(`    ${r.data}; ${r.backup}`);
    }
    if (rows.length === 0) io.out("  no guest is replaced or deleted");
    for (const r of refused) io.out(`  REFUSED (protected): ${r}`);
    const summary = Object.entries(preview.summary).filter(([op]) => op !== "same" && op !== "read");
    io.out(`  changes: ${summary.length ? summary.map(([op, n]) => `${n} ${op}`).join(", ") : "none"}`);
  }
  if (failed) {
    io.err(`phoenix: the preview failed:\n${failed.split("\n").slice(-15).join("\n")}`);
    return 1;
  }
  return refused.length > 0 ? 1 : 0;
}
