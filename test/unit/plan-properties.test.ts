// Property tests of the pure planning code: address allocation, topological order, and whole plans.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { topoSort } from "../../definition/graph";
import { formatIp, parseCidr, parseIp } from "../../definition/ipv4";
import { checkShape } from "../../definition/load";
import { type Allocation, type Pool, type Request, allocate } from "../../plan/ip-allocation";
import { type Plan, buildPlan } from "../../plan/plan";
import type { Definition } from "../../definition/schema";
import { validate, validated } from "../../validate";
import { warningsOf } from "../../definition/problems";

// ---------------------------------------------------------------- allocate()

/** 1–3 pools of 1–40 addresses in disjoint parts of 10.0.0.0/16, each with some reserved addresses. */
const poolsArb: fc.Arbitrary<Pool[]> = fc
  .array(
    fc.record({
      size: fc.integer({ min: 1, max: 40 }),
      // Offsets may fall outside the pool: reserved addresses elsewhere must not matter.
      reserved: fc.uniqueArray(fc.integer({ min: -2, max: 41 }), { maxLength: 12 }),
    }),
    { minLength: 1, maxLength: 3 },
  )
  .map((specs) =>
    specs.map(({ size, reserved }, i) => {
      const first = parseIp(`10.0.${i}.100`)!;
      return { id: `vmbr0/p${i}`, first, last: first + size - 1, reserved: new Set(reserved.map((r) => first + r)) };
    }),
  );

interface RequestSpec {
  key: string;
  pool: number;
  vmid: number;
}
/** Unique keys; vmids from a narrow range so ties (broken by key) are common. */
const requestSpecsArb = fc.uniqueArray(
  fc.record({
    key: fc.stringMatching(/^[a-z][a-z0-9-]{0,6}\/eth[01]$/),
    pool: fc.nat({ max: 2 }),
    vmid: fc.integer({ min: 100, max: 110 }),
  }),
  { selector: (r) => r.key, maxLength: 70 },
);
const toRequests = (pools: Pool[], specs: readonly RequestSpec[]): Request[] =>
  specs.map((s) => ({ key: s.key, pool: pools[s.pool % pools.length]!, vmid: s.vmid }));

const freeIn = (p: Pool) => {
  let n = 0;
  for (let a = p.first; a <= p.last; a++) if (!p.reserved.has(a)) n++;
  return n;
};
/** Comparable form of an allocation (Map iteration order is not part of the contract). */
const canonical = (a: Allocation) => ({
  addresses: [...a.addresses].sort(([x], [y]) => (x < y ? -1 : 1)),
  unserved: [...a.unserved].sort(),
});
/** A permutation of `xs`. */
const permutationOf = <T>(xs: readonly T[]) => fc.shuffledSubarray([...xs], { minLength: xs.length, maxLength: xs.length });

