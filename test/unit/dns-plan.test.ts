// The internal DNS plan (plan/dns.ts) as plain data: records for guests and the gateway's routes, upstreams, and the
// nameservers guests get; with property tests over generated definitions.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkShape } from "../../definition/load";
import type { Definition } from "../../definition/schema";
import { indexDefinition } from "../../definition/resolve";
import { type Plan, buildPlan } from "../../plan/plan";
import { planDns } from "../../plan/dns";
import { renderPlan } from "../../plan/render";
import type { PlannedGateway } from "../../plan/gateway";
import { validated } from "../../validate";

type Ip = "auto" | "dhcp" | string;
interface GuestSpec {
  name: string;
  ip: Ip;
  nameservers?: string[];
}

function definitionOf(guests: readonly GuestSpec[], dns: Record<string, unknown> = {}): Definition {
  const raw = {
    nodes: [
      {
        name: "pve",
        ssh: { host: "10.20.0.2", privateKey: { secret: "nodeSshKey" } },
        storage: [{ id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl", "rootdir", "images", "iso"] }],
      },
    ],
    network: {
      domain: "home.arpa",
      dns: { upstream: ["192.0.2.53"], ...dns },
      bridges: [
        {
          name: "vmbr0",
          subnet: "10.20.0.0/24",
          gateway: "10.20.0.1",
          dns: ["10.20.0.1"],
          pools: [{ name: "guests", range: "10.20.0.100-10.20.0.199" }],
        },
      ],
    },
    templates: [
      { name: "debian", source: { storage: "local", file: "vztmpl/debian-12.tar.zst" } },
      { name: "golden", vmid: 900, parent: "debian", network: [{ ip: "10.20.0.9/24" }] },
    ],
    guests: guests.map((g, i) => ({
      vmid: 1000 + i,
      name: g.name,
      template: i % 2 ? "golden" : "debian",
      network: [{ ip: g.ip }],
      ...(g.nameservers ? { nameservers: g.nameservers } : {}),
    })),
  };
  const shaped = checkShape(raw);
  expect(shaped.problems).toEqual([]);
  return shaped.definition!;
}

const plan = (guests: readonly GuestSpec[], dns?: Record<string, unknown>, previous?: Plan) =>
  buildPlan(validated(definitionOf(guests, dns)), previous ? { previousAllocations: previous.allocations } : {});
const addressOf = (p: Plan, name: string) => p.machines.find((m) => m.name === name)!.network[0]!.ip.split("/")[0];

describe("planDns()", () => {
  const guests: GuestSpec[] = [
    { name: "web", ip: "10.20.0.10/24" },
    { name: "db", ip: "auto" },
    { name: "lease", ip: "dhcp" },
    { name: "Odd.Name", ip: "10.20.0.11/24" },
    { name: "own", ip: "10.20.0.12/24", nameservers: ["192.0.2.1"] },
  ];

  it("names every guest with a DNS-label name and an address, at its planned address, sorted", () => {
    const p = plan(guests, { node: "pve" });
    expect(p.dns).toEqual({
      node: "pve",
      // the node's ssh.host is on the bridge
      listen: "10.20.0.2",
      domain: "home.arpa",
      upstream: ["192.0.2.53"],
      records: [
        { name: "db.home.arpa", address: addressOf(p, "db") },
        { name: "own.home.arpa", address: "10.20.0.12" },
        { name: "web.home.arpa", address: "10.20.0.10" },
      ],
      useInGuests: true,
    });
    expect(addressOf(p, "db")).toMatch(/^10\.20\.0\.1\d\d$/);
  });

  it("points guests without nameservers of their own at it; templates and guests with their own keep theirs", () => {
    const p = plan(guests, { listen: "10.20.0.1" });
    const byName = new Map(p.machines.map((m) => [m.name, m]));
    for (const n of ["web", "db", "lease", "Odd.Name"]) {
      expect(byName.get(n)!.nameservers).toEqual(["10.20.0.1"]);
      expect(byName.get(n)!.searchDomain).toBe("home.arpa");
    }
    expect(byName.get("own")!.nameservers).toEqual(["192.0.2.1"]);
    expect(byName.get("golden")!.nameservers).toEqual(["10.20.0.1"]); // the bridge's dns, as without a DNS server
    const off = plan(guests, { listen: "10.20.0.3", useInGuests: false });
    expect(off.machines.find((m) => m.name === "web")!.nameservers).toEqual(["10.20.0.1"]);
  });

  it("forwards to the listen bridge's dns when no upstream is given, never to itself", () => {
    expect(plan(guests, { listen: "10.20.0.1", upstream: undefined }).dns!.upstream).toEqual([]);
    expect(plan(guests, { listen: "10.20.0.3", upstream: undefined }).dns!.upstream).toEqual(["10.20.0.1"]);
    expect(plan(guests, { listen: "10.20.0.3", upstream: [] }).dns!.upstream).toEqual([]);
  });

  it("names each gateway route at the gateway's address, once when the gateway guest exposes its own name", () => {
    const def = definitionOf([
      { name: "gw", ip: "10.20.0.5/24" },
      { name: "app", ip: "10.20.0.6/24" },
    ]);
    const ix = indexDefinition(def);
    const machines = buildPlan(validated(def)).machines;
    const route = (name: string, guest: string) => ({
      name,
      fqdn: `${name}.home.arpa`,
      guest,
      address: "10.20.0.6",
      port: 8080,
      scheme: "http" as const,
    });
    const gateway: PlannedGateway = {
      guest: "gw",
      vmid: 1000,
      node: "pve",
      address: "10.20.0.5",
      domain: "home.arpa",
      routes: [route("shop", "app"), route("gw", "gw"), route("api", "app")],
      trustedBy: [],
    };
    expect(planDns(ix, machines, gateway)!.records).toEqual([
      { name: "api.home.arpa", address: "10.20.0.5" },
      { name: "app.home.arpa", address: "10.20.0.6" },
      { name: "gw.home.arpa", address: "10.20.0.5" },
      { name: "shop.home.arpa", address: "10.20.0.5" },
    ]);
  });

  it("phoenix plan prints the server and its names", () => {
    const p = plan([{ name: "web", ip: "10.20.0.10/24" }], { listen: "10.20.0.3", upstream: [] });
    expect(renderPlan(p)).toContain(
      "\nDNS: dnsmasq on pve at 10.20.0.3, other names to nowhere; guests resolve through it\n  web.home.arpa  10.20.0.10\n",
    );
  });

  it("plans nothing without network.dns", () => {
    const def = definitionOf([{ name: "web", ip: "auto" }]);
    delete def.network.dns;
    const p = buildPlan(validated(def));
    expect(p.dns).toBeUndefined();
    expect(p.machines.find((m) => m.name === "web")!.nameservers).toEqual(["10.20.0.1"]);
  });
});

// ---------------------------------------------------------------- properties

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** 1..30 guests with unique names (some not DNS labels), static, pool or DHCP addresses. */
const guestsArb: fc.Arbitrary<GuestSpec[]> = fc
  .uniqueArray(
    fc.record({
      name: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}[a-z0-9]$/), fc.stringMatching(/^[A-Z][a-z]{0,4}\.[a-z]{1,4}$/)),
      kind: fc.constantFrom("static", "auto", "auto", "dhcp"),
    }),
    { selector: (g) => g.name.toLowerCase(), minLength: 1, maxLength: 30 },
  )
  .map((specs) => specs.map((s, i) => ({ name: s.name, ip: s.kind === "static" ? `10.20.0.${10 + i}/24` : s.kind })));

