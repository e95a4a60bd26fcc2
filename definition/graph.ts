// Directed graphs over names: stable topological order and cycle discovery, and the machines' build order.
import type { Index, Machine } from "./resolve";

/** edges.get(a) = the names a depends on (must come before a). */
export type Edges = ReadonlyMap<string, readonly string[]>;

/**
 * Kahn's algorithm; among ready nodes the one earliest in `nodes` goes first, so the order is
 * deterministic and follows the definition where dependencies allow. Unknown edge targets are ignored.
 */
export function topoSort(nodes: readonly string[], edges: Edges): { order: string[]; cycle?: string[] } {
  const known = new Set(nodes);
  const rank = new Map(nodes.map((n, i) => [n, i]));
  const indegree = new Map<string, number>(nodes.map((n) => [n, 0]));
  const dependents = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const n of nodes) {
    for (const d of new Set(edges.get(n) ?? [])) {
      if (!known.has(d)) continue;
      indegree.set(n, (indegree.get(n) ?? 0) + 1);
      dependents.get(d)!.push(n);
    }
  }
  const ready = nodes.filter((n) => indegree.get(n) === 0);
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => rank.get(a)! - rank.get(b)!);
    const n = ready.shift()!;
    order.push(n);
    for (const m of dependents.get(n)!) {
      const left = indegree.get(m)! - 1;
      indegree.set(m, left);
      if (left === 0) ready.push(m);
    }
  }
  if (order.length === nodes.length) return { order };
  return {
    order,
    cycle: findCycle(
      nodes.filter((n) => indegree.get(n)! > 0),
      edges,
      known,
    ),
  };
}

/** One cycle among `candidates`, as a path that ends where it starts: [a, b, c, a]. */
export function findCycle(candidates: readonly string[], edges: Edges, known?: ReadonlySet<string>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, "open");
    stack.push(n);
    for (const d of edges.get(n) ?? []) {
      if (known && !known.has(d)) continue;
      if (state.get(d) === "open") return [...stack.slice(stack.indexOf(d)), d];
      if (!state.has(d)) {
        const c = visit(d);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, "done");
    return undefined;
  };
  for (const n of candidates) {
    if (state.has(n)) continue;
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

/** A machine needs its template (clone source) and its declared dependencies to exist first. */
export function prerequisites(ix: Index, m: Machine): string[] {
  const src = ix.byName.get(m.from);
  // A self-dependency is reported on its own, not as a cycle.
  return [...(src && src.kind === "template" ? [src.name] : []), ...m.def.dependsOn.filter((d) => d !== m.name)];
}

export function dependencyOrder(ix: Index) {
  return topoSort(
    ix.machines.map((m) => m.name),
    new Map(ix.machines.map((m) => [m.name, prerequisites(ix, m)])),
  );
}
