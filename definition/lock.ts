// The lock file beside a definition records allocated addresses, so later plans keep them.
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export function lockPath(definitionFile: string): string {
  return definitionFile.replace(/\.(ya?ml|json)$/i, "") + ".lock.json";
}

export function readLock(definitionFile: string): Record<string, string> {
  const p = lockPath(definitionFile);
  if (!existsSync(p)) return {};
  const data = JSON.parse(readFileSync(p, "utf8")) as { allocations?: Record<string, string> };
  return data.allocations ?? {};
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
