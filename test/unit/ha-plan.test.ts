// The HA plan (plan/ha.ts): stacks/cluster.yaml's HA resources and rules by example, and properties over generated
// guests (one resource per HA guest, its own node most preferred, spread groups as negative rules, Proxmox's ids).
import fc from "fast-check";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadDefinition } from "../../validate";
import { buildPlan } from "../../plan/plan";
import { renderPlan } from "../../plan/render";
import { type HaGuest, planHa } from "../../plan/ha";
import { haResourceArgs, haRuleArgs } from "../../components/args/ha";

const NAMES = ["web", "web.1", "db", "a-b", "x9", "gpu.worker"];
const guestsArb: fc.Arbitrary<HaGuest[]> = fc
  .uniqueArray(fc.constantFrom(...NAMES), { minLength: 0, maxLength: NAMES.length })
  .chain((names) =>
    fc.tuple(
      ...names.map((name, i) =>
        fc.record({
          name: fc.constant(name),
          vmid: fc.constant(100 + i),
          type: fc.constantFrom("lxc" as const, "vm" as const),
          node: fc.constantFrom("pve1", "pve2", "pve3"),
          spread: fc.option(fc.constantFrom("web", "db.main"), { nil: undefined }),
          ha: fc.option(
            fc.record({
              state: fc.constantFrom("started" as const, "disabled" as const, "ignored" as const),
              maxRestart: fc.nat(3),
              maxRelocate: fc.nat(3),
              nodes: fc.option(fc.uniqueArray(fc.constantFrom("pve1", "pve2", "pve3"), { minLength: 1 }), { nil: undefined }),
              strict: fc.boolean(),
            }),
            { nil: undefined },
          ),
        }),
      ),
    ),
  );

describe("planHa by example", () => {
  it("plans stacks/cluster.yaml's HA guests, db's node preference and the web pair kept apart", () => {
    const { definition, problems } = loadDefinition(join(__dirname, "..", "..", "stacks", "cluster.yaml"));
    expect(problems).toEqual([]);
    const ha = buildPlan(definition!).ha!;
    expect(ha.resources.map((r) => [r.guest, r.sid, r.state, r.maxRestart, r.maxRelocate])).toEqual([
      ["db", "ct:220", "started", 2, 1],
      ["web-1", "ct:210", "started", 1, 1],
      ["web-2", "ct:211", "started", 1, 1],
    ]);
    expect(ha.rules.map(haRuleArgs)).toEqual([
      {
        rule: "phoenix-node-db",
        type: "node-affinity",
        resources: ["ct:220"],
        nodes: { pve2: 2, pve1: 1 },
        strict: false,
        comment: "phoenix: where HA runs db, its own node first",
      },
      {
        rule: "phoenix-spread-web",
        type: "resource-affinity",
        resources: ["ct:210", "ct:211"],
        affinity: "negative",
        comment: "phoenix: spread group web kept apart by HA",
      },
    ]);
    expect(renderPlan(buildPlan(definition!))).toContain("rule phoenix-spread-web: web-1, web-2 on different nodes");
    expect(haResourceArgs(ha.resources[0]!)).toEqual({ resourceId: "ct:220", state: "started", maxRestart: 2, maxRelocate: 1 });
  });

  it("plans nothing for a definition without ha, and no rule for a lone spread member or a guest naming no nodes", () => {
    expect(planHa([{ name: "a", vmid: 100, type: "lxc", node: "n1" }])).toBeUndefined();
    const ha = planHa([
      {
        name: "a",
        vmid: 100,
        type: "vm",
        node: "n1",
        spread: "g",
        ha: { state: "started", maxRestart: 1, maxRelocate: 1, strict: false },
      },
      { name: "b", vmid: 101, type: "lxc", node: "n2", spread: "g" },
    ])!;
    expect(ha.resources.map((r) => r.sid)).toEqual(["vm:100"]);
    expect(ha.rules).toEqual([]);
  });
});

