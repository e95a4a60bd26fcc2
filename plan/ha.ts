// The HA plan (issue 18): each guest with `ha:` as a Proxmox HA resource, its node preference as a node-affinity
// rule, and each spread group's HA members as a negative resource-affinity rule (HA keeps them apart on recovery).
import type { GuestHa } from "../definition/ha-schema";
import { haSpreadGroups } from "../definition/ha-spread";

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

/**
 * Its node preference. Beside a resource-affinity rule Proxmox refuses node priorities (one priority only), so a
 * member of a kept-apart spread group gets its nodes as equals: HA leaves it where it runs while that node is up.
 */
function nodeRule(g: HaGuest, spread: boolean): PlannedHaRule {
  const nodes = preferredNodes(g);
  return {
    rule: ruleId("node", g.name),
    type: "node-affinity",
    guests: [g.name],
    resources: [haSid(g)],
    nodes: Object.fromEntries(nodes.map((n, i) => [n, spread ? 1 : nodes.length - i])),
    strict: g.ha!.strict,
    comment: spread ? `phoenix: where HA runs ${g.name}` : `phoenix: where HA runs ${g.name}, its own node first`,
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
  // Spread groups whose HA members are on different nodes; members sharing one get no rule (validate/ha.ts says so).
  const apart = haSpreadGroups(members).filter((x) => x.shared.length === 0);
  const inApart = new Set(apart.flatMap((x) => x.guests));
  // A guest that names no nodes gets no node rule: HA may then recover it on any node.
  const rules: PlannedHaRule[] = members.filter((g) => g.ha!.nodes).map((g) => nodeRule(g, inApart.has(g.name)));
  for (const { group, guests: names } of apart) {
    const gs = names.map((n) => members.find((g) => g.name === n)!);
    rules.push({
      rule: ruleId("spread", group),
      type: "resource-affinity",
      guests: names,
      resources: gs.map(haSid),
      affinity: "negative",
      comment: `phoenix: spread group ${group} kept apart by HA`,
    });
  }
  return { resources, rules };
}
