// The lock file beside a definition records what earlier runs decided: allocated addresses, so later plans keep them,
// and the node each guest was placed on, so a run can say when a guest moves (a backup, then a new guest elsewhere).
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export function lockPath(definitionFile: string): string {
  return definitionFile.replace(/\.(ya?ml|json)$/i, "") + ".lock.json";
}

interface LockData {
  allocations?: Record<string, string>;
  placements?: Record<string, string>;
}

function readData(definitionFile: string): LockData {
  const p = lockPath(definitionFile);
  return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as LockData) : {};
}

export function readLock(definitionFile: string): Record<string, string> {
  return readData(definitionFile).allocations ?? {};
}

/** Guest name → the node it was on when the lock was last written (empty for locks written before placements). */
export function readPlacements(definitionFile: string): Record<string, string> {
  return readData(definitionFile).placements ?? {};
}

/** Writes only when something changed; returns whether it wrote. */
export function writeLock(
  definitionFile: string,
  allocations: Record<string, string>,
  placements?: Record<string, string>,
): boolean {
  const p = lockPath(definitionFile);
  const kept = placements ?? readData(definitionFile).placements;
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
