// The gateway's plan as plain data: a route per exposed service at its guest's planned address, who trusts the CA;
// properties: routes follow the addresses the plan gives (pool allocations included), names are unique, and the
// plan is the same for the same definition.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkShape } from "../../definition/load";
import { buildPlan } from "../../plan/plan";
import { validated } from "../../validate";
import { base, lxc, vm } from "./validate/support";

type Raw = ReturnType<typeof base>;

/** The validation table's base, with a gateway in 'data' and services on both guests. */
function withGateway(mutate: (d: Raw) => void = () => undefined): Raw {
  const d = base();
  d.gateway = { guest: "data" };
  d.guests[0].expose = [{ name: "portainer", port: 9443, scheme: "https" }];
  d.guests[1].expose = [{ name: "files", port: 80 }];
  mutate(d);
  return d;
}
const planOf = (raw: Raw, previousAllocations: Record<string, string> = {}) => {
  const shaped = checkShape(raw);
  if (!shaped.definition) throw new Error(JSON.stringify(shaped.problems));
  return buildPlan(validated(shaped.definition), { previousAllocations });
};

describe("planGateway", () => {
  it("routes each exposed service to its guest's first address, sorted by name", () => {
    const p = planOf(withGateway());
    const data = p.machines.find((m) => m.name === "data")!;
    const dataIp = data.network[0]!.ip.split("/")[0]!;
    expect(p.gateway).toEqual({
      guest: "data",
      vmid: 210,
      node: "lab",
      address: dataIp,
      domain: "lab.internal",
      routes: [
        { name: "files", fqdn: "files.lab.internal", guest: "data", address: dataIp, port: 80, scheme: "http" },
        {
          name: "portainer",
          fqdn: "portainer.lab.internal",
          guest: "portainer",
          address: "10.100.0.10",
          port: 9443,
          scheme: "https",
        },
      ],
      trustedBy: ["data", "portainer"],
    });
  });

  it("an app's service routes to the guest it runs on, named with the app", () => {
    const p = planOf(
      withGateway((d) => {
        d.apps = [
          { name: "web", compose: "apps/web/compose.yaml", guests: ["portainer"], expose: [{ name: "web", port: 8080 }] },
        ];
      }),
    );
    expect(p.gateway!.routes.find((r) => r.name === "web")).toEqual({
      name: "web",
      fqdn: "web.lab.internal",
      guest: "portainer",
      app: "web",
      address: "10.100.0.10",
      port: 8080,
      scheme: "http",
    });
  });

  it("trustInGuests: false trusts nowhere; a VM is trusted only when the definition can reach it over SSH", () => {
    expect(planOf(withGateway((d) => (d.gateway.trustInGuests = false))).gateway!.trustedBy).toEqual([]);
    const withVm = (key: boolean) =>
      planOf(
        withGateway((d) => {
          d.guests.push(vm(300, "vm1"), lxc(230, "aux"));
          if (key) d.access.sshPrivateKey = { secret: "guestSshKey" };
        }),
      ).gateway!.trustedBy;
    expect(withVm(false)).toEqual(["aux", "data", "portainer"]);
    expect(withVm(true)).toEqual(["aux", "data", "portainer", "vm1"]);
  });

  it("no gateway: no plan for one, exposes or not", () => {
    expect(planOf(withGateway((d) => delete d.gateway)).gateway).toBeUndefined();
  });

  // ---------------------------------------------------------------- properties

  /** 1–6 extra pool guests, each exposing 0–2 services on distinct names; the gateway in one of them or in 'data'. */
  const arb = fc
    .record({
      guests: fc.integer({ min: 1, max: 6 }),
      ports: fc.array(fc.integer({ min: 1, max: 65535 }), { minLength: 12, maxLength: 12 }),
      exposes: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 6, maxLength: 6 }),
      https: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
      gatewayAt: fc.nat({ max: 6 }),
      trust: fc.boolean(),
      // Offsets of earlier allocations in the pool 10.100.0.100-189 (distinct), per extra guest; 'data' holds .199.
      previous: fc.uniqueArray(fc.integer({ min: 0, max: 89 }), { minLength: 6, maxLength: 6 }),
    })
    .map((s) => {
      const d = base();
      for (let i = 0; i < s.guests; i++)
        d.guests.push(
          lxc(300 + i, `svc${i}`, {
            expose: Array.from({ length: s.exposes[i]! }, (_, k) => ({
              name: `s${i}-${k}`,
              port: s.ports[i * 2 + k]!,
              scheme: s.https[i * 2 + k] ? "https" : "http",
            })),
          }),
        );
      d.gateway = { guest: s.gatewayAt < s.guests ? `svc${s.gatewayAt}` : "data", trustInGuests: s.trust };
      const previous: Record<string, string> = {
        "data/eth0": "10.100.0.199/24",
        ...Object.fromEntries(
          Array.from({ length: s.guests }, (_, i) => [`svc${i}/eth0`, `10.100.0.${100 + s.previous[i]!}/24`]),
        ),
      };
      return { raw: d, previous, count: s.exposes.slice(0, s.guests).reduce((a, b) => a + b, 0) };
    });

  it("routes follow the planned addresses: another allocation, another upstream", () => {
    fc.assert(
      fc.property(arb, fc.integer({ min: 90, max: 94 }), ({ raw, previous, count }, alt) => {
        const p = planOf(raw, previous);
        const addressOf = new Map(p.machines.map((m) => [m.name, m.network[0]!.ip.split("/")[0]]));
        expect(p.gateway!.routes).toHaveLength(count);
        for (const r of p.gateway!.routes) expect(r.address).toBe(addressOf.get(r.guest));
        expect(p.gateway!.address).toBe(addressOf.get(p.gateway!.guest));
        // svc0 allocated elsewhere (an address no other guest holds): its routes, and the gateway when it is there, follow.
        const q = planOf(raw, { ...previous, "svc0/eth0": `10.100.0.${100 + alt}/24` });
        expect(q.machines.find((m) => m.name === "svc0")!.network[0]!.ip).toBe(`10.100.0.${100 + alt}/24`);
        const before = p.gateway!.routes.filter((r) => r.guest === "svc0");
        const after = q.gateway!.routes.filter((r) => r.guest === "svc0");
        expect(after.map((r) => r.name)).toEqual(before.map((r) => r.name));
        for (const r of after) expect(r.address).toBe(`10.100.0.${100 + alt}`);
        if (q.gateway!.guest === "svc0") expect(q.gateway!.address).toBe(`10.100.0.${100 + alt}`);
        // Nothing else moved.
        expect(q.gateway!.routes.filter((r) => r.guest !== "svc0")).toEqual(p.gateway!.routes.filter((r) => r.guest !== "svc0"));
      }),
      { numRuns: 40 },
    );
  });

  it("names are unique, fqdn is <name>.<domain>, routes are sorted, trustedBy sorted and complete when trusted", () => {
    fc.assert(
      fc.property(arb, ({ raw, previous }) => {
        const g = planOf(raw, previous).gateway!;
        const names = g.routes.map((r) => r.name);
        expect(new Set(names).size).toBe(names.length);
        expect(names).toEqual([...names].sort());
        for (const r of g.routes) expect(r.fqdn).toBe(`${r.name}.lab.internal`);
        const guests = raw.guests.map((x: { name: string }) => x.name).sort();
        expect(g.trustedBy).toEqual(raw.gateway.trustInGuests ? guests : []);
      }),
      { numRuns: 40 },
    );
  });

  it("is deterministic: the same definition and allocations, the same gateway", () => {
    fc.assert(
      fc.property(arb, ({ raw, previous }) => {
        expect(planOf(structuredClone(raw), previous).gateway).toEqual(planOf(structuredClone(raw), previous).gateway);
      }),
      { numRuns: 25 },
    );
  });
});
