// The Pulumi program only wires: load → validate → plan → what changes since the last up (said first, refused when
// protected) → components → exports.
import * as pulumi from "@pulumi/pulumi";
import { dirname, resolve } from "node:path";
import { readFileSync } from "node:fs";
import { PhoenixHypervisor } from "./components/phoenix-hypervisor";
import { previousDeployment } from "./components/stack-history";
import { templateBuilds } from "./components/args/template-build";
import { readAdoption } from "./definition/adoption";
import { readLock, writeLock } from "./definition/lock";
import { adoptionOf } from "./plan/adoption";
import { REFUSED, changesBetween, deploymentOf, describeChange, protectionRefusals } from "./plan/deployment";
import { buildPlan } from "./plan/plan";
import { errorsOf, formatProblem, warningsOf } from "./definition/problems";
import { loadDefinition } from "./validate";

export = async () => {
  const config = new pulumi.Config("phoenix");
  const file = resolve(config.require("definition"));
  // The definition and the adoption record beside it (phoenix adopt), checked together.
  const loaded = loadDefinition(file, { siblings: true });
  if (!loaded.definition)
    throw new pulumi.RunError(
      `${file} is invalid; nothing was touched:\n${errorsOf(loaded.problems).map(formatProblem).join("\n")}`,
    );

  const plan = buildPlan(loaded.definition, { previousAllocations: readLock(file) });
  const builds = templateBuilds(plan, (path) => readFileSync(resolve(dirname(file), path), "utf8"));
  const previous = await previousDeployment();
  const adoption = adoptionOf(readAdoption(file).record, plan, new Set(Object.keys(previous?.guests ?? {})));
  for (const note of adoption.notes) pulumi.log.warn(note);

  // Say it before it happens, and stop before anything is touched when protection refuses it.
  const changes = changesBetween(previous, deploymentOf(plan, builds, adoption.guests));
  for (const c of changes) pulumi.log.warn(describeChange(c));
  const refused = protectionRefusals(changes);
  // phoenix adopt and phoenix plan --stack preview with PHOENIX_REPORT_ONLY=1: they want the whole preview, and say it.
  if (process.env["PHOENIX_REPORT_ONLY"] === "1" && pulumi.runtime.isDryRun())
    for (const r of refused) pulumi.log.warn(REFUSED + r);
  else if (refused.length > 0) throw new pulumi.RunError(`refused; nothing was touched:\n${refused.join("\n")}`);

  if (!pulumi.runtime.isDryRun()) writeLock(file, plan.allocations);
  const hypervisor = new PhoenixHypervisor(pulumi.getStack(), {
    plan,
    secret: (name) => config.requireSecret(name),
    definitionDir: dirname(file),
    adoption,
    builds,
  });
  return {
    guests: hypervisor.guests,
    apps: hypervisor.apps,
    warnings: warningsOf(loaded.problems).map(formatProblem),
    deployed: hypervisor.deployed,
  };
};
