// root's subordinate id ranges in /etc/subuid and /etc/subgid, as a Proxmox node has them (root:100000:65536 from its
// installer, plus what an admin adds for custom id maps). With Debian's uidmap installed, as on Proxmox, LXC maps ids
// through newuidmap/newgidmap even for root, and they refuse a map outside these ranges (measured).
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export interface IdRange {
  start: number;
  count: number;
}

export const PROXMOX_SUBID_RANGE: IdRange = { start: 100000, count: 65536 };

/** Ranges `user` holds in a subid file's text. */
export function subIdRanges(text: string, user = "root"): IdRange[] {
  return text
    .split("\n")
    .map((l) => l.trim().split(":"))
    .filter((f) => f.length === 3 && f[0] === user && /^\d+$/.test(f[1]!) && /^\d+$/.test(f[2]!))
    .map((f) => ({ start: Number(f[1]), count: Number(f[2]) }));
}

/** Adds `user:start:count` lines for the ranges the file does not hold yet; returns the lines added. */
export function ensureSubIds(file: string, ranges: IdRange[], user = "root"): string[] {
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const held = subIdRanges(text, user);
  const missing = ranges
    .filter((r) => !held.some((h) => h.start === r.start && h.count === r.count))
    .map((r) => `${user}:${r.start}:${r.count}`);
  if (missing.length > 0) writeFileSync(file, `${text}${text === "" || text.endsWith("\n") ? "" : "\n"}${missing.join("\n")}\n`);
  return missing;
}