describe("allocate()", () => {
  it("serves addresses inside their pool, never reserved, unique per pool; only the surplus goes unserved", () => {
    fc.assert(
      fc.property(poolsArb, requestSpecsArb, (pools, specs) => {
        const reqs = toRequests(pools, specs);
        const { addresses, unserved } = allocate(reqs);
        // Every request is either served or unserved, never both.
        expect(addresses.size + unserved.length).toBe(reqs.length);
        for (const k of unserved) expect(addresses.has(k)).toBe(false);
        expect(new Set(unserved).size).toBe(unserved.length);
        for (const pool of pools) {
          const mine = reqs.filter((r) => r.pool === pool);
          const served = mine.flatMap((r) => (addresses.has(r.key) ? [addresses.get(r.key)!] : []));
          for (const a of served) {
            expect(a).toBeGreaterThanOrEqual(pool.first);
            expect(a).toBeLessThanOrEqual(pool.last);
            expect(pool.reserved.has(a)).toBe(false);
          }
          expect(new Set(served).size).toBe(served.length);
          // Exactly the surplus is reported: a pool with room serves everyone.
          const surplus = Math.max(0, mine.length - freeIn(pool));
          expect(mine.filter((r) => unserved.includes(r.key)).length).toBe(surplus);
          expect(served.length).toBe(Math.min(mine.length, freeIn(pool)));
        }
      }),
    );
  });

  it("is deterministic and independent of the order of the requests array", () => {
    fc.assert(
      fc.property(
        poolsArb,
        requestSpecsArb.chain((specs) => fc.tuple(fc.constant(specs), permutationOf(specs))),
        (pools, [specs, shuffled]) => {
          const a = allocate(toRequests(pools, specs));
          expect(canonical(allocate(toRequests(pools, specs)))).toEqual(canonical(a));
          expect(canonical(allocate(toRequests(pools, shuffled)))).toEqual(canonical(a));
        },
      ),
    );
  });

  it("stability: adding requests B to A with previous = allocate(A) moves no address of A", () => {
    fc.assert(
      fc.property(
        poolsArb,
        // Split one unique set of requests into A and B, then shuffle A ∪ B.
        requestSpecsArb.chain((specs) =>
          fc.tuple(
            fc.constant(specs),
            fc.array(fc.boolean(), { minLength: specs.length, maxLength: specs.length }),
            permutationOf(specs),
          ),
        ),
        (pools, [specs, inA, shuffled]) => {
          const a = specs.filter((_, i) => inA[i]);
          const before = allocate(toRequests(pools, a));
          const after = allocate(toRequests(pools, shuffled), before.addresses);
          for (const [k, addr] of before.addresses) expect(after.addresses.get(k)).toBe(addr);
          // And what is served is still sound.
          for (const pool of pools) {
            const served = toRequests(pools, shuffled)
              .filter((r) => r.pool === pool && after.addresses.has(r.key))
              .map((r) => after.addresses.get(r.key)!);
            expect(new Set(served).size).toBe(served.length);
          }
        },
      ),
    );
  });

  it("keeps a previous address only while it is valid (inside the pool, not reserved, not claimed twice)", () => {
    fc.assert(
      fc.property(
        poolsArb,
        requestSpecsArb,
        fc.array(fc.integer({ min: -3, max: 45 }), { minLength: 70, maxLength: 70 }),
        (pools, specs, offsets) => {
          const reqs = toRequests(pools, specs);
          // Random, possibly invalid or colliding, previous addresses.
          const previous = new Map(reqs.map((r, i) => [r.key, r.pool.first + offsets[i]!]));
          const { addresses, unserved } = allocate(reqs, previous);
          for (const pool of pools) {
            const served = reqs.filter((r) => r.pool === pool && addresses.has(r.key)).map((r) => addresses.get(r.key)!);
            for (const a of served) expect(a >= pool.first && a <= pool.last && !pool.reserved.has(a)).toBe(true);
            expect(new Set(served).size).toBe(served.length);
            const mine = reqs.filter((r) => r.pool === pool);
            expect(mine.filter((r) => unserved.includes(r.key)).length).toBe(Math.max(0, mine.length - freeIn(pool)));
          }
        },
      ),
    );
  });
});

// ---------------------------------------------------------------- topoSort()

const nameOf = (i: number) => `n${i}`;

/** A random DAG: node i may depend only on nodes with a lower index. Names are given in random order. */
const dagArb = fc.integer({ min: 1, max: 30 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    pairs: fc.array(fc.tuple(fc.nat({ max: n - 1 }), fc.nat({ max: n - 1 })), { maxLength: 3 * n }),
    nodes: permutationOf(Array.from({ length: n }, (_, i) => nameOf(i))),
    // Targets that are not nodes are ignored by topoSort.
    strays: fc.array(fc.tuple(fc.nat({ max: n - 1 }), fc.constantFrom("ghost", "x")), { maxLength: 3 }),
  }),
);

function dagEdges(pairs: readonly [number, number][], strays: readonly [number, string][] = []): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  const add = (from: string, to: string) => edges.set(from, [...(edges.get(from) ?? []), to]);
  for (const [a, b] of pairs) if (a !== b) add(nameOf(Math.max(a, b)), nameOf(Math.min(a, b)));
  for (const [a, s] of strays) add(nameOf(a), s);
  return edges;
}

