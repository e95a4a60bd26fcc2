// Semantic validation of a shape-checked definition: every problem at once, each with its path and fix.
import { dirname, resolve } from "node:path";
import { readDefinitionFile } from "../definition/load";
import { DefinitionError, type Problem, errorsOf } from "../definition/problems";
import { indexDefinition } from "../definition/resolve";
import type { Definition } from "../definition/schema";
import { type ValidDefinition, asValid } from "../definition/valid";
import { checkAccess } from "./access";
import { checkFeatures } from "./features";
import { checkFiles } from "./files";
import { checkIdentity } from "./identity";
import { checkNetwork } from "./network";
import { checkResources } from "./resources";
import { checkSecrets } from "./secrets";

export interface ValidateOptions {
  /**
   * The definition's directory, where its file references (scripts, profiles) resolve. Without it those files
   * are not checked here; the components still refuse a bad reference before anything is touched.
   */
  projectDir?: string;
}

export function validate(def: Definition, opts: ValidateOptions = {}): Problem[] {
  const ix = indexDefinition(def);
  return [
    ...checkIdentity(ix),
    ...checkNetwork(ix),
    ...checkResources(ix),
    ...checkFeatures(ix),
    ...checkSecrets(def),
    ...checkAccess(ix),
    ...(opts.projectDir !== undefined ? checkFiles(def, opts.projectDir) : []),
  ];
}

export interface Loaded {
  /** Set only when there are no errors. */
  definition?: ValidDefinition;
  /** Every problem found, warnings included. */
  problems: Problem[];
}

/** Read, shape-check and validate a file. */
export function loadDefinition(file: string): Loaded {
  const parsed = readDefinitionFile(file);
  if (!parsed.definition) return { problems: parsed.problems };
  const problems = validate(parsed.definition, { projectDir: dirname(resolve(file)) });
  return errorsOf(problems).length > 0 ? { problems } : { definition: asValid(parsed.definition), problems };
}

/** The definition as valid, or a DefinitionError with every problem (for callers that hold a parsed definition). */
export function validated(def: Definition, source = "definition", opts: ValidateOptions = {}): ValidDefinition {
  const problems = validate(def, opts);
  if (errorsOf(problems).length > 0) throw new DefinitionError(source, problems);
  return asValid(def);
}
