// Property tests for the planning functions: address allocation, ordering, and the whole plan.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { topoSort } from "../stacks/graph";
import { checkShape } from "../stacks/load";
import { type Pool, type Request, allocate } from "../stacks/plan/ip-allocation";
import { buildPlan } from "../stacks/plan/plan";
import type { DefinitionInput } from "../stacks/schema";

const FIRST = 0x0a000064; // 10.0.0.100

const poolArb = fc.record({ size: fc.integer({ min: 1, max: 40 }), reserved: fc.uniqueArray(fc.integer({ min: 0, max: 39 }), { maxLength: 10 }) }).map(
  ({ size, reserved }): Pool => ({ id: "vmbr0/p", first: FIRST, last: FIRST + size - 1, reserved: new Set(reserved.map((r) => FIRST + r)) }),
);
const keysArb = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), { minLength: 0, maxLength: 50 });
const requestsOf = (pool: Pool, keys: string[], vmids: number[]): Request[] => keys.map((k, i) => ({ key: `${k}/eth0`, pool, vmid: vmids[i % vmids.length] ?? 100 + i }));
const freeCount = (p: Pool) => p.last - p.first + 1 - [...p.reserved].filter((a) => a >= p.first && a <= p.last).length;

describe("allocate", () => {
  it("serves addresses inside the pool, never reserved, never twice, and reports exactly the surplus", () => {
    fc.assert(
      fc.property(poolArb, keysArb, fc.array(fc.integer({ min: 100, max: 999 }), { minLength: 1 }), (pool, keys, vmids) => {
        const { addresses, unserved } = allocate(requestsOf(pool, keys, vmids));
        const served = [...addresses.values()];
        for (const a of served) {
          expect(a).toBeGreaterThanOrEqual(pool.first);
          expect(a).toBeLessThanOrEqual(pool.last);
          expect(pool.reserved.has(a)).toBe(false);
        }
        expect(new Set(served).size).toBe(served.length);
        expect(unserved.length).toBe(Math.max(0, keys.length - freeCount(pool)));
        expect(served.length + unserved.length).toBe(keys.length);
      }),
    );
  });

  it("is deterministic and ignores the order requests come in", () => {
    fc.assert(
      fc.property(poolArb, keysArb, fc.array(fc.integer({ min: 100, max: 999 }), { minLength: 1 }), fc.integer(), (pool, keys, vmids, seed) => {
        const reqs = requestsOf(pool, keys, vmids);
        const shuffled = fc.sample(fc.shuffledSubarray(reqs, { minLength: reqs.length, maxLength: reqs.length }), { seed, numRuns: 1 })[0]!;
        const a = allocate(reqs);
        expect(allocate(reqs)).toEqual(a);
        expect(new Map([...allocate(shuffled).addresses].sort())).toEqual(new Map([...a.addresses].sort()));
      }),
    );
  });

  it("keeps every earlier address when requests are added (given the earlier result)", () => {
    fc.assert(
      fc.property(poolArb, keysArb, keysArb, (pool, before, added) => {
        const first = allocate(requestsOf(pool, before, [500]));
        const extra = added.filter((k) => !before.includes(k));
        const all = [...requestsOf(pool, extra, [100]), ...requestsOf(pool, before, [500])];
        const second = allocate(all, first.addresses);
        for (const [k, a] of first.addresses) expect(second.addresses.get(k)).toBe(a);
      }),
    );
  });
});

