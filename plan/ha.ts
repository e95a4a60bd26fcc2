// The HA plan (issue 18): each guest with `ha:` as a Proxmox HA resource, its node preference as a node-affinity
// rule, and each spread group's HA members as a negative resource-affinity rule (HA keeps them apart on recovery).
import type { GuestHa } from "../definition/ha-schema";

/** What the planner reads of a guest: where the plan put it, and its `ha`/`spread` fields. */
export interface HaGuest {
  name: string;
  vmid: number;
  type: "lxc" | "vm";
  node: string;
  ha?: GuestHa;
  spread?: string;
}

/** One HA resource, with Proxmox's sid (`ct:<vmid>`/`vm:<vmid>`) and option values. */
export interface PlannedHaResource {
  guest: string;
  sid: string;
  state: GuestHa["state"];
  maxRestart: number;
  maxRelocate: number;
  comment?: string;
}

/** One HA rule (Proxmox VE 9's rules.cfg): its id, type, the guests and sids it covers, and its type's fields. */
export interface PlannedHaRule {
  rule: string;
  type: "node-affinity" | "resource-affinity";
  guests: string[];
  resources: string[];
  /** node-affinity: node → priority (the higher, the more preferred). */
  nodes?: Record<string, number>;
  strict?: boolean;
  affinity?: "negative";
  comment: string;
}

export interface PlannedHa {
  resources: PlannedHaResource[];
  rules: PlannedHaRule[];
}

export const haSid = (g: { type: "lxc" | "vm"; vmid: number }) => `${g.type === "lxc" ? "ct" : "vm"}:${g.vmid}`;

/** The guest's own node first, then the others it lists, without repeats: most preferred first. */
export function preferredNodes(g: HaGuest): string[] {
  return [...new Set([g.node, ...(g.ha?.nodes ?? [])])];
}

/**
 * A rule id Proxmox takes (pve-configid: a letter, then letters, digits, '-' and '_'). Names have no '_', so turning
 * their '.' into '_' keeps them apart, and the kinds' prefixes keep a guest's rule apart from a group's.
 */
const ruleId = (kind: "node" | "spread", name: string) => `phoenix-${kind}-${name.replace(/\./g, "_")}`;

function nodeRule(g: HaGuest): PlannedHaRule {
  const nodes = preferredNodes(g);
  return {
    rule: ruleId("node", g.name),
    type: "node-affinity",
    guests: [g.name],
    resources: [haSid(g)],
    nodes: Object.fromEntries(nodes.map((n, i) => [n, nodes.length - i])),
    strict: g.ha!.strict,
    comment: `phoenix: where HA runs ${g.name}, its own node first`,
  };
}

/** The HA plan of the placed guests, or undefined when none has `ha`. Sorted by guest and group: stable. */
export function planHa(guests: readonly HaGuest[]): PlannedHa | undefined {
  const members = [...guests].filter((g) => g.ha).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (members.length === 0) return undefined;
  const resources = members.map((g) => ({
    guest: g.name,
    sid: haSid(g),
    state: g.ha!.state,
    maxRestart: g.ha!.maxRestart,
    maxRelocate: g.ha!.maxRelocate,
    ...(g.ha!.comment !== undefined ? { comment: g.ha!.comment } : {}),
  }));
  // A guest that names no nodes gets no rule: HA may then recover it on any node.
  const rules: PlannedHaRule[] = members.filter((g) => g.ha!.nodes).map(nodeRule);
  const groups = new Map<string, HaGuest[]>();
  for (const g of members) if (g.spread) groups.set(g.spread, [...(groups.get(g.spread) ?? []), g]);
  for (const [group, gs] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (gs.length < 2) continue;
    rules.push({
      rule: ruleId("spread", group),
      type: "resource-affinity",
      guests: gs.map((g) => g.name),
      resources: gs.map(haSid),
      affinity: "negative",
      comment: `phoenix: spread group ${group} kept apart by HA`,
    });
  }
  return { resources, rules };
}
