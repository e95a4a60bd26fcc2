// Example tests of the firewall plan (plan/firewall.ts): a definition's firewall as the components receive it.
import { describe, expect, it } from "vitest";
import { checkShape } from "../../definition/load";
import { buildPlan } from "../../plan/plan";
import type { PlannedFirewall } from "../../plan/firewall";
import { validated } from "../../validate";
import { type Raw, base } from "./validate/support";

/** The validate tests' base: portainer (10.100.0.10, docker) and data (pool-allocated), here both firewalled. */
function definition(): Raw {
  const d = base();
  d.firewall = {
    policyIn: "DROP",
    aliases: [{ name: "admins", cidr: "192.168.1.0/24", comment: "the admins' LAN" }],
    ipsets: [{ name: "trusted", cidrs: [{ cidr: "10.100.0.0/24" }, { cidr: "10.100.0.66", nomatch: true }] }],
    groups: [{ name: "web", rules: [{ action: "ACCEPT", macro: "HTTPS", source: "data" }] }],
    rules: [{ action: "ACCEPT", macro: "SSH", source: "admins" }],
  };
  for (const g of d.guests) g.network[0].firewall = true;
  d.guests[0].firewall = {
    logLevelOut: "warning",
    rules: [
      { action: "ACCEPT", proto: "tcp", dport: "9443", source: "data", comment: "the UI from data" },
      { group: "web" },
      { action: "DROP", source: "+trusted", dest: "10.100.0.10,data" },
    ],
  };
  d.guests[1].firewall = { policyIn: "REJECT", rules: [] };
  d.apps = [
    {
      name: "site",
      compose: "apps/site/compose.yaml",
      guests: ["portainer"],
      firewall: [{ action: "ACCEPT", proto: "tcp", dport: "8080", source: "admins" }],
      expose: [{ name: "site", port: 8080 }],
    },
  ];
  return d;
}

function firewallOf(raw: Raw): PlannedFirewall | undefined {
  const shaped = checkShape(raw);
  expect(shaped.problems).toEqual([]);
  return buildPlan(validated(shaped.definition!)).firewall;
}

/** data's address: allocated from the pool (10.100.0.100-199), as the plan has it. */
const DATA = buildPlan(validated(checkShape(definition()).definition!))
  .machines.find((m) => m.name === "data")!
  .network[0]!.ip.split("/")[0]!;

