// What each guest and golden template really is once its clone chain is taken into account.
// Proxmox clones copy the template's config, so features, GPUs, nesting and privilege mode are
// inherited from the parent unless the clone says otherwise.
import {
  type BaseTemplate,
  type Definition,
  type Features,
  type GoldenTemplate,
  type Guest,
  type Node,
  isGolden,
} from "./schema";
import { DEFAULT_ID_MAPS, type IdMapEntry, rawIdMaps } from "./idmap";

export interface Machine {
  kind: "guest" | "template";
  /** Field path of its entry, e.g. guests[3]. */
  path: string;
  def: Guest | GoldenTemplate;
  name: string;
  vmid: number;
  type: "lxc" | "vm";
  /** Name of the template (guest) or parent (golden template) it is made from. */
  from: string;
}

export interface Effective {
  node?: Node;
  features: Features;
  gpus: number[];
  /** Memory (MiB) and cores, which a clone keeps from its template unless it sets them. */
  memory?: number;
  cores?: number;
  nesting: boolean;
  unprivileged: boolean;
  /**
   * Custom uid/gid maps: the machine's idMaps, else its raw lxc.idmap lines, else its template's (a Proxmox clone
   * copies them). Undefined: the default map of an unprivileged container (none in a privileged one).
   */
  idMaps?: IdMapEntry[];
  /** Names from the base template down to this machine; stops early at an unknown or cyclic link. */
  chain: string[];
  /** The base template at the root of the chain, when the chain reaches one. */
  base?: BaseTemplate;
}

export interface Index {
  def: Definition;
  nodes: Map<string, Node>;
  bases: Map<string, { t: BaseTemplate; path: string }>;
  machines: Machine[];
  byName: Map<string, Machine>;
  effective(m: Machine): Effective;
  nodeOf(nodeName: string | undefined): Node | undefined;
}

/**
 * `placed`: the node (and GPUs picked for a gpuCount) of guests without a node, from placement
 * (definition/placement.ts): a guest it leaves out is on no node. Without it, such a guest is on its template's node
 * or the definition's only node.
 */
export function indexDefinition(def: Definition, placed?: ReadonlyMap<string, { node: string; gpus?: number[] }>): Index {
  const nodes = new Map(def.nodes.map((n) => [n.name, n]));
  const bases = new Map<string, { t: BaseTemplate; path: string }>();
  const machines: Machine[] = [];
  def.templates.forEach((t, i) => {
    const path = `templates[${i}]`;
    if (isGolden(t)) machines.push({ kind: "template", path, def: t, name: t.name, vmid: t.vmid, type: t.type, from: t.parent });
    else if (!bases.has(t.name)) bases.set(t.name, { t, path });
  });
  def.guests.forEach((g, i) =>
    machines.push({ kind: "guest", path: `guests[${i}]`, def: g, name: g.name, vmid: g.vmid, type: g.type, from: g.template }),
  );
  const byName = new Map<string, Machine>();
  for (const m of machines) if (!byName.has(m.name)) byName.set(m.name, m);

  const nodeOf = (name: string | undefined) =>
    name === undefined ? (def.nodes.length === 1 ? def.nodes[0] : undefined) : nodes.get(name);

  const cache = new Map<Machine, Effective>();
  const effective = (m: Machine, seen: Set<Machine> = new Set()): Effective => {
    const hit = cache.get(m);
    if (hit) return hit;
    const parent = byName.get(m.from);
    const up: Effective | undefined =
      parent && parent.kind === "template" && !seen.has(parent) ? effective(parent, new Set([...seen, m])) : undefined;
    const base = up ? up.base : bases.get(m.from)?.t;
    const d = m.def;
    const eff: Effective = {
      node:
        m.kind === "guest" && placed && d.node === undefined
          ? nodeOf(placed.get(m.name)?.node)
          : nodeOf(d.node ?? up?.node?.name ?? base?.node),
      features: mergeFeatures(up?.features ?? {}, d.features),
      gpus: d.gpus ?? (m.kind === "guest" ? placed?.get(m.name)?.gpus : undefined) ?? up?.gpus ?? [],
      ...((d.memory ?? up?.memory) !== undefined ? { memory: (d.memory ?? up?.memory)! } : {}),
      ...((d.cores ?? up?.cores) !== undefined ? { cores: (d.cores ?? up?.cores)! } : {}),
      nesting: d.nesting ?? up?.nesting ?? false,
      unprivileged: d.unprivileged ?? up?.unprivileged ?? true,
      ...((ownIdMaps(d) ?? up?.idMaps) ? { idMaps: (ownIdMaps(d) ?? up?.idMaps)! } : {}),
      chain: [...(up ? up.chain : base ? [base.name] : []), m.name],
      ...(base ? { base } : {}),
    };
    cache.set(m, eff);
    return eff;
  };
  return { def, nodes, bases, machines, byName, effective: (m) => effective(m), nodeOf };
}

/** A machine's own id map: its idMaps, else the lxc.idmap lines among its lxcOptions. */
export function ownIdMaps(d: Guest | GoldenTemplate): IdMapEntry[] | undefined {
  if (d.idMaps) return d.idMaps;
  const raw = rawIdMaps(d.lxcOptions).entries;
  return raw.length > 0 ? raw : undefined;
}

/** The map a machine's ids go through on the host: custom, Proxmox's default (unprivileged), or none (privileged). */
export function idMapOf(e: Effective): IdMapEntry[] | undefined {
  return e.idMaps ?? (e.unprivileged ? DEFAULT_ID_MAPS : undefined);
}

/** A clone's feature settings replace its parent's per feature; unset features are inherited. */
export function mergeFeatures(parent: Features, own: Features): Features {
  const out: Record<string, unknown> = { ...parent };
  for (const [k, v] of Object.entries(own)) {
    if (v === undefined) continue;
    const p = out[k];
    out[k] = typeof v === "object" && typeof p === "object" && p !== null ? { ...p, ...v } : v;
  }
  return out as Features;
}

export function hasFeature(f: Features, name: keyof Features): boolean {
  return f[name] !== undefined;
}
