// A container's uid/gid map as Proxmox applies it: `lxc.idmap` entries replace the default map (container 0–65535 on
// host 100000–165535) whole, so they must cover 0–65535 of uids and of gids, without overlaps on either side, and
// (LXC maps ids through newuidmap/newgidmap) inside root's subordinate ranges on the node. Pure.
import type { z } from "zod";
import type { IdMap, IdRange } from "./schema";

export type IdMapEntry = z.infer<typeof IdMap>;
export type IdRangeSpec = z.infer<typeof IdRange>;
export type IdKind = IdMapEntry["type"];

/** Container ids Proxmox expects a map to cover: a container's uids and gids 0–65535. */
export const CONTAINER_IDS = 65536;
/** Proxmox's default map and the subordinate ranges its installer gives root (/etc/subuid, /etc/subgid). */
export const PROXMOX_ID_BASE = 100000;
export const DEFAULT_ID_MAPS: IdMapEntry[] = (["uid", "gid"] as const).map((type) => ({
  type,
  containerId: 0,
  hostId: PROXMOX_ID_BASE,
  size: CONTAINER_IDS,
}));

const RAW = /^lxc\.idmap\s*[:=]\s*(.*?)\s*$/;

/** The `lxc.idmap` lines among raw lxcOptions, parsed; `bad` lists those Proxmox would refuse to parse. */
export function rawIdMaps(lxcOptions: readonly string[]): { entries: IdMapEntry[]; bad: { index: number; value: string }[] } {
  const entries: IdMapEntry[] = [];
  const bad: { index: number; value: string }[] = [];
  lxcOptions.forEach((line, index) => {
    const m = RAW.exec(line);
    if (!m) return;
    const f = /^([ug])\s+(\d+)\s+(\d+)\s+(\d+)$/.exec(m[1]!);
    if (!f) bad.push({ index, value: m[1]! });
    else
      entries.push({ type: f[1] === "u" ? "uid" : "gid", containerId: Number(f[2]), hostId: Number(f[3]), size: Number(f[4]) });
  });
  return { entries, bad };
}

/** Proxmox's raw config line for an entry. */
export function idMapLine(e: IdMapEntry): string {
  return `lxc.idmap: ${e.type === "uid" ? "u" : "g"} ${e.containerId} ${e.hostId} ${e.size}`;
}

/**
 * The host id of a container id: through the map of an unprivileged container (the default one without idMaps), the
 * id itself in a privileged one; undefined when the map leaves it out.
 */
export function hostIdOf(maps: readonly IdMapEntry[] | undefined, type: IdKind, id: number): number | undefined {
  if (!maps) return id;
  const e = maps.find((x) => x.type === type && id >= x.containerId && id < x.containerId + x.size);
  return e ? e.hostId + (id - e.containerId) : undefined;
}

/** Ranges of 0–65535 no entry of the type covers, as [start, end). */
export function uncovered(maps: readonly IdMapEntry[], type: IdKind): [number, number][] {
  const spans = maps
    .filter((e) => e.type === type)
    .map((e) => [e.containerId, e.containerId + e.size] as [number, number])
    .sort((a, b) => a[0] - b[0]);
  const gaps: [number, number][] = [];
  let at = 0;
  for (const [s, e] of spans) {
    if (s > at && at < CONTAINER_IDS) gaps.push([at, Math.min(s, CONTAINER_IDS)]);
    at = Math.max(at, e);
  }
  if (at < CONTAINER_IDS) gaps.push([at, CONTAINER_IDS]);
  return gaps;
}

/** Entries that fill gaps the way the default map would (container id N on host 100000+N). */
export function defaultFill(type: IdKind, gaps: readonly [number, number][]): IdMapEntry[] {
  return gaps.map(([s, e]) => ({ type, containerId: s, hostId: PROXMOX_ID_BASE + s, size: e - s }));
}

/** Pairs of entries of one type whose container or host ranges overlap, each later entry with the first it hits. */
export function overlapping(maps: readonly IdMapEntry[]): { entry: number; other: number; side: "container" | "host" }[] {
  const out: { entry: number; other: number; side: "container" | "host" }[] = [];
  const meets = (a: number, as: number, b: number, bs: number) => a < b + bs && b < a + as;
  maps.forEach((a, i) => {
    for (let j = 0; j < i; j++) {
      const b = maps[j]!;
      if (a.type !== b.type) continue;
      const side = meets(a.containerId, a.size, b.containerId, b.size)
        ? "container"
        : meets(a.hostId, a.size, b.hostId, b.size)
          ? "host"
          : undefined;
      if (side) {
        out.push({ entry: i, other: j, side });
        return;
      }
    }
  });
  return out;
}

/** Whether [start, start+size) lies inside the union of the ranges. */
export function withinRanges(start: number, size: number, ranges: readonly IdRangeSpec[]): boolean {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  let at = start;
  const end = start + size;
  for (const r of sorted) {
    if (r.start > at) break;
    at = Math.max(at, r.start + r.count);
    if (at >= end) return true;
  }
  return at >= end;
}

export function entryText(e: IdMapEntry): string {
  return `{ type: ${e.type}, containerId: ${e.containerId}, hostId: ${e.hostId}, size: ${e.size} }`;
}