describe("planFirewall", () => {
  it("plans nothing for a definition without a firewall", () => {
    expect(firewallOf(base())).toBeUndefined();
  });

  it("plans the datacenter's options, rules, groups, aliases and IP sets as declared", () => {
    const fw = firewallOf(definition())!;
    expect(fw.datacenter).toEqual({
      enable: true,
      policyIn: "DROP",
      policyOut: "ACCEPT",
      rules: [{ type: "in", action: "ACCEPT", macro: "SSH", source: "admins", enable: true }],
    });
    expect(fw.groups).toEqual([
      { name: "web", rules: [{ type: "in", action: "ACCEPT", macro: "HTTPS", source: DATA, enable: true }] },
    ]);
    expect(fw.aliases).toEqual([{ name: "admins", cidr: "192.168.1.0/24", comment: "the admins' LAN" }]);
    expect(fw.ipsets).toEqual([
      {
        name: "trusted",
        cidrs: [
          { cidr: "10.100.0.0/24", nomatch: false },
          { cidr: "10.100.0.66", nomatch: true },
        ],
      },
    ]);
  });

  it("gives a guest its options, its own rules, then its apps' rules, guest names resolved", () => {
    const fw = firewallOf(definition())!;
    const portainer = fw.guests.find((g) => g.guest === "portainer")!;
    expect(portainer).toMatchObject({ vmid: 200, node: "lab", type: "lxc" });
    expect(portainer.options).toEqual({
      enable: true,
      policyIn: "DROP",
      policyOut: "ACCEPT",
      macfilter: true,
      ipfilter: false,
      dhcp: true,
      logLevelIn: "nolog",
      logLevelOut: "warning",
    });
    expect(portainer.rules).toEqual([
      { type: "in", action: "ACCEPT", proto: "tcp", dport: "9443", source: DATA, enable: true, comment: "the UI from data" },
      { type: "group", action: "web", enable: true },
      { type: "in", action: "DROP", source: "+trusted", dest: `10.100.0.10,${DATA}`, enable: true },
      { type: "in", action: "ACCEPT", proto: "tcp", dport: "8080", source: "admins", enable: true },
    ]);
    expect(fw.guests.find((g) => g.guest === "data")!.options.policyIn).toBe("REJECT");
  });

  it("opens each exposed port from the gateway, and HTTPS on the gateway's guest", () => {
    const d = definition();
    d.gateway = { guest: "data" };
    d.guests[0].expose = [{ name: "portainer", port: 9443, scheme: "https" }];
    const fw = firewallOf(d)!;
    const portainer = fw.guests.find((g) => g.guest === "portainer")!;
    expect(portainer.rules.slice(4)).toEqual([
      // 9443 from data is the user's first rule already: not added again; the app's 8080 is.
      {
        type: "in",
        action: "ACCEPT",
        proto: "tcp",
        dport: "8080",
        source: DATA,
        enable: true,
        comment: "phoenix: exposed through the gateway",
      },
    ]);
    expect(fw.guests.find((g) => g.guest === "data")!.rules).toEqual([
      { type: "in", action: "ACCEPT", proto: "tcp", dport: "443", enable: true, comment: "phoenix: the gateway's HTTPS" },
    ]);
  });

  it("adds no service rule without a gateway, and none for a guest without a firewall", () => {
    const d = definition();
    d.guests[0].expose = [{ name: "portainer", port: 9443 }];
    expect(firewallOf(d)!.guests.find((g) => g.guest === "portainer")!.rules).toHaveLength(4);
    d.gateway = { guest: "portainer" };
    delete d.guests[1].firewall;
    d.guests[1].expose = [{ name: "data", port: 8000 }];
    const fw = firewallOf(d)!;
    expect(fw.guests.map((g) => g.guest)).toEqual(["portainer"]);
  });

  it("opens the internal DNS server on its node: DNS to its address from the bridges' subnets, after the user's rules", () => {
    const d = definition();
    d.network.domain = "lab.internal";
    d.network.dns = { listen: "10.100.0.1" };
    d.network.bridges.push({ name: "vmbr1", subnet: "10.101.0.0/24" });
    const rules = firewallOf(d)!.datacenter!.rules;
    const dns = (proto: string) => ({
      type: "in",
      action: "ACCEPT",
      proto,
      dport: "53",
      source: "10.100.0.0/24,10.101.0.0/24",
      dest: "10.100.0.1",
      enable: true,
      comment: "phoenix: the internal DNS server",
    });
    expect(rules).toEqual([
      { type: "in", action: "ACCEPT", macro: "SSH", source: "admins", enable: true },
      dns("udp"),
      dns("tcp"),
    ]);
    // the same rule written by the user (turned off, say) is not added again
    d.firewall.rules.push({
      action: "ACCEPT",
      proto: "udp",
      dport: "53",
      source: "10.100.0.0/24,10.101.0.0/24",
      dest: "10.100.0.1",
      enable: false,
    });
    expect(firewallOf(d)!.datacenter!.rules.map((r) => [r.proto, r.enable])).toEqual([
      [undefined, true],
      ["udp", false],
      ["tcp", true],
    ]);
    // no DNS server, no such rule
    delete d.network.dns;
    expect(firewallOf(d)!.datacenter!.rules.filter((r) => r.dport === "53")).toEqual([
      expect.objectContaining({ proto: "udp", enable: false }),
    ]);
  });

  it("leaves the datacenter alone when only guests have a firewall", () => {
    const d = definition();
    delete d.firewall;
    d.apps[0].firewall = [];
    d.guests[0].firewall.rules = [{ action: "ACCEPT", macro: "SSH", source: "data" }];
    const fw = firewallOf(d)!;
    expect(fw.datacenter).toBeUndefined();
    expect(fw.guests[0]!.rules[0]!.source).toBe(DATA);
  });
});