const named = (g: GuestSpec) => LABEL.test(g.name) && g.ip !== "dhcp";

describe("planDns() properties", () => {
  it("every named guest has exactly one record, at its planned address; names are unique and sorted", () => {
    fc.assert(
      fc.property(guestsArb, (guests) => {
        const p = plan(guests);
        const records = p.dns!.records;
        const names = records.map((r) => r.name);
        expect(new Set(names).size).toBe(names.length);
        expect([...names].sort()).toEqual(names);
        expect(names).toEqual(
          guests
            .filter(named)
            .map((g) => `${g.name}.home.arpa`)
            .sort(),
        );
        for (const r of records) expect(r.address).toBe(addressOf(p, r.name.split(".")[0]!));
      }),
      { numRuns: 60 },
    );
  });

  it("removing a guest removes its record and changes no other", () => {
    fc.assert(
      fc.property(
        guestsArb.chain((gs) => fc.tuple(fc.constant(gs), fc.nat({ max: gs.length - 1 }))),
        ([guests, k]) => {
          const before = plan(guests);
          const gone = guests[k]!;
          const after = plan(
            guests.filter((_, i) => i !== k),
            {},
            before,
          );
          expect(after.dns!.records).toEqual(before.dns!.records.filter((r) => r.name !== `${gone.name}.home.arpa`));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("is deterministic: the definition's order of guests does not change the records", () => {
    fc.assert(
      fc.property(
        guestsArb.chain((gs) =>
          fc.tuple(fc.constant(gs), fc.shuffledSubarray(gs, { minLength: gs.length, maxLength: gs.length })),
        ),
        ([guests, shuffled]) => {
          const a = plan(guests);
          const b = plan(shuffled, {}, a);
          expect(b.dns).toEqual(a.dns);
        },
      ),
      { numRuns: 40 },
    );
  });
});
