// The original's id_maps and mount owners. Its id_maps list only the exceptions (e.g. container gid 33 on host gid
// 33), and its scripts never applied them (they wrote the default map back): here they become a whole map, the rest
// of 0–65535 on Proxmox's default shift, and the node's subuid/subgid gain the host ids they pass through.
import {
  DEFAULT_ID_MAPS,
  type IdKind,
  type IdMapEntry,
  PROXMOX_ID_BASE,
  defaultFill,
  uncovered,
  withinRanges,
} from "../../definition/idmap";
import { PROXMOX_SUBID_RANGES } from "../../definition/schema";
import type { HostSettings } from "./hypervisor";
import type { Reader, Warnings } from "./reader";

/** id_maps[] → idMaps (completed), or undefined when the entry has none that can be read. */
export function readIdMaps(r: Reader, host: HostSettings, w: Warnings): IdMapEntry[] | undefined {
  const given: IdMapEntry[] = [];
  for (const e of r.objs("id_maps")) {
    const type = e.str("type");
    const containerId = e.num("container_id");
    const hostId = e.num("host_id");
    const size = e.num("size") ?? 1;
    if ((type !== "uid" && type !== "gid") || containerId === undefined || hostId === undefined) {
      w.add(e.where(), "needs type (uid or gid), container_id and host_id; not mapped");
      continue;
    }
    given.push({ type, containerId, hostId, size });
  }
  if (given.length === 0) return undefined;
  const whole = (["uid", "gid"] as const).flatMap((type) => completed(given, type));
  for (const e of given) grantSubIds(host, e.type, e.hostId, e.size, r, w);
  w.add(
    r.where("id_maps"),
    "the original never applied id_maps (it wrote the default map back); they now apply, completed to the whole 0–65535 Proxmox needs",
    "check the host ids: root needs them in the node's /etc/subuid or /etc/subgid (nodes[0].subuid/subgid declares them)",
  );
  return whole;
}

/** The given entries of a type, with the ids they leave out on Proxmox's default shift. */
function completed(given: IdMapEntry[], type: IdKind): IdMapEntry[] {
  const own = given.filter((e) => e.type === type);
  if (own.length === 0) return DEFAULT_ID_MAPS.filter((e) => e.type === type);
  return [...own, ...defaultFill(type, uncovered(own, type))].sort((a, b) => a.containerId - b.containerId);
}

/** Declares root's subordinate range for host ids outside Proxmox's default one. */
function grantSubIds(host: HostSettings, type: IdKind, start: number, count: number, r: Reader, w: Warnings) {
  const key = type === "uid" ? "subuid" : "subgid";
  const node = host.node as Record<string, unknown>;
  const ranges = (node[key] as { start: number; count: number }[] | undefined) ?? [...PROXMOX_SUBID_RANGES];
  if (withinRanges(start, count, ranges)) return;
  node[key] = [...ranges, { start, count }];
  w.add(
    r.where("id_maps"),
    `host ${type}s ${start}–${start + count - 1} are passed through: declared under the node's ${key}`,
    `add root:${start}:${count} to /etc/${key} on the node (LXC maps ids through new${type}map, which holds root to it)`,
  );
}

/** owner_uid/owner_gid of a mount point → owner (container ids; the node shifts them through the container's map). */
export function readOwner(mp: Reader, w: Warnings): { uid: number; gid: number } | undefined {
  const uid = mp.num("owner_uid");
  const gid = mp.num("owner_gid");
  if (uid === undefined && gid === undefined) return undefined;
  w.add(
    mp.where(),
    `owner ${uid ?? 0}:${gid ?? uid ?? 0} applies to the mounted directory itself; the original chowned it recursively (and with a fixed ${PROXMOX_ID_BASE} offset)`,
    "chown what is already inside by hand if it needs the new owner",
  );
  return { uid: uid ?? 0, gid: gid ?? uid ?? 0 };
}
