// Property tests of the firewall plan (plan/firewall.ts) over generated definitions: every guest reference resolved,
// the user's rules kept in order, each service rule added exactly once, and the same plan every time.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkShape } from "../../definition/load";
import { type Plan, buildPlan } from "../../plan/plan";
import type { PlannedFirewallRule } from "../../plan/firewall";
import { validated } from "../../validate";
import { type Raw, base } from "./validate/support";

interface GuestSpec {
  firewalled: boolean;
  staticIp: boolean;
  expose: number[];
  rules: { action: "ACCEPT" | "DROP"; dport: number; source: number | string }[];
}
interface AppSpec {
  on: number[];
  expose: number[];
  rules: { dport: number; source: number | string }[];
}

const PORTS = [22, 443, 8000, 8080, 9443];
const portArb = fc.constantFrom(...PORTS);
/** A guest by index, or an address outside the bridge. */
const sourceArb = fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constantFrom("192.168.7.1", "172.16.0.0/12"));
const guestArb: fc.Arbitrary<GuestSpec> = fc.record({
  firewalled: fc.boolean(),
  staticIp: fc.boolean(),
  expose: fc.uniqueArray(portArb, { maxLength: 2 }),
  rules: fc.uniqueArray(
    fc.record({ action: fc.constantFrom("ACCEPT" as const, "DROP" as const), dport: portArb, source: sourceArb }),
    {
      maxLength: 4,
      selector: (r) => `${r.action} ${r.dport} ${r.source}`,
    },
  ),
});
const appArb: fc.Arbitrary<AppSpec> = fc.record({
  on: fc.uniqueArray(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }),
  expose: fc.uniqueArray(portArb, { maxLength: 2 }),
  rules: fc.uniqueArray(fc.record({ dport: portArb, source: sourceArb }), {
    maxLength: 2,
    selector: (r) => `${r.dport} ${r.source}`,
  }),
});
const specArb: fc.Arbitrary<Spec> = fc.record({
  guests: fc.array(guestArb, { minLength: 2, maxLength: 5 }),
  apps: fc.array(appArb, { maxLength: 2 }),
  gateway: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
});
interface Spec {
  guests: GuestSpec[];
  apps: AppSpec[];
  gateway: number | undefined;
}

const nameOf = (i: number) => `g${i}`;
/** Distinct rules once indices wrap around to the guests there are (validation refuses a rule twice). */
const distinct = <T>(rules: T[]): T[] => [...new Map(rules.map((r) => [JSON.stringify(r), r])).values()];

function definitionOf(spec: Spec): Raw {
  const d = base();
  const n = spec.guests.length;
  const source = (s: number | string) => (typeof s === "number" ? nameOf(s % n) : s);
  d.firewall = { rules: [{ action: "ACCEPT", macro: "SSH", source: nameOf(0) }] };
  d.guests = spec.guests.map((g, i) => ({
    vmid: 300 + i,
    name: nameOf(i),
    template: "docker-golden",
    network: [{ ip: g.staticIp ? `10.100.0.${20 + i}/24` : "auto", firewall: true }],
    expose: g.expose.map((port) => ({ name: `s${i}-${port}`, port })),
    ...(g.firewalled
      ? {
          firewall: {
            rules: distinct(
              g.rules.map((r) => ({ action: r.action, proto: "tcp", dport: String(r.dport), source: source(r.source) })),
            ),
          },
        }
      : {}),
  }));
  d.apps = spec.apps.map((a, k) => {
    const on = [...new Set(a.on.map((i) => i % n))];
    const anyFirewalled = on.some((i) => spec.guests[i]!.firewalled);
    return {
      name: `app${k}`,
      compose: `apps/app${k}/compose.yaml`,
      guests: on.map(nameOf),
      // One exposed name is one route to one guest (validation refuses an app exposing from several).
      expose: on.length === 1 ? a.expose.map((port) => ({ name: `a${k}-${port}`, port })) : [],
      // An app's rules need a firewalled guest (validation says so).
      firewall: anyFirewalled
        ? distinct(a.rules.map((r) => ({ action: "ACCEPT", proto: "tcp", dport: String(r.dport), source: source(r.source) })))
        : [],
    };
  });
  if (spec.gateway !== undefined) d.gateway = { guest: nameOf(spec.gateway % n) };
  return d;
}

