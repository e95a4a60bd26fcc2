// Id maps and mount ownership: a container's idMaps (or raw lxc.idmap lines) as Proxmox and LXC take them — whole
// (0–65535 of uids and of gids), without overlaps, inside root's subuid/subgid on the node, on an unprivileged
// container, written over SSH as root — and mountPoints[].owner, set on the node over SSH.
import {
  type IdKind,
  type IdMapEntry,
  defaultFill,
  entryText,
  overlapping,
  rawIdMaps,
  uncovered,
  withinRanges,
} from "../definition/idmap";
import { type Problem, error } from "../definition/problems";
import type { Index, Machine } from "../definition/resolve";
import { type Node, PROXMOX_SUBID_RANGES } from "../definition/schema";

export function checkIdMaps(ix: Index): Problem[] {
  const out: Problem[] = [];
  for (const m of ix.machines) {
    const d = m.def;
    const raw = rawIdMaps(d.lxcOptions);
    const owners = d.mountPoints.some((mp) => mp.owner !== undefined);
    if (m.type === "vm") {
      if (d.idMaps) out.push(error(`${m.path}.idMaps`, "idMaps apply to LXC containers only", "remove them from this VM"));
      continue;
    }
    for (const b of raw.bad)
      out.push(
        error(
          `${m.path}.lxcOptions[${b.index}]`,
          `failed to parse idmap: ${b.value}`,
          "write lxc.idmap: u|g <container id> <host id> <count>, or use idMaps",
        ),
      );
    if (d.idMaps && raw.entries.length > 0)
      out.push(
        error(`${m.path}.lxcOptions`, "lxc.idmap lines here and idMaps both set the container's id map", "keep one: idMaps"),
      );
    const own = d.idMaps ?? (raw.entries.length > 0 ? raw.entries : undefined);
    const node = ix.effective(m).node;
    if (own) checkMap(m, own, d.idMaps ? "idMaps" : "lxcOptions", ix, out);
    if (node && (own || owners) && (!node.ssh || node.ssh.user !== "root")) {
      const nodePath = `nodes[${ix.def.nodes.indexOf(node)}]`;
      out.push(
        error(
          own ? `${m.path}.${d.idMaps ? "idMaps" : "lxcOptions"}` : `${m.path}.mountPoints`,
          own
            ? `'${m.name}''s id map goes into /etc/pve/lxc/${m.vmid}.conf over SSH to node '${node.name}' as root: Proxmox's API takes no lxc.* keys, and only root may write them`
            : `mount owners are set on node '${node.name}' over SSH as root, and the node has ${node.ssh ? `ssh as '${node.ssh.user}'` : "no ssh"}`,
          `set ${nodePath}.ssh with user: root`,
        ),
      );
    }
  }
  return out;
}

function checkMap(m: Machine, map: IdMapEntry[], field: string, ix: Index, out: Problem[]) {
  const path = `${m.path}.${field}`;
  const eff = ix.effective(m);
  if (!eff.unprivileged)
    out.push(
      error(
        `${m.path}.unprivileged`,
        `'${m.name}' is privileged, and an id map makes a container unprivileged (Proxmox treats any lxc.idmap entry so)`,
        "remove unprivileged: false, or the id map",
      ),
    );
  const at = (i: number) => (field === "idMaps" ? `${path}[${i}]` : path);
  for (const o of overlapping(map)) {
    const e = map[o.entry]!;
    const first = o.side === "container" ? e.containerId : e.hostId;
    out.push(
      error(
        at(o.entry),
        `${o.side} ${e.type} ${first} of ${entryText(e)} is also mapped by ${entryText(map[o.other]!)}`,
        "make the ranges of one type disjoint, inside the container and on the host",
      ),
    );
  }
  for (const type of ["uid", "gid"] as const) {
    const gaps = uncovered(map, type);
    if (gaps.length === 0) continue;
    out.push(
      error(
        path,
        `the map leaves container ${type}s ${gaps.map(([s, e]) => (e - s === 1 ? `${s}` : `${s}–${e - 1}`)).join(", ")} unmapped: Proxmox replaces its default map whole, so a map must cover ${type}s 0–65535`,
        `add ${defaultFill(type, gaps).map(entryText).join(", ")}`,
      ),
    );
  }
  const node = eff.node;
  if (!node) return;
  map.forEach((e, i) => {
    const ranges = subIds(node, e.type);
    if (withinRanges(e.hostId, e.size, ranges)) return;
    const file = e.type === "uid" ? "subuid" : "subgid";
    out.push(
      error(
        `${at(i)}${field === "idMaps" ? ".hostId" : ""}`,
        `host ${e.type}s ${e.hostId}–${e.hostId + e.size - 1} are not root's on node '${node.name}' (${file}: ${ranges.map((r) => `${r.start}–${r.start + r.count - 1}`).join(", ")}): LXC maps ids through new${e.type}map, which refuses them`,
        `add root:${e.hostId}:${e.size} to the node's /etc/${file} and declare { start: ${e.hostId}, count: ${e.size} } under nodes[${ix.def.nodes.indexOf(node)}].${file}`,
      ),
    );
  });
}

/** root's subordinate ids the node declares, Proxmox's default when it declares none. */
export function subIds(node: Node, type: IdKind) {
  return (type === "uid" ? node.subuid : node.subgid) ?? PROXMOX_SUBID_RANGES;
}
