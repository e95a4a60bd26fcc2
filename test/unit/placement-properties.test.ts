// Properties of placement (definition/placement.ts) over generated nodes and guests: capacity, determinism,
// stability, anti-affinity, and the GPUs a gpuCount gets.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Placement, type PlacementGuest, type PlacementNode, place } from "../../definition/placement";

const nodeArb = (i: number): fc.Arbitrary<PlacementNode> =>
  fc.record({
    name: fc.constant(`n${i}`),
    cores: fc.option(fc.integer({ min: 1, max: 16 }), { nil: undefined }),
    memory: fc.option(fc.integer({ min: 512, max: 16384 }), { nil: undefined }),
    overcommit: fc.record({
      cpu: fc.constantFrom(1, 1.5, 2, 4),
      memory: fc.constantFrom(1, 1.25, 2),
    }),
    gpus: fc.subarray([0, 1, 2, 3]),
    storage: fc.subarray(["local", "tank", "nfs"]),
    datasets: fc.subarray(["tank/models", "tank/data"]),
  });

const nodesArb = fc.integer({ min: 1, max: 4 }).chain((k) => fc.tuple(...Array.from({ length: k }, (_, i) => nodeArb(i))));

const guestArb = (i: number, nodeCount: number): fc.Arbitrary<PlacementGuest> =>
  fc
    .record({
      vmid: fc.integer({ min: 100, max: 999 }),
      pin: fc.option(fc.integer({ min: 0, max: nodeCount - 1 }), { nil: undefined, freq: 5 }),
      cores: fc.integer({ min: 1, max: 6 }),
      memory: fc.integer({ min: 128, max: 6144 }),
      gpus: fc.subarray([0, 1, 2, 3], { maxLength: 2 }),
      gpuCount: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined, freq: 4 }),
      storage: fc.subarray(["local", "tank", "nfs"], { maxLength: 1 }),
      datasets: fc.subarray(["tank/models", "tank/data"], { maxLength: 1 }),
      template: fc.option(fc.subarray([...Array(nodeCount).keys()], { minLength: 1 }), { nil: undefined, freq: 3 }),
      spread: fc.option(fc.constantFrom("web", "db"), { nil: undefined, freq: 2 }),
    })
    .map((r) => ({
      name: `g${i}`,
      vmid: r.vmid,
      ...(r.pin !== undefined ? { node: `n${r.pin}` } : {}),
      cores: r.cores,
      memory: r.memory,
      gpus: r.gpuCount !== undefined ? [] : r.gpus,
      ...(r.gpuCount !== undefined ? { gpuCount: r.gpuCount } : {}),
      storage: r.storage,
      datasets: r.datasets,
      ...(r.template ? { template: { nodes: r.template.map((k) => `n${k}`), why: "template elsewhere" } } : {}),
      ...(r.spread ? { spread: r.spread } : {}),
    }));

const caseArb = nodesArb.chain((nodes) =>
  fc
    .integer({ min: 0, max: 14 })
    .chain((k) => fc.tuple(...Array.from({ length: k }, (_, i) => guestArb(i, nodes.length))))
    .map((guests) => ({ nodes: nodes as PlacementNode[], guests: guests as PlacementGuest[] })),
);

/** Placement serves guests in vmid order, then name. */
const servedBefore = (a: PlacementGuest, b: PlacementGuest) => a.vmid < b.vmid || (a.vmid === b.vmid && a.name < b.name);

const nodesOf = (p: Placement) => Object.fromEntries([...p.placed].map(([g, x]) => [g, x.node]));

/** What the guests that placement chose (not pinned) use on each node, with everything else there. */
function usage(nodes: PlacementNode[], guests: PlacementGuest[], p: Placement) {
  return nodes.map((n) => {
    const on = guests.filter((g) => p.placed.get(g.name)?.node === n.name);
    return {
      n,
      on,
      chosen: on.filter((g) => p.placed.get(g.name)!.how !== "pinned"),
      memory: on.reduce((s, g) => s + g.memory, 0),
      cores: on.reduce((s, g) => s + g.cores, 0),
    };
  });
}

