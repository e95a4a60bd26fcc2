// Where each guest without a node goes, decided once from plain data so validation and the plan agree (pure).
//
// Guests given a node keep it. A guest the lock file placed stays where it was while that node still takes it, so
// adding guests never moves existing ones. The others are served in vmid order: the nodes that have their GPUs, storage,
// datasets and template and room for their cores and memory (times the node's overcommit), preferring a node without a
// member of their spread group, then (for a guest needing no GPU) one without GPUs, then the least filled; ties go to
// the node declared first.

export interface PlacementNode {
  name: string;
  cores?: number;
  memory?: number;
  overcommit: { cpu: number; memory: number };
  gpus: number[];
  /** Storage ids declared on the node. */
  storage: string[];
  datasets: string[];
}

export interface PlacementGuest {
  name: string;
  vmid: number;
  /** Set by hand (or the definition's only node): kept, and counted against the node. */
  node?: string;
  /** Why `node` is set, when it is. */
  pinnedBy?: string;
  cores: number;
  memory: number;
  /** GPU indexes it lists (they must exist on the node). */
  gpus: number[];
  /** Or a number of GPUs no other guest of the node lists. */
  gpuCount?: number;
  /** Storage ids its disk and its template's file need on the node. */
  storage: string[];
  datasets: string[];
  /** Nodes its template is available on, and why; undefined: every node. */
  template?: { nodes: string[]; why: string };
  spread?: string;
}

export interface Placed {
  node: string;
  /** GPU indexes picked for a gpuCount. */
  gpus?: number[];
  how: "pinned" | "kept" | "placed";
  reasons: string[];
}

export interface Unplaced {
  guest: string;
  /** Node → why it does not take the guest. */
  refusals: Record<string, string>;
}

export interface SpreadConflict {
  guest: string;
  group: string;
  node: string;
  /** The members already on that node. */
  with: string[];
}

export interface Placement {
  placed: Map<string, Placed>;
  unplaced: Unplaced[];
  spreadConflicts: SpreadConflict[];
}

interface Load {
  cores: number;
  memory: number;
  gpus: Set<number>;
  /** GPUs given to a gpuCount: no other guest is placed onto them. */
  exclusive: Set<number>;
}

/** The node's GPUs no guest placed there uses yet, lowest index first. */
const freeGpus = (n: PlacementNode, l: Load) => [...n.gpus].sort((a, b) => a - b).filter((i) => !l.gpus.has(i));

