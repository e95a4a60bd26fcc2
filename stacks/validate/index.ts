// Semantic validation of a shape-checked definition: every problem at once, each with its path and fix.
import { type Parsed, readDefinitionFile } from "../load";
import { type Problem, errorsOf } from "../problems";
import { indexDefinition } from "../resolve";
import type { Definition } from "../schema";
import { checkFeatures } from "./features";
import { checkIdentity } from "./identity";
import { checkNetwork } from "./network";
import { checkResources } from "./resources";
import { checkSecrets } from "./secrets";

export function validate(def: Definition): Problem[] {
  const ix = indexDefinition(def);
  return [...checkIdentity(ix), ...checkNetwork(ix), ...checkResources(ix), ...checkFeatures(ix), ...checkSecrets(def)];
}

/** Read, shape-check and validate a file. `definition` is set only when there are no errors. */
export function loadDefinition(file: string): Parsed {
  const parsed = readDefinitionFile(file);
  if (!parsed.definition) return parsed;
  const problems = validate(parsed.definition);
  return errorsOf(problems).length > 0 ? { problems } : { definition: parsed.definition, problems };
}