describe("topoSort()", () => {
  it("on a DAG: every node exactly once, every dependency before its dependent, no cycle", () => {
    fc.assert(
      fc.property(dagArb, ({ pairs, nodes, strays }) => {
        const edges = dagEdges(pairs, strays);
        const { order, cycle } = topoSort(nodes, edges);
        expect(cycle).toBeUndefined();
        expect(order).toHaveLength(nodes.length);
        expect([...order].sort()).toEqual([...nodes].sort());
        const pos = new Map(order.map((n, i) => [n, i]));
        for (const [from, tos] of edges) for (const to of tos) if (pos.has(to)) expect(pos.get(to)!).toBeLessThan(pos.get(from)!);
      }),
    );
  });

  it("is deterministic, and with no edges keeps the given order", () => {
    fc.assert(
      fc.property(dagArb, ({ pairs, nodes }) => {
        const edges = dagEdges(pairs);
        expect(topoSort(nodes, edges)).toEqual(topoSort(nodes, edges));
        expect(topoSort(nodes, new Map()).order).toEqual(nodes);
      }),
    );
  });

  it("with an injected cycle: returns a closed path of real edges, and orders only nodes outside cycles", () => {
    const withCycle = dagArb.chain((g) =>
      fc.record({
        g: fc.constant(g),
        // The cycle's nodes, in the order the injected edges follow: c0 → c1 → … → ck-1 → c0 (k = 1 is a self-loop).
        ring: fc.shuffledSubarray(
          Array.from({ length: g.n }, (_, i) => i),
          { minLength: 1 },
        ),
      }),
    );
    fc.assert(
      fc.property(withCycle, ({ g: { pairs, nodes, strays }, ring }) => {
        const edges = dagEdges(pairs, strays);
        ring.forEach((c, i) => {
          const from = nameOf(c);
          edges.set(from, [...(edges.get(from) ?? []), nameOf(ring[(i + 1) % ring.length]!)]);
        });
        const { order, cycle } = topoSort(nodes, edges);
        expect(cycle).toBeDefined();
        const c = cycle!;
        expect(c.length).toBeGreaterThanOrEqual(2);
        expect(c[0]).toBe(c[c.length - 1]);
        for (let i = 0; i + 1 < c.length; i++) expect(edges.get(c[i]!) ?? []).toContain(c[i + 1]);
        // A simple cycle of known nodes.
        expect(new Set(c.slice(0, -1)).size).toBe(c.length - 1);
        for (const n of c) expect(nodes).toContain(n);
        // Nodes on a cycle cannot be ordered; what is ordered is ordered correctly.
        for (const n of c) expect(order).not.toContain(n);
        for (const n of ring) expect(order).not.toContain(nameOf(n));
        expect(new Set(order).size).toBe(order.length);
        const pos = new Map(order.map((n, i) => [n, i]));
        for (const n of order)
          for (const d of edges.get(n) ?? []) if (nodes.includes(d)) expect(pos.get(d)).toBeLessThan(pos.get(n)!);
      }),
    );
  });
});

// ---------------------------------------------------------------- buildPlan()

const POOL_FIRST = parseIp("10.20.0.100")!;
const POOL_LAST = parseIp("10.20.0.199")!;
const GATEWAY = "10.20.0.1";

interface GuestSpec {
  name: string;
  vmid: number;
  golden: boolean;
  /** Indexes (in generation order) of guests this one depends on; always lower than its own. */
  deps: number[];
  /** A static address inside the pool's range, which the allocator must avoid. */
  staticIp?: string;
}

/** 1..60 guests with `ip: auto` (a few static), some cloned from a golden template, with acyclic dependencies. */
const guestsArb: fc.Arbitrary<GuestSpec[]> = fc.integer({ min: 1, max: 60 }).chain((n) =>
  fc
    .tuple(
      fc.uniqueArray(fc.integer({ min: 1000, max: 99_999 }), { minLength: n, maxLength: n }),
      fc.array(fc.record({ golden: fc.boolean(), deps: fc.array(fc.nat(), { maxLength: 3 }), isStatic: fc.nat({ max: 5 }) }), {
        minLength: n,
        maxLength: n,
      }),
    )
    .map(([vmids, rest]) => {
      let statics = 0;
      return rest.map(({ golden, deps, isStatic }, i): GuestSpec => ({
        name: `g${i}`,
        vmid: vmids[i]!,
        golden,
        deps: i === 0 ? [] : [...new Set(deps.map((d) => d % i))],
        ...(isStatic === 0 ? { staticIp: formatIp(POOL_FIRST + 3 * statics++) } : {}),
      }));
    }),
);

