// Semantic validation of a shape-checked definition: every problem at once, each with its path and fix.
import { readDefinitionFile } from "../definition/load";
import { DefinitionError, type Problem, errorsOf } from "../definition/problems";
import { indexDefinition } from "../definition/resolve";
import type { Definition } from "../definition/schema";
import { type ValidDefinition, asValid } from "../definition/valid";
import { checkFeatures } from "./features";
import { checkGpus } from "./gpu";
import { checkIdentity } from "./identity";
import { checkNetwork } from "./network";
import { checkResources } from "./resources";
import { checkSecrets } from "./secrets";
import { checkServing } from "./serving";
import { checkSiblings, readSiblings } from "./siblings";

export function validate(def: Definition): Problem[] {
  const ix = indexDefinition(def);
  return [
    ...checkIdentity(ix),
    ...checkNetwork(ix),
    ...checkResources(ix),
    ...checkFeatures(ix),
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
 * Read, shape-check and validate a file. With `siblings`, the other definitions in its directory (the other
 * environments, stacks/*.yaml) are read too: a vmid, address or pool shared with one on the same node is an error.
 */
export function loadDefinition(file: string, opts: { siblings?: boolean } = {}): Loaded {
  const parsed = readDefinitionFile(file);
  if (!parsed.definition) return { problems: parsed.problems };
  const problems = validate(parsed.definition);
  if (opts.siblings) problems.push(...checkSiblings(parsed.definition, readSiblings(file)));
  return errorsOf(problems).length > 0 ? { problems } : { definition: asValid(parsed.definition), problems };
}

/** The definition as valid, or a DefinitionError with every problem (for callers that hold a parsed definition). */
export function validated(def: Definition, source = "definition"): ValidDefinition {
  const problems = validate(def);
  if (errorsOf(problems).length > 0) throw new DefinitionError(source, problems);
  return asValid(def);
}
