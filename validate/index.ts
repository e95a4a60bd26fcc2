// Semantic validation of a shape-checked definition: every problem at once, each with its path and fix.
import { dirname, resolve } from "node:path";
import { readDefinitionFile } from "../definition/load";
import { adoptionPath, readAdoption } from "../definition/adoption";
import { checkAdoption } from "./adoption";
import { DefinitionError, type Problem, errorsOf } from "../definition/problems";
import type { Definition } from "../definition/schema";
import { type ValidDefinition, asValid } from "../definition/valid";
import { checkBackups } from "./backup";
import { checkApps } from "./apps";
import { checkAccess } from "./access";
import { checkFeatures } from "./features";
import { checkGpus } from "./gpu";
import { checkFiles } from "./files";
import { checkIdentity } from "./identity";
import { checkIdMaps } from "./idmaps";
import { checkLimits } from "./limits";
import { checkNetwork } from "./network";
import { checkResources } from "./resources";
import { checkSecrets } from "./secrets";
import { checkServing } from "./serving";
import { checkSiblings, readSiblings } from "./siblings";
import { checkFirewall } from "./firewall";
import { checkDns } from "./dns";
import { checkGateway } from "./gateway";
import { checkPlacement } from "./placement";
import { checkHa } from "./ha";
import { placedIndex } from "../definition/placement-input";
import { readPlacementsIfValid } from "../definition/lock";

export interface ValidateOptions {
  /**
   * The definition's directory: file references (scripts, profiles) resolve in it, and apps' compose files and
   * templates are read from it (loadDefinition sets it). Without it, the checks of those files are left out (an
   * in-memory definition has no directory); the components still refuse a bad reference before anything is touched.
   */
  dir?: string;
  /** Guest → node from the lock file: placement keeps them (loadDefinition reads them). */
  previousPlacements?: Readonly<Record<string, string>>;
}

export function validate(def: Definition, opts: ValidateOptions = {}): Problem[] {
  return validatePlaced(def, placedIndex(def, opts.previousPlacements), opts);
}

/** The checks on a placed index: the other checks see each guest on the node placement gives it. */
function validatePlaced(def: Definition, { ix, placement }: ReturnType<typeof placedIndex>, opts: ValidateOptions): Problem[] {
  return [
    ...checkIdentity(ix),
    ...checkPlacement(ix, placement),
    ...checkNetwork(ix),
    ...checkResources(ix),
    ...checkFeatures(ix),
    ...checkIdMaps(ix),
    ...checkApps(ix, opts),
    ...checkLimits(ix),
    ...checkSecrets(def),
    ...checkGpus(ix),
    ...checkServing(ix),
    ...checkAccess(ix),
    ...(opts.dir !== undefined ? checkFiles(def, opts.dir) : []),
    ...checkBackups(ix),
    ...checkFirewall(ix),
    ...checkDns(ix),
    ...checkGateway(ix, opts),
    ...checkHa(ix),
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
  const previousPlacements = readPlacementsIfValid(file);
  const placed = placedIndex(parsed.definition, previousPlacements);
  const problems = [
    ...validatePlaced(parsed.definition, placed, { dir: dirname(resolve(file)), previousPlacements }),
    ...adopted.problems,
    ...checkAdoption(placed.ix, adopted.record, where),
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