function planOf(raw: Raw): Plan {
  const shaped = checkShape(raw);
  expect(shaped.problems).toEqual([]);
  return buildPlan(validated(shaped.definition!));
}

const addressOf = (plan: Plan, name: string) => plan.machines.find((m) => m.name === name)!.network[0]!.ip.split("/")[0]!;
const isService = (r: PlannedFirewallRule, port: number, source: string | undefined) =>
  r.type === "in" &&
  r.action === "ACCEPT" &&
  r.proto === "tcp" &&
  r.dport === String(port) &&
  r.source === source &&
  !r.macro &&
  !r.sport &&
  !r.dest &&
  !r.iface &&
  !r.log;

describe("planFirewall properties", () => {
  it("resolves every guest reference to the guest's planned address", () => {
    fc.assert(
      fc.property(specArb, (spec) => {
        const raw = definitionOf(spec);
        const plan = planOf(raw);
        const names = new Set(plan.machines.map((m) => m.name));
        const rules = [...plan.firewall!.datacenter!.rules, ...plan.firewall!.guests.flatMap((g) => g.rules)];
        for (const r of rules)
          for (const item of [r.source, r.dest].flatMap((x) => (x ? x.split(",") : []))) expect(names.has(item)).toBe(false);
        expect(plan.firewall!.datacenter!.rules[0]!.source).toBe(addressOf(plan, nameOf(0)));
      }),
      { numRuns: 40 },
    );
  });

  it("keeps the user's rules first and in order: the guest's own, then each app's", () => {
    fc.assert(
      fc.property(specArb, (spec) => {
        const raw = definitionOf(spec);
        const plan = planOf(raw);
        for (const g of plan.firewall!.guests) {
          const guest = raw.guests.find((x: Raw) => x.name === g.guest);
          const declared = [
            ...guest.firewall.rules,
            ...raw.apps.filter((a: Raw) => a.guests.includes(g.guest)).flatMap((a: Raw) => a.firewall),
          ];
          const expected = declared.map((r: Raw) => ({
            type: "in",
            action: r.action,
            proto: "tcp",
            dport: r.dport,
            source: /^g\d$/.test(r.source) ? addressOf(plan, r.source) : r.source,
            enable: true,
          }));
          expect(g.rules.slice(0, expected.length)).toEqual(expected);
        }
      }),
      { numRuns: 40 },
    );
  });

  it("adds each service rule exactly once, and nothing else", () => {
    fc.assert(
      fc.property(specArb, (spec) => {
        const raw = definitionOf(spec);
        const plan = planOf(raw);
        const gatewayGuest = raw.gateway?.guest as string | undefined;
        for (const g of plan.firewall!.guests) {
          const guest = raw.guests.find((x: Raw) => x.name === g.guest);
          const apps = raw.apps.filter((a: Raw) => a.guests.includes(g.guest));
          const declared = guest.firewall.rules.length + apps.reduce((n: number, a: Raw) => n + a.firewall.length, 0);
          const wanted: [number, string | undefined][] = [];
          if (gatewayGuest) {
            const gw = addressOf(plan, gatewayGuest);
            for (const e of [...guest.expose, ...apps.flatMap((a: Raw) => a.expose)]) wanted.push([e.port, gw]);
            if (g.guest === gatewayGuest) wanted.push([443, undefined]);
          }
          // once: added when the user's rules lack it, else as often as they have it (a guest's rule and its app's may match)
          for (const [port, source] of wanted) {
            const declaredTimes = g.rules.slice(0, declared).filter((r) => isService(r, port, source)).length;
            expect(g.rules.filter((r) => isService(r, port, source))).toHaveLength(Math.max(1, declaredTimes));
          }
          const missing = new Set(
            wanted.filter(([p, s]) => !g.rules.slice(0, declared).some((r) => isService(r, p, s))).map((w) => JSON.stringify(w)),
          );
          expect(g.rules).toHaveLength(declared + missing.size);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("plans the same firewall every time", () => {
    fc.assert(
      fc.property(specArb, (spec) => {
        expect(planOf(definitionOf(spec)).firewall).toEqual(planOf(definitionOf(spec)).firewall);
      }),
      { numRuns: 25 },
    );
  });
});
