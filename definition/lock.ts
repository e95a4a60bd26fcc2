// The lock file beside a definition records what earlier runs decided: allocated addresses, so later plans keep them,
// and the node each guest was placed on, so a run can say when a guest moves (a backup, then a new guest elsewhere).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { readDefinitionText } from "./load";
import { DefinitionError, type Problem, error, formatPath } from "./problems";

export function lockPath(definitionFile: string): string {
  return definitionFile.replace(/\.(ya?ml|json)$/i, "") + ".lock.json";
}

const GUEST_NAME = /^[A-Za-z0-9][A-Za-z0-9.-]*$/;

const LockFile = z.object({
  allocations: z
    .record(
      z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*\/[A-Za-z0-9_.-]+$/, "a key <guest>/<interface>"),
      z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, "an address such as 10.0.0.5/24"),
    )
    .default({}),
  placements: z.record(z.string().regex(GUEST_NAME, "a guest name"), z.string().regex(GUEST_NAME, "a node name")).optional(),
});

type LockData = z.infer<typeof LockFile>;

/** What is wrong with a lock file's text, each with where and how to fix it (the path is inside the lock file). */
export function lockProblems(
  text: string,
  file: string,
): { data?: LockData; allocations?: Record<string, string>; problems: Problem[] } {
  const fix = `restore ${file} from version control, or delete it (pool addresses are then allocated again and may change)`;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { problems: [error("", `${file} is not valid JSON: ${(e as Error).message}`, fix)] };
  }
  const parsed = LockFile.safeParse(raw);
  if (parsed.success) return { data: parsed.data, allocations: parsed.data.allocations, problems: [] };
  return {
    problems: parsed.error.issues.map((i) => error(formatPath(i.path), `in ${file}: ${i.message}`, fix)),
  };
}

/** The lock file's content, read once; a DefinitionError (with the file and the fix) when it is corrupt. */
export function readLockFile(definitionFile: string): LockData {
  const p = lockPath(definitionFile);
  if (!existsSync(p)) return { allocations: {} };
  const { text, problems: readProblems } = readDefinitionText(p);
  if (text === undefined) throw new DefinitionError(p, readProblems);
  const { data, problems } = lockProblems(text, p);
  if (!data) throw new DefinitionError(p, problems);
  return data;
}

/** The recorded allocations; a DefinitionError (with the file and the fix) when the lock file is corrupt. */
export function readLock(definitionFile: string): Record<string, string> {
  return readLockFile(definitionFile).allocations;
}

/** Guest name → the node it was on when the lock was last written (empty for locks written before placements). */
export function readPlacements(definitionFile: string): Record<string, string> {
  return readLockFile(definitionFile).placements ?? {};
}

/** The recorded placements, or none when the lock file is missing or corrupt (reading it for the plan says so). */
export function readPlacementsIfValid(definitionFile: string): Record<string, string> {
  try {
    return readPlacements(definitionFile);
  } catch (e) {
    if (e instanceof DefinitionError) return {};
    throw e;
  }
}

/** What buildPlan takes from the lock file: earlier allocations and placements. */
export function readLockOptions(definitionFile: string): {
  previousAllocations: Record<string, string>;
  previousPlacements: Record<string, string>;
} {
  const data = readLockFile(definitionFile);
  return { previousAllocations: data.allocations, previousPlacements: data.placements ?? {} };
}

/** Writes only when something changed; returns whether it wrote. */
export function writeLock(
  definitionFile: string,
  allocations: Record<string, string>,
  placements?: Record<string, string>,
): boolean {
  const p = lockPath(definitionFile);
  const kept = placements ?? (existsSync(p) ? readLockFile(definitionFile).placements : undefined);
  const text =
    JSON.stringify(
      {
        comment: "Addresses allocated from pools and the node of each guest; keep this file with the definition.",
        allocations,
        ...(kept ? { placements: kept } : {}),
      },
      null,
      2,
    ) + "\n";
  if (existsSync(p) && readFileSync(p, "utf8") === text) return false;
  writeFileSync(p, text);
  return true;
}
