// What placement needs to know of a definition: each node's capacity and what it holds, each guest's needs.
import { type Index, type Machine, indexDefinition } from "./resolve";
import type { Definition, Guest, Node } from "./schema";
import { type Placement, type PlacementGuest, type PlacementNode, place } from "./placement";

/** A storage every node reaches: storage.cfg's `shared`, which nfs and cifs are unless told otherwise. */
function isShared(s: Node["storage"][number]): boolean {
  return s.shared ?? (s.type === "nfs" || s.type === "cifs");
}

function placementNodes(ix: Index): PlacementNode[] {
  return ix.def.nodes.map((n) => ({
    name: n.name,
    ...(n.cores !== undefined ? { cores: n.cores } : {}),
    ...(n.memory !== undefined ? { memory: n.memory } : {}),
    overcommit: { cpu: n.overcommit?.cpu ?? 1, memory: n.overcommit?.memory ?? 1 },
    gpus: n.gpus.map((g) => g.index),
    storage: n.storage.map((s) => s.id),
    datasets: n.zfs.datasets.map((d) => d.name),
  }));
}

function placementGuests(ix: Index): PlacementGuest[] {
  const only = ix.def.nodes.length === 1 ? ix.def.nodes[0]!.name : undefined;
  return ix.machines
    .filter((m) => m.kind === "guest")
    .map((m) => {
      const d = m.def as Guest;
      const eff = ix.effective(m);
      const template = templateNodes(ix, m);
      const node = d.node ?? only;
      return {
        name: m.name,
        vmid: m.vmid,
        ...(node !== undefined
          ? { node, pinnedBy: d.node !== undefined ? `node: ${d.node} in the definition` : `the definition's only node` }
          : {}),
        cores: eff.cores ?? 1,
        memory: eff.memory ?? 512,
        gpus: eff.gpus,
        ...(d.gpuCount !== undefined && d.gpus === undefined ? { gpuCount: d.gpuCount } : {}),
        storage: [...(d.disk ? [d.disk.storage] : []), ...(template?.storage ? [template.storage] : [])],
        datasets: d.mountPoints.flatMap((mp) => (mp.dataset !== undefined ? [mp.dataset] : [])),
        ...(template?.nodes ? { template: { nodes: template.nodes, why: template.why } } : {}),
        ...(d.spread !== undefined ? { spread: d.spread } : {}),
      };
    });
}

/**
 * Where a guest's template is: a golden template is a container on one node, and Phoenix clones it there (a clone
 * on another node would be a full clone from shared storage, which it does not make); a base template is a file on
 * a storage of its node, or on every node that declares it when that storage is shared.
 */
function templateNodes(ix: Index, m: Machine): { nodes?: string[]; why: string; storage?: string } | undefined {
  const golden = ix.byName.get(m.from);
  if (golden && golden.kind === "template") {
    const node = ix.effective(golden).node;
    if (!node) return undefined;
    return {
      nodes: [node.name],
      why: `golden template '${golden.name}' is on '${node.name}' (Phoenix clones it on its node: no full clone to another)`,
    };
  }
  const base = ix.bases.get(m.from)?.t;
  if (!base) return undefined;
  const node: Node | undefined = ix.nodeOf(base.node);
  if (!node) return undefined;
  const storage = node.storage.find((s) => s.id === base.source.storage);
  if (base.type === "lxc" && storage && isShared(storage)) return { why: "", storage: storage.id };
  return {
    nodes: [node.name],
    why: `base template '${base.name}' is on storage '${base.source.storage}' of '${node.name}', which is not shared`,
  };
}

/** The placement of a definition's guests, the lock file's placements honoured first. */
export function placeDefinition(ix: Index, previous: Readonly<Record<string, string>> = {}): Placement {
  return place(placementNodes(ix), placementGuests(ix), previous);
}

/** The index with each guest on the node placement gives it, and the placement itself. */
export function placedIndex(
  def: Definition,
  previous: Readonly<Record<string, string>> = {},
): { ix: Index; placement: Placement } {
  const placement = placeDefinition(indexDefinition(def), previous);
  return { ix: indexDefinition(def, placement.placed), placement };
}
