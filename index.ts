// The Pulumi program only wires: load → validate → plan → components → exports.
import * as pulumi from "@pulumi/pulumi";
import { dirname, resolve } from "node:path";
import { PhoenixHypervisor } from "./components/phoenix-hypervisor";
import { readLock, readPlacements, writeLock } from "./definition/lock";
import { movedGuests, placementsOf } from "./plan/moves";
import { buildPlan } from "./plan/plan";
import { errorsOf, formatProblem, warningsOf } from "./definition/problems";
import { loadDefinition } from "./validate";

const config = new pulumi.Config("phoenix");
const file = resolve(config.require("definition"));
const loaded = loadDefinition(file);
if (!loaded.definition)
  throw new pulumi.RunError(
    `${file} is invalid; nothing was touched:\n${errorsOf(loaded.problems).map(formatProblem).join("\n")}`,
  );

const plan = buildPlan(loaded.definition, { previousAllocations: readLock(file) });
// Said before it happens (preview and up): a guest that changes node is backed up, deleted and made anew.
const moves = movedGuests(plan, readPlacements(file));
for (const m of moves) pulumi.log.warn(m.message);
if (!pulumi.runtime.isDryRun()) writeLock(file, plan.allocations, placementsOf(plan));

const hypervisor = new PhoenixHypervisor(pulumi.getStack(), {
  plan,
  secret: (name) => config.requireSecret(name),
  definitionDir: dirname(file),
});

export const guests = hypervisor.guests;
export const warnings = [...warningsOf(loaded.problems).map(formatProblem), ...moves.map((m) => `warning: ${m.message}`)];