describe("topoSort", () => {
  const dagArb = fc.integer({ min: 1, max: 30 }).chain((n) =>
    fc.tuple(fc.constant(n), fc.array(fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: n - 1 })), { maxLength: 80 })),
  );

  it("orders every node once, each after what it depends on", () => {
    fc.assert(
      fc.property(dagArb, ([n, pairs]) => {
        const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
        // Edges only point to a lower index, so the graph is acyclic.
        const edges = new Map<string, string[]>();
        for (const [a, b] of pairs) if (a > b) edges.set(`n${a}`, [...(edges.get(`n${a}`) ?? []), `n${b}`]);
        const { order, cycle } = topoSort(nodes, edges);
        expect(cycle).toBeUndefined();
        expect([...order].sort()).toEqual([...nodes].sort());
        for (const [from, deps] of edges) for (const d of deps) expect(order.indexOf(d)).toBeLessThan(order.indexOf(from));
      }),
    );
  });

  it("names a real cycle when there is one", () => {
    fc.assert(
      fc.property(dagArb, fc.integer({ min: 2, max: 6 }), ([n, pairs], len) => {
        const nodes = Array.from({ length: n + len }, (_, i) => `n${i}`);
        const edges = new Map<string, string[]>();
        for (const [a, b] of pairs) if (a > b) edges.set(`n${a}`, [...(edges.get(`n${a}`) ?? []), `n${b}`]);
        // A ring among the extra nodes: n(n) → n(n+1) → … → n(n).
        for (let i = 0; i < len; i++) edges.set(`n${n + i}`, [...(edges.get(`n${n + i}`) ?? []), `n${n + ((i + 1) % len)}`]);
        const { cycle } = topoSort(nodes, edges);
        expect(cycle).toBeDefined();
        expect(cycle![0]).toBe(cycle![cycle!.length - 1]);
        for (let i = 0; i + 1 < cycle!.length; i++) expect(edges.get(cycle![i]!)).toContain(cycle![i + 1]);
      }),
    );
  });
});

describe("buildPlan on generated definitions", () => {
  function definition(guests: { vmid: number; deps: number[] }[]): DefinitionInput {
    const names = new Map(guests.map((g) => [g.vmid, `g${g.vmid}`]));
    return {
      nodes: [{ name: "n", ssh: { host: "127.0.0.1" }, storage: [{ id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl", "rootdir"] }] }],
      network: { bridges: [{ name: "vmbr0", subnet: "10.0.0.0/24", gateway: "10.0.0.1", pools: [{ name: "p", range: "10.0.0.100-10.0.0.199" }] }] },
      templates: [
        { name: "base", source: { storage: "local", file: "vztmpl/debian.tar.zst" } },
        { name: "golden", vmid: 900, parent: "base", network: [{ ip: "10.0.0.90/24" }] },
      ],
      guests: guests.map((g) => ({ vmid: g.vmid, name: names.get(g.vmid)!, template: g.vmid % 2 ? "golden" : "base", dependsOn: g.deps.filter((d) => d < g.vmid).map((d) => names.get(d)!) })),
    };
  }
  const guestsArb = fc
    .uniqueArray(fc.integer({ min: 100, max: 899 }), { minLength: 1, maxLength: 60 })
    .chain((vmids) => fc.tuple(...vmids.map((v) => fc.record({ vmid: fc.constant(v), deps: fc.subarray(vmids, { maxLength: Math.min(3, vmids.length) }) }))));
  const plan = (d: DefinitionInput, previous?: Record<string, string>) => buildPlan(checkShape(d).definition!, previous ? { previousAllocations: previous } : {});

  it("puts every machine after its template and dependencies, with unique addresses, whatever the order", () => {
    fc.assert(
      fc.property(guestsArb, fc.integer(), (guests, seed) => {
        const p = plan(definition(guests));
        const at = new Map(p.machines.map((m, i) => [m.name, i]));
        for (const m of p.machines) for (const d of m.dependsOn) expect(at.get(d)!).toBeLessThan(at.get(m.name)!);
        const ips = Object.values(p.allocations);
        expect(new Set(ips).size).toBe(ips.length);
        const shuffled = fc.sample(fc.shuffledSubarray(guests, { minLength: guests.length, maxLength: guests.length }), { seed, numRuns: 1 })[0]!;
        expect(plan(definition(shuffled)).allocations).toEqual(p.allocations);
      }),
      { numRuns: 50 },
    );
  });

  it("never renumbers existing guests when one is added with the lock of the previous plan", () => {
    fc.assert(
      fc.property(guestsArb, fc.integer({ min: 100, max: 899 }), (guests, newVmid) => {
        fc.pre(!guests.some((g) => g.vmid === newVmid) && guests.length < 60);
        const first = plan(definition(guests));
        const second = plan(definition([{ vmid: newVmid, deps: [] }, ...guests]), first.allocations);
        for (const [k, ip] of Object.entries(first.allocations)) expect(second.allocations[k]).toBe(ip);
        expect(second.allocations[`g${newVmid}/eth0`]).toMatch(/^10\.0\.0\.1\d\d\/24$/);
      }),
      { numRuns: 50 },
    );
  });
});