export function place(
  nodes: readonly PlacementNode[],
  guests: readonly PlacementGuest[],
  previous: Readonly<Record<string, string>> = {},
): Placement {
  const load = new Map<string, Load>(nodes.map((n) => [n.name, { cores: 0, memory: 0, gpus: new Set(), exclusive: new Set() }]));
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const placed = new Map<string, Placed>();
  const groups = new Map<string, Map<string, string[]>>();
  const take = (g: PlacementGuest, node: string, p: Omit<Placed, "node">) => {
    const l = load.get(node)!;
    l.cores += g.cores;
    l.memory += g.memory;
    [...g.gpus, ...(p.gpus ?? [])].forEach((i) => l.gpus.add(i));
    p.gpus?.forEach((i) => l.exclusive.add(i));
    if (g.spread) {
      const members = groups.get(g.spread) ?? new Map<string, string[]>();
      members.set(node, [...(members.get(node) ?? []), g.name]);
      groups.set(g.spread, members);
    }
    placed.set(g.name, { node, ...p });
  };
  const ordered = [...guests].sort((a, b) => a.vmid - b.vmid || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  // Pinned guests already there, then the lock file's, then newly pinned ones: a guest added by hand does not push
  // an existing one off its node (the node is overcommitted instead, and validation warns of it).
  const unplaced: Unplaced[] = [];
  const pin = (g: PlacementGuest) => {
    const reasons = [g.pinnedBy ?? `node: ${g.node} in the definition`];
    if (g.gpuCount === undefined) return take(g, g.node!, { how: "pinned", reasons });
    const l = load.get(g.node!)!;
    const free = freeGpus(byName.get(g.node!)!, l);
    if (free.length < g.gpuCount)
      return unplaced.push({ guest: g.name, refusals: { [g.node!]: `${free.length} free GPU(s), ${g.gpuCount} needed` } });
    const gpus = free.slice(0, g.gpuCount);
    take(g, g.node!, { how: "pinned", gpus, reasons: [...reasons, `GPUs ${gpus.join(", ")} free there`] });
  };
  // Guests listing their GPUs first: a gpuCount takes what none of them lists.
  const pinned = ordered
    .filter((g) => g.node !== undefined && byName.has(g.node))
    .sort((a, b) => Number(a.gpuCount !== undefined) - Number(b.gpuCount !== undefined));
  pinned.filter((g) => previous[g.name] === g.node).forEach(pin);
  for (const g of ordered) {
    const before = previous[g.name];
    if (g.node !== undefined || before === undefined || !byName.has(before)) continue;
    const n = byName.get(before)!;
    const refusal = refusalOf(n, load.get(n.name)!, g);
    if (typeof refusal === "string") continue;
    take(g, n.name, { how: "kept", ...refusal, reasons: [`kept on '${n.name}' as the lock file records`] });
  }
  pinned.filter((g) => previous[g.name] !== g.node).forEach(pin);

  const spreadConflicts: SpreadConflict[] = [];
  for (const g of ordered) {
    if (placed.has(g.name) || g.node !== undefined) continue;
    const c = choose(nodes, load, groups, g);
    if ("refusals" in c) {
      unplaced.push({ guest: g.name, refusals: c.refusals });
      continue;
    }
    if (c.conflict) spreadConflicts.push(c.conflict);
    take(g, c.node, { how: "placed", ...(c.gpus ? { gpus: c.gpus } : {}), reasons: c.reasons });
  }
  return { placed, unplaced, spreadConflicts };
}

type Choice =
  { refusals: Record<string, string> } | { node: string; gpus?: number[]; reasons: string[]; conflict?: SpreadConflict };

/** The node for g among those that take it now, and why; or each node's refusal. */
function choose(
  nodes: readonly PlacementNode[],
  load: ReadonlyMap<string, Load>,
  groups: ReadonlyMap<string, Map<string, string[]>>,
  g: PlacementGuest,
): Choice {
  const refusals: Record<string, string> = {};
  const fits: { n: PlacementNode; gpus?: number[] }[] = [];
  for (const n of nodes) {
    const r = refusalOf(n, load.get(n.name)!, g);
    if (typeof r === "string") refusals[n.name] = r;
    else fits.push({ n, ...r });
  }
  if (fits.length === 0) return { refusals };
  const members = g.spread ? groups.get(g.spread) : undefined;
  const apart = fits.filter((f) => !members?.has(f.n.name));
  const spreadable = apart.length > 0 ? apart : fits;
  // A guest that needs no GPU leaves GPU nodes to those that do, while another node takes it.
  const needsGpu = g.gpus.length > 0 || g.gpuCount !== undefined;
  const plain = needsGpu ? spreadable : spreadable.filter((f) => f.n.gpus.length === 0);
  const pool = plain.length > 0 ? plain : spreadable;
  const score = (n: PlacementNode) => fill(n, load.get(n.name)!, g);
  const best = pool.reduce((a, b) => (score(b.n) < score(a.n) - 1e-9 ? b : a));
  const refused = Object.entries(refusals).map(([k, v]) => `${k}: ${v}`);
  const reasons = [
    `fits ${fits.length} of ${nodes.length} node(s)${refused.length ? ` (${refused.join("; ")})` : ""}`,
    ...(g.spread && apart.length > 0 && apart.length < fits.length
      ? [`spread '${g.spread}': away from ${[...members!.values()].flat().join(", ")}`]
      : []),
    ...(pool.length < spreadable.length ? ["no GPU needed: nodes with GPUs are left to guests that need them"] : []),
    `least filled after it: ${describeFill(best.n, load.get(best.n.name)!, g)}`,
    ...(best.gpus ? [`GPUs ${best.gpus.join(", ")} free there`] : []),
  ];
  const node = best.n.name;
  if (!g.spread || apart.length > 0 || !members?.has(node)) return { node, ...(best.gpus ? { gpus: best.gpus } : {}), reasons };
  const others = members.get(node)!;
  reasons.push(`spread '${g.spread}' not kept: every node that fits already has a member (${others.join(", ")} here)`);
  return {
    node,
    ...(best.gpus ? { gpus: best.gpus } : {}),
    reasons,
    conflict: { guest: g.name, group: g.spread, node, with: others },
  };
}

/** Why node n cannot take g now, or the GPUs it would give g. */
function refusalOf(n: PlacementNode, l: Load, g: PlacementGuest): string | { gpus?: number[] } {
  if (g.template && !g.template.nodes.includes(n.name)) return g.template.why;
  const missingGpu = g.gpus.filter((i) => !n.gpus.includes(i));
  if (missingGpu.length) return `no GPU ${missingGpu.join(", ")}`;
  const given = g.gpus.filter((i) => l.exclusive.has(i));
  if (given.length) return `GPU ${given.join(", ")} given to a guest's gpuCount`;
  const storage = g.storage.filter((s) => !n.storage.includes(s));
  if (storage.length) return `no storage ${storage.join(", ")}`;
  const datasets = g.datasets.filter((d) => !n.datasets.includes(d));
  if (datasets.length) return `no dataset ${datasets.join(", ")}`;
  if (n.memory !== undefined && g.memory > n.memory) return `${g.memory} MiB of memory, the node has ${n.memory} MiB`;
  if (n.cores !== undefined && g.cores > n.cores) return `${g.cores} cores, the node has ${n.cores}`;
  if (n.memory !== undefined && l.memory + g.memory > n.memory * n.overcommit.memory)
    return `${g.memory} MiB of memory do not fit (${l.memory} of ${limitText(n.memory, n.overcommit.memory)} MiB taken)`;
  if (n.cores !== undefined && l.cores + g.cores > n.cores * n.overcommit.cpu)
    return `${g.cores} cores do not fit (${l.cores} of ${limitText(n.cores, n.overcommit.cpu)} taken)`;
  if (g.gpuCount !== undefined) {
    const free = freeGpus(n, l);
    if (free.length < g.gpuCount) return `${free.length} free GPU(s), ${g.gpuCount} needed`;
    return { gpus: free.slice(0, g.gpuCount) };
  }
  return {};
}

function limitText(capacity: number, ratio: number): string {
  return ratio === 1 ? `${capacity}` : `${capacity * ratio} (${capacity} × overcommit ${ratio})`;
}

/** How full n would be with g: the larger of its memory and core shares (0 where the node gives no figure). */
function fill(n: PlacementNode, l: Load, g: PlacementGuest): number {
  const mem = n.memory ? (l.memory + g.memory) / (n.memory * n.overcommit.memory) : 0;
  const cpu = n.cores ? (l.cores + g.cores) / (n.cores * n.overcommit.cpu) : 0;
  return Math.max(mem, cpu);
}

function describeFill(n: PlacementNode, l: Load, g: PlacementGuest): string {
  const parts = [
    ...(n.memory ? [`memory ${l.memory + g.memory}/${n.memory * n.overcommit.memory} MiB`] : []),
    ...(n.cores ? [`cores ${l.cores + g.cores}/${n.cores * n.overcommit.cpu}`] : []),
  ];
  return `'${n.name}' ${parts.length ? parts.join(", ") : "(declares no cores or memory)"}`;
}
