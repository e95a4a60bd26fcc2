// Proxmox's id maps of unprivileged containers (PVE::LXC::parse_id_maps): container uid/gid 0–65535 on host
// 100000–165535 unless the config's raw `lxc.idmap` entries say otherwise, which then replace the default whole and
// make the container unprivileged whatever its `unprivileged` says. Pure.
import type { ConfigFile } from "./pve-config";

export interface IdMapEntry {
  type: "u" | "g";
  /** First id inside the container. */
  ct: number;
  /** First id on the host. */
  host: number;
  count: number;
}

/** The map Proxmox uses for an unprivileged container without lxc.idmap entries (hard-coded there too). */
export const DEFAULT_ID_MAP: readonly IdMapEntry[] = [
  { type: "u", ct: 0, host: 100000, count: 65536 },
  { type: "g", ct: 0, host: 100000, count: 65536 },
];

/** Parses one `lxc.idmap` value; Proxmox's words when it is not `u|g <ct> <host> <count>`. */
export function parseIdMapEntry(value: string): IdMapEntry {
  const m = /^([ug])\s+(\d+)\s+(\d+)\s+(\d+)$/.exec(value.trim());
  if (!m) throw new Error(`failed to parse idmap: ${value}`);
  return { type: m[1] as "u" | "g", ct: Number(m[2]), host: Number(m[3]), count: Number(m[4]) };
}

export function printIdMapEntry(e: IdMapEntry): string {
  return `${e.type} ${e.ct} ${e.host} ${e.count}`;
}

/** Overlaps within one type, on either side, in Proxmox's words (it refuses them when the config is set). */
export function idMapOverlaps(map: readonly IdMapEntry[]): string[] {
  const out: string[] = [];
  map.forEach((a, i) =>
    map.slice(0, i).forEach((b) => {
      if (a.type !== b.type) return;
      const side = (x: number, y: number) => x < y + b.count && y < x + a.count;
      const name = a.type === "u" ? "uid" : "gid";
      if (side(a.ct, b.ct))
        out.push(
          `invalid map entry '${printIdMapEntry(a)}': container ${name} ${a.ct} is also mapped by entry '${printIdMapEntry(b)}'`,
        );
      else if (side(a.host, b.host))
        out.push(
          `invalid map entry '${printIdMapEntry(a)}': host ${name} ${a.host} is also mapped by entry '${printIdMapEntry(b)}'`,
        );
    }),
  );
  return out;
}

/**
 * The id map a container runs with: its lxc.idmap entries, the default map when it is unprivileged, or undefined
 * for a privileged container (ids are the host's).
 */
export function containerIdMap(file: ConfigFile): IdMapEntry[] | undefined {
  const entries = file.lxc.filter(([k]) => k === "lxc.idmap").map(([, v]) => parseIdMapEntry(v));
  if (entries.length > 0) return entries;
  return file.config.unprivileged === "1" ? DEFAULT_ID_MAP.map((e) => ({ ...e })) : undefined;
}

/** The host id of a container id under a map (the id itself without one); undefined when the map leaves it out. */
export function hostId(map: readonly IdMapEntry[] | undefined, type: "u" | "g", id: number): number | undefined {
  if (!map) return id;
  const e = map.find((x) => x.type === type && id >= x.ct && id < x.ct + x.count);
  return e ? e.host + (id - e.ct) : undefined;
}

/** `-m u:0:100000:65536`… for lxc-usernsexec, as Proxmox runs tar when it extracts a template for such a container. */
export function usernsexecArgs(map: readonly IdMapEntry[]): string[] {
  return map.flatMap((e) => ["-m", `${e.type}:${e.ct}:${e.host}:${e.count}`]);
}
