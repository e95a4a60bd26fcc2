// The Pulumi program only wires: load → validate → plan → components → exports.
import * as pulumi from "@pulumi/pulumi";
import { dirname, resolve } from "node:path";
import { PhoenixHypervisor } from "./components/phoenix-hypervisor";
import { readLock, writeLock } from "./definition/lock";
import { buildPlan } from "./plan/plan";
import { errorsOf, formatProblem, warningsOf } from "./definition/problems";
import { loadDefinition } from "./validate";

const config = new pulumi.Config("phoenix");
const file = resolve(config.require("definition"));
const loaded = loadDefinition(file, { siblings: true });
if (!loaded.definition)
  throw new pulumi.RunError(
    `${file} is invalid; nothing was touched:\n${errorsOf(loaded.problems).map(formatProblem).join("\n")}`,
  );

const plan = buildPlan(loaded.definition, { previousAllocations: readLock(file) });
if (!pulumi.runtime.isDryRun()) writeLock(file, plan.allocations);

const hypervisor = new PhoenixHypervisor(pulumi.getStack(), {
  plan,
  secret: (name) => config.requireSecret(name),
  definitionDir: dirname(file),
});

export const guests = hypervisor.guests;
export const warnings = warningsOf(loaded.problems).map(formatProblem);
