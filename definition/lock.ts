// The lock file beside a definition records allocated addresses, so later plans keep them.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { readDefinitionText } from "./load";
import { DefinitionError, type Problem, error, formatPath } from "./problems";

export function lockPath(definitionFile: string): string {
  return definitionFile.replace(/\.(ya?ml|json)$/i, "") + ".lock.json";
}

const LockFile = z.object({
  allocations: z
    .record(
      z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*\/[A-Za-z0-9_.-]+$/, "a key <guest>/<interface>"),
      z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, "an address such as 10.0.0.5/24"),
    )
    .default({}),
});

/** What is wrong with a lock file's text, each with where and how to fix it (the path is inside the lock file). */
export function lockProblems(text: string, file: string): { allocations?: Record<string, string>; problems: Problem[] } {
  const fix = `restore ${file} from version control, or delete it (pool addresses are then allocated again and may change)`;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { problems: [error("", `${file} is not valid JSON: ${(e as Error).message}`, fix)] };
  }
  const parsed = LockFile.safeParse(raw);
  if (parsed.success) return { allocations: parsed.data.allocations, problems: [] };
  return {
    problems: parsed.error.issues.map((i) => error(formatPath(i.path), `in ${file}: ${i.message}`, fix)),
  };
}

/** The recorded allocations; a DefinitionError (with the file and the fix) when the lock file is corrupt. */
export function readLock(definitionFile: string): Record<string, string> {
  const p = lockPath(definitionFile);
  if (!existsSync(p)) return {};
  const { text, problems: readProblems } = readDefinitionText(p);
  if (text === undefined) throw new DefinitionError(p, readProblems);
  const { allocations, problems } = lockProblems(text, p);
  if (!allocations) throw new DefinitionError(p, problems);
  return allocations;
}

/** Writes only when the allocations changed; returns whether it wrote. */
export function writeLock(definitionFile: string, allocations: Record<string, string>): boolean {
  const p = lockPath(definitionFile);
  const text =
    JSON.stringify({ comment: "Addresses allocated from pools; keep this file with the definition.", allocations }, null, 2) +
    "\n";
  if (existsSync(p) && readFileSync(p, "utf8") === text) return false;
  writeFileSync(p, text);
  return true;
}