function definitionOf(guests: readonly GuestSpec[]): Definition {
  const raw = {
    nodes: [
      {
        name: "pve",
        ssh: { host: "10.20.0.2", privateKey: { secret: "nodeSshKey" } },
        storage: [{ id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl", "rootdir", "images", "iso"] }],
      },
    ],
    network: {
      bridges: [
        {
          name: "vmbr0",
          subnet: "10.20.0.0/24",
          gateway: GATEWAY,
          pools: [{ name: "guests", range: `${formatIp(POOL_FIRST)}-${formatIp(POOL_LAST)}` }],
        },
      ],
    },
    templates: [
      { name: "debian", source: { storage: "local", file: "vztmpl/debian-12.tar.zst" } },
      { name: "golden", vmid: 900, parent: "debian", network: [{ ip: "10.20.0.9/24" }] },
    ],
    guests: guests.map((g) => ({
      vmid: g.vmid,
      name: g.name,
      template: g.golden ? "golden" : "debian",
      network: [{ name: "eth0", bridge: "vmbr0", ip: g.staticIp ? `${g.staticIp}/24` : "auto" }],
      dependsOn: g.deps.map((d) => `g${d}`),
    })),
  };
  const shaped = checkShape(raw);
  expect(shaped.problems).toEqual([]);
  return shaped.definition!;
}

/** The generated guests, and two independent random definition orders of them. */
const scenarioArb = guestsArb.chain((guests) => fc.tuple(fc.constant(guests), permutationOf(guests), permutationOf(guests)));

function checkOrder(def: Definition, plan: Plan) {
  const pos = new Map(plan.machines.map((m, i) => [m.name, i]));
  expect(pos.size).toBe(def.guests.length + 1);
  for (const g of def.guests) {
    if (g.template === "golden") expect(pos.get("golden")!).toBeLessThan(pos.get(g.name)!);
    for (const d of g.dependsOn) expect(pos.get(d)!).toBeLessThan(pos.get(g.name)!);
  }
}

function checkAddresses(def: Definition, plan: Plan) {
  const auto = def.guests.filter((g) => g.network[0]!.ip === "auto").map((g) => `${g.name}/eth0`);
  expect(Object.keys(plan.allocations).sort()).toEqual(auto.sort());
  const statics = new Set(def.guests.filter((g) => g.network[0]!.ip !== "auto").map((g) => parseCidr(g.network[0]!.ip)!.address));
  const addrs = Object.values(plan.allocations).map((c) => {
    expect(c).toMatch(/\/24$/);
    return parseCidr(c)!.address;
  });
  expect(new Set(addrs).size).toBe(addrs.length);
  for (const a of addrs) {
    expect(a).toBeGreaterThanOrEqual(POOL_FIRST);
    expect(a).toBeLessThanOrEqual(POOL_LAST);
    expect(statics.has(a)).toBe(false);
    expect(a).not.toBe(parseIp(GATEWAY));
  }
  // Planned interfaces carry the allocation.
  for (const m of plan.machines.filter((x) => x.kind === "guest")) {
    const nic = m.network[0]!;
    if (nic.allocated) expect(nic.ip).toBe(plan.allocations[`${m.name}/eth0`]);
  }
}

describe("buildPlan()", () => {
  it("orders machines after their template and dependencies, with unique pool addresses", () => {
    fc.assert(
      fc.property(scenarioArb, ([, ordered]) => {
        const def = definitionOf(ordered);
        const plan = buildPlan(validated(def));
        checkOrder(def, plan);
        checkAddresses(def, plan);
        expect(warningsOf(validate(def))).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it("gives the same allocations whatever order the guests are written in", () => {
    fc.assert(
      fc.property(scenarioArb, ([, one, other]) => {
        expect(buildPlan(validated(definitionOf(other))).allocations).toEqual(
          buildPlan(validated(definitionOf(one))).allocations,
        );
      }),
      { numRuns: 60 },
    );
  });

  it("adding a guest with the previous allocations leaves every existing allocation unchanged", () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer({ min: 100, max: 99_999 }), fc.nat(), ([, ordered], vmid, at) => {
        fc.pre(!ordered.some((g) => g.vmid === vmid) && vmid !== 900);
        const before = buildPlan(validated(definitionOf(ordered)));
        // The newcomer may come first in vmid order and be written anywhere in the list.
        const grown = [...ordered];
        grown.splice(at % (grown.length + 1), 0, { name: "newcomer", vmid, golden: false, deps: [] });
        const after = buildPlan(validated(definitionOf(grown)), { previousAllocations: before.allocations });
        for (const [k, v] of Object.entries(before.allocations)) expect(after.allocations[k]).toBe(v);
        expect(Object.keys(after.allocations)).toHaveLength(Object.keys(before.allocations).length + 1);
        expect(Object.values(before.allocations)).not.toContain(after.allocations["newcomer/eth0"]);
      }),
      { numRuns: 60 },
    );
  });
});
