// The Pulumi program only wires: load → validate → plan → what changes since the last up (said first, refused when
// protected) → components → exports.
import * as pulumi from "@pulumi/pulumi";
import { dirname, resolve } from "node:path";
import { PhoenixHypervisor } from "./components/phoenix-hypervisor";
import { previousDeployment } from "./components/stack-history";
import { templateBuilds } from "./components/args/template-build";
import { readAdoption } from "./definition/adoption";
import { requireProjectFile } from "./definition/files";
import { readLockFile, writeLock } from "./definition/lock";
import { adoptionOf } from "./plan/adoption";
import { placementsOf, planMoves } from "./plan/moves";
import { REFUSED, changesBetween, deploymentOf, describeChange, protectionRefusals } from "./plan/deployment";
import { buildPlan } from "./plan/plan";
import { DefinitionError, errorsOf, formatProblem, warningsOf } from "./definition/problems";
import { loadDefinition } from "./validate";
import { whereGuestsRunNow } from "./components/stack-history";

export = async () => {
  const config = new pulumi.Config("phoenix");
  const file = resolve(config.require("definition"));
  // The definition and the adoption record beside it (phoenix adopt), checked together.
  const loaded = loadDefinition(file, { siblings: true });
  if (!loaded.definition)
    throw new pulumi.RunError(
      `${file} is invalid; nothing was touched:\n${errorsOf(loaded.problems).map(formatProblem).join("\n")}`,
    );

  // A corrupt lock file stops here, with its path and the fix.
  let previousAllocations: Record<string, string>;
  let placements: Record<string, string>;
  try {
    ({ allocations: previousAllocations, placements = {} } = readLockFile(file));
  } catch (e) {
    if (!(e instanceof DefinitionError)) throw e;
    throw new pulumi.RunError(`${e.message}\nnothing was touched`);
  }
  const plan = buildPlan(loaded.definition, { previousAllocations, previousPlacements: placements });
  const builds = templateBuilds(plan, (path) => requireProjectFile(dirname(file), path, "features.script.path"));
  const previous = await previousDeployment();
  const adoption = adoptionOf(readAdoption(file).record, plan, new Set(Object.keys(previous?.guests ?? {})));
  for (const note of adoption.notes) pulumi.log.warn(note);
  // Where the last up's guests run now (a cluster may have moved one: HA recovery, a manual migration).
  const found = await whereGuestsRunNow(plan, previous, (name) => config.get(name));
  // Said before it happens (preview and up): a guest that changes node migrates, or is backed up, deleted and made anew.
  const {
    moves,
    migrated,
    refused: unfollowed,
    notes,
  } = planMoves(plan, previous, placements, deploymentOf(plan, builds, adoption.guests), found);
  for (const m of [...moves.map((x) => x.message), ...notes]) pulumi.log.warn(m);
  const migrations = { now: new Map(moves.filter((m) => m.how === "migrate").map((m) => [m.guest, m.from])), migrated };

  // Say it before it happens, and stop before anything is touched when protection refuses it.
  const changes = changesBetween(previous, deploymentOf(plan, builds, adoption.guests, migrated));
  for (const c of changes) pulumi.log.warn(describeChange(c));
  const refused = [...unfollowed, ...protectionRefusals(changes)];
  // phoenix adopt and phoenix plan --stack preview with PHOENIX_REPORT_ONLY=1: they want the whole preview, and say it.
  if (process.env["PHOENIX_REPORT_ONLY"] === "1" && pulumi.runtime.isDryRun())
    for (const r of refused) pulumi.log.warn(REFUSED + r);
  else if (refused.length > 0) throw new pulumi.RunError(`refused; nothing was touched:\n${refused.join("\n")}`);

  if (!pulumi.runtime.isDryRun()) writeLock(file, plan.allocations, placementsOf(plan));
  const hypervisor = new PhoenixHypervisor(pulumi.getStack(), {
    plan,
    secret: (name) => config.requireSecret(name),
    definitionDir: dirname(file),
    adoption,
    builds,
    migrations,
  });
  return {
    guests: hypervisor.guests,
    apps: hypervisor.apps,
    warnings: [...warningsOf(loaded.problems).map(formatProblem), ...moves.map((m) => `warning: ${m.message}`)],
    deployed: hypervisor.deployed,
    ...(hypervisor.gatewayCaCertificate ? { gatewayCaCertificate: hypervisor.gatewayCaCertificate } : {}),
  };
};
