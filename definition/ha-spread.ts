// Which spread groups HA can keep apart: a group's HA members on different nodes get a negative resource-affinity
// rule; members sharing a node get none (HA would move one away, and the next up back). Pure; plan/ and validate/ share it.

export interface HaSpreadMember {
  name: string;
  node: string;
  spread?: string;
}

export interface HaSpreadGroup {
  group: string;
  /** Its HA members, by name. */
  guests: string[];
  /** Members on one node with another (name → node); empty when all are apart and the group gets its rule. */
  shared: { guest: string; node: string }[];
}

/** Spread groups with two or more HA members, by group name; `members` are the HA guests only. */
export function haSpreadGroups(members: readonly HaSpreadMember[]): HaSpreadGroup[] {
  const groups = new Map<string, HaSpreadMember[]>();
  for (const g of members) if (g.spread) groups.set(g.spread, [...(groups.get(g.spread) ?? []), g]);
  return [...groups]
    .filter(([, gs]) => gs.length >= 2)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([group, gs]) => {
      const sorted = [...gs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const shared = sorted.filter((g) => sorted.some((o) => o !== g && o.node === g.node));
      return { group, guests: sorted.map((g) => g.name), shared: shared.map((g) => ({ guest: g.name, node: g.node })) };
    });
}