describe("planHa properties", () => {
  it("one resource per HA guest, with its type's sid, and none for the others", () => {
    fc.assert(
      fc.property(guestsArb, (guests) => {
        const ha = planHa(guests);
        const wanted = guests.filter((g) => g.ha);
        if (wanted.length === 0) {
          expect(ha).toBeUndefined();
          return;
        }
        expect(ha!.resources.map((r) => r.guest).sort()).toEqual(wanted.map((g) => g.name).sort());
        for (const r of ha!.resources) {
          const g = guests.find((x) => x.name === r.guest)!;
          expect(r.sid).toBe(`${g.type === "lxc" ? "ct" : "vm"}:${g.vmid}`);
          expect([r.state, r.maxRestart, r.maxRelocate]).toEqual([g.ha!.state, g.ha!.maxRestart, g.ha!.maxRelocate]);
        }
      }),
    );
  });

  it("a node rule per guest naming nodes: its own node most preferred, the rest in its order, each once", () => {
    fc.assert(
      fc.property(guestsArb, (guests) => {
        const ha = planHa(guests);
        const rules = ha?.rules.filter((r) => r.type === "node-affinity") ?? [];
        const apart = new Set(ha?.rules.filter((r) => r.type === "resource-affinity").flatMap((r) => r.guests));
        const naming = guests.filter((g) => g.ha?.nodes);
        expect(rules.map((r) => r.guests[0]).sort()).toEqual(naming.map((g) => g.name).sort());
        for (const r of rules) {
          const g = guests.find((x) => x.name === r.guests[0])!;
          const listed = [g.node, ...g.ha!.nodes!.filter((n) => n !== g.node)];
          expect(Object.keys(r.nodes!).sort()).toEqual([...listed].sort());
          expect(r.strict).toBe(g.ha!.strict);
          if (apart.has(g.name)) {
            // beside a resource-affinity rule Proxmox takes one priority only
            expect(new Set(Object.values(r.nodes!)).size).toBe(1);
            continue;
          }
          const ranked = Object.entries(r.nodes!)
            .sort(([, a], [, b]) => b - a)
            .map(([n]) => n);
          expect(ranked).toEqual(listed);
          expect(new Set(Object.values(r.nodes!)).size).toBe(ranked.length);
        }
      }),
    );
  });

  it("a negative rule per spread group whose two or more HA members run on different nodes, holding exactly them", () => {
    fc.assert(
      fc.property(guestsArb, (guests) => {
        const rules = planHa(guests)?.rules.filter((r) => r.type === "resource-affinity") ?? [];
        const groups = new Map<string, HaGuest[]>();
        for (const g of guests) if (g.ha && g.spread) groups.set(g.spread, [...(groups.get(g.spread) ?? []), g]);
        const expected = [...groups.values()]
          .filter((m) => m.length >= 2 && new Set(m.map((g) => g.node)).size === m.length)
          .map((m) => m.map((g) => g.name).sort());
        expect(rules.map((r) => [...r.guests].sort()).sort()).toEqual(expected.sort());
        for (const r of rules) expect(r.affinity).toBe("negative");
      }),
    );
  });

  it("rule ids are Proxmox config ids, unique, and the plan does not depend on the guests' order", () => {
    fc.assert(
      fc.property(guestsArb, fc.integer(), (guests, seed) => {
        const ha = planHa(guests);
        const ids = ha?.rules.map((r) => r.rule) ?? [];
        for (const id of ids) expect(id).toMatch(/^[A-Za-z][A-Za-z0-9_-]+$/);
        expect(new Set(ids).size).toBe(ids.length);
        const shuffled = [...guests].sort((a, b) => ((a.vmid * 7919 + seed) % 101) - ((b.vmid * 7919 + seed) % 101));
        expect(planHa(shuffled)).toEqual(ha);
      }),
    );
  });
});
