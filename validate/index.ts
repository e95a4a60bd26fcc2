// Semantic validation of a shape-checked definition: every problem at once, each with its path and fix.
import { readDefinitionFile } from "../definition/load";
import { adoptionPath, readAdoption } from "../definition/adoption";
import { checkAdoption } from "./adoption";
import { DefinitionError, type Problem, errorsOf } from "../definition/problems";
import { indexDefinition } from "../definition/resolve";
import type { Definition } from "../definition/schema";
import { type ValidDefinition, asValid } from "../definition/valid";
import { dirname } from "node:path";
import { checkApps } from "./apps";
import { checkFeatures } from "./features";
import { checkGpus } from "./gpu";
import { checkIdentity } from "./identity";
import { checkLimits } from "./limits";
import { checkNetwork } from "./network";
import { checkResources } from "./resources";
import { checkSecrets } from "./secrets";
import { checkServing } from "./serving";
import { checkSiblings, readSiblings } from "./siblings";

export interface ValidateOptions {
  /**
   * The definition's directory: apps' compose files and templates are read from it (loadDefinition sets it). Without
   * it, the checks of what those files say are left out (an in-memory definition has no directory).
   */
  dir?: string;
}

export function validate(def: Definition, opts: ValidateOptions = {}): Problem[] {
  const ix = indexDefinition(def);
  return [
    ...checkIdentity(ix),
    ...checkNetwork(ix),
    ...checkResources(ix),
    ...checkFeatures(ix),
    ...checkApps(ix, opts),
    ...checkLimits(ix),
    ...checkSecrets(def),
    ...checkGpus(ix),
    ...checkServing(ix),
  ];
}

export interface Loaded {
  /** Set only when there are no errors. */
  definition?: ValidDefinition;
  /** Every problem found, warnings included. */
  problems: Problem[];
}

/**
 * Read, shape-check and validate a file, and the adoption record beside it (phoenix adopt) against it. With
 * `siblings`, the other definitions in its directory (the other environments, stacks/*.yaml) are read too: a vmid,
 * address or pool shared with one on the same node is an error.
 */
export function loadDefinition(file: string, opts: { siblings?: boolean } = {}): Loaded {
  const parsed = readDefinitionFile(file);
  if (!parsed.definition) return { problems: parsed.problems };
  const adopted = readAdoption(file);
  const where = adoptionPath(file).split("/").pop()!;
  const problems = [
    ...validate(parsed.definition, { dir: dirname(file) }),
    ...adopted.problems,
    ...checkAdoption(indexDefinition(parsed.definition), adopted.record, where),
  ];
  if (opts.siblings) problems.push(...checkSiblings(parsed.definition, readSiblings(file)));
  return errorsOf(problems).length > 0 ? { problems } : { definition: asValid(parsed.definition), problems };
}

/** The definition as valid, or a DefinitionError with every problem (for callers that hold a parsed definition). */
export function validated(def: Definition, source = "definition", opts: ValidateOptions = {}): ValidDefinition {
  const problems = validate(def, opts);
  if (errorsOf(problems).length > 0) throw new DefinitionError(source, problems);
  return asValid(def);
}