describe("placement properties", () => {
  it("never fills a node past its capacity times its overcommit with a guest it chose", () => {
    fc.assert(
      fc.property(caseArb, ({ nodes, guests }) => {
        const p = place(nodes, guests);
        for (const u of usage(nodes, guests, p)) {
          // No guest it chose is larger than the node by itself, whatever the overcommit.
          for (const g of u.chosen) {
            if (u.n.memory !== undefined) expect(g.memory).toBeLessThanOrEqual(u.n.memory);
            if (u.n.cores !== undefined) expect(g.cores).toBeLessThanOrEqual(u.n.cores);
          }
          if (u.chosen.length === 0) continue;
          // The last guest placed there fitted with everything before it, pinned guests included.
          if (u.n.memory !== undefined) expect(u.memory).toBeLessThanOrEqual(u.n.memory * u.n.overcommit.memory);
          if (u.n.cores !== undefined) expect(u.cores).toBeLessThanOrEqual(u.n.cores * u.n.overcommit.cpu);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("places a guest only where its GPUs, storage, datasets and template are", () => {
    fc.assert(
      fc.property(caseArb, ({ nodes, guests }) => {
        const p = place(nodes, guests);
        for (const g of guests) {
          const x = p.placed.get(g.name);
          if (!x || x.how === "pinned") continue;
          const n = nodes.find((k) => k.name === x.node)!;
          for (const i of [...g.gpus, ...(x.gpus ?? [])]) expect(n.gpus).toContain(i);
          for (const s of g.storage) expect(n.storage).toContain(s);
          for (const d of g.datasets) expect(n.datasets).toContain(d);
          if (g.template) expect(g.template.nodes).toContain(n.name);
          if (g.gpuCount !== undefined) expect(x.gpus).toHaveLength(g.gpuCount);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("gives a gpuCount GPUs no other guest of the node lists", () => {
    fc.assert(
      fc.property(caseArb, ({ nodes, guests }) => {
        const p = place(nodes, guests);
        for (const g of guests) {
          const x = p.placed.get(g.name);
          if (!x?.gpus) continue;
          const others = guests.filter((o) => o !== g && p.placed.get(o.name)?.node === x.node);
          const taken = others.flatMap((o) => [...o.gpus, ...(p.placed.get(o.name)!.gpus ?? [])]);
          for (const i of x.gpus) expect(taken).not.toContain(i);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("accounts for every guest: pinned, placed, or unplaced with a reason from each node", () => {
    fc.assert(
      fc.property(caseArb, ({ nodes, guests }) => {
        const p = place(nodes, guests);
        for (const g of guests) {
          const u = p.unplaced.find((x) => x.guest === g.name);
          expect(p.placed.has(g.name)).toBe(u === undefined);
          if (g.node !== undefined) {
            // Pinned: there, or (a gpuCount its node has not enough free GPUs for) refused by that node alone.
            if (u) expect(Object.keys(u.refusals)).toEqual([g.node]);
            else expect(p.placed.get(g.name)).toMatchObject({ node: g.node, how: "pinned" });
            if (u) expect(g.gpuCount).toBeDefined();
          } else if (u) expect(Object.keys(u.refusals).sort()).toEqual(nodes.map((n) => n.name).sort());
          const x = p.placed.get(g.name);
          if (x && g.gpuCount !== undefined) expect(x.gpus).toHaveLength(g.gpuCount);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("is deterministic: the order guests and their fields are written in changes nothing", () => {
    fc.assert(
      fc.property(caseArb, fc.integer(), ({ nodes, guests }, seed) => {
        const shuffled = [...guests].sort((a, b) => ((a.vmid * 31 + seed) % 97) - ((b.vmid * 31 + seed) % 97));
        const a = place(nodes, guests);
        const b = place(nodes, shuffled);
        expect(nodesOf(b)).toEqual(nodesOf(a));
        expect(b.unplaced.map((u) => u.guest).sort()).toEqual(a.unplaced.map((u) => u.guest).sort());
      }),
      { numRuns: 300 },
    );
  });

  it("is stable: with the placements recorded, adding a guest moves no existing one", () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 0, max: 30 }), ({ nodes, guests }, k) => {
        const existing = guests.slice(0, guests.length - 1);
        const recorded = nodesOf(place(nodes, existing));
        const added = { ...guests[guests.length - 1]!, vmid: k % 2 ? 100 : 999, name: "added" };
        const after = place(nodes, [...existing, ...(guests.length ? [added] : [])], recorded);
        for (const [g, node] of Object.entries(recorded)) expect(after.placed.get(g)?.node, g).toBe(node);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps a spread group apart while another node fits, and reports it when none does", () => {
    fc.assert(
      fc.property(caseArb, ({ nodes, guests }) => {
        const p = place(nodes, guests);
        for (const g of guests) {
          const x = p.placed.get(g.name);
          if (!x || x.how !== "placed" || !g.spread) continue;
          const mates = guests.filter((o) => o !== g && o.spread === g.spread && p.placed.get(o.name)?.node === x.node);
          const conflict = p.spreadConflicts.find((c) => c.guest === g.name);
          // A mate placed after g was the one to report it; a mate before g (pinned, kept or placed) makes g report.
          const before = mates.filter((o) => o.node !== undefined || servedBefore(o, g));
          if (before.length) {
            expect(conflict, `${g.name} shares ${x.node} with ${before.map((o) => o.name)}`).toBeDefined();
            expect(x.reasons.join(" ")).toContain(`spread '${g.spread}' not kept`);
            // And truly no node without a member took it: the same guest, kept off those nodes, fits nowhere.
            const prefix = guests.filter((o) => o !== g && (o.node !== undefined || servedBefore(o, g)));
            const state = place(nodes, prefix);
            const away = nodes
              .map((n) => n.name)
              .filter((n) => !prefix.some((o) => o.spread === g.spread && state.placed.get(o.name)?.node === n))
              .filter((n) => !g.template || g.template.nodes.includes(n));
            const { spread: _, ...plain } = g;
            const alone = place(nodes, [...prefix, { ...plain, template: { nodes: away, why: "has a member" } }]);
            expect(alone.unplaced.map((u) => u.guest)).toContain(g.name);
          } else expect(conflict).toBeUndefined();
        }
      }),
      { numRuns: 300 },
    );
  });
});
