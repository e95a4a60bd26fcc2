// Bad definitions, the firewall (validate/firewall.ts, validate/firewall-rules.ts): each check with its path and fix,
// and nothing reported at any other path; a full, valid firewall reports nothing.
import { describe, expect, it } from "vitest";
import { checkShape } from "../../../definition/load";
import type { Problem } from "../../../definition/problems";
import { indexDefinition } from "../../../definition/resolve";
import { checkFirewall } from "../../../validate/firewall";
import { type Raw, base } from "./support";
import { validate } from "../../../validate";

/** The base definition with a datacenter firewall and guests[0] (portainer) firewalled on its one interface. */
function firewalled(): Raw {
  const d = base();
  d.firewall = {
    aliases: [{ name: "admins", cidr: "192.168.1.0/24" }],
    ipsets: [{ name: "trusted", cidrs: [{ cidr: "10.100.0.0/24" }] }],
    groups: [{ name: "web", rules: [{ action: "ACCEPT", macro: "HTTPS" }] }],
    rules: [{ action: "ACCEPT", macro: "SSH", source: "admins" }],
  };
  d.guests[0].network[0].firewall = true;
  d.guests[0].firewall = { rules: [{ action: "ACCEPT", proto: "tcp", dport: "9443", source: "data" }] };
  d.apps = [{ name: "web", compose: "apps/web/compose.yaml", guests: ["portainer"], firewall: [] }];
  return d;
}

function firewallProblems(raw: Raw): Problem[] {
  const shaped = checkShape(raw);
  expect(shaped.problems).toEqual([]);
  return checkFirewall(indexDefinition(shaped.definition!));
}

const guestRule = (d: Raw, rule: Raw) => (d.guests[0].firewall.rules = [rule]);

const cases: { name: string; mutate: (d: Raw) => void; expect: Omit<Problem, "fix">[] }[] = [
  {
    name: "a port above 65535",
    mutate: (d) => guestRule(d, { action: "ACCEPT", proto: "tcp", dport: "80,70000" }),
    expect: [{ severity: "error", path: "guests[0].firewall.rules[0].dport", message: "port 70000 is outside 1-65535" }],
  },
  {
    name: "port 0",
    mutate: (d) => guestRule(d, { action: "ACCEPT", proto: "udp", sport: "0" }),
    expect: [{ severity: "error", path: "guests[0].firewall.rules[0].sport", message: "port 0 is outside 1-65535" }],
  },
  {
    name: "a range that runs backwards",
    mutate: (d) => guestRule(d, { action: "ACCEPT", proto: "tcp", dport: "9000:8000" }),
    expect: [{ severity: "error", path: "guests[0].firewall.rules[0].dport", message: "range 9000:8000 runs backwards" }],
  },
  {
    name: "ports without a protocol",
    mutate: (d) => guestRule(d, { action: "ACCEPT", dport: "22" }),
    expect: [
      {
        severity: "error",
        path: "guests[0].firewall.rules[0].dport",
        message: "ports need a protocol that has them (no proto is set)",
      },
    ],
  },
  {
    name: "ports with icmp",
    mutate: (d) => guestRule(d, { action: "ACCEPT", proto: "icmp", dport: "8" }),
    expect: [
      {
        severity: "error",
        path: "guests[0].firewall.rules[0].dport",
        message: "ports need a protocol that has them (proto is icmp)",
      },
    ],
  },
  {
    name: "a macro Proxmox does not have",
    mutate: (d) => guestRule(d, { action: "ACCEPT", macro: "Kubernetes" }),
    expect: [{ severity: "error", path: "guests[0].firewall.rules[0].macro", message: "Proxmox has no macro 'Kubernetes'" }],
  },
  {
    name: "a macro in another spelling than Proxmox's",
    mutate: (d) => guestRule(d, { action: "ACCEPT", macro: "ssh" }),
    expect: [
      {
        severity: "error",
        path: "guests[0].firewall.rules[0].macro",
        message: "Proxmox stores this macro as 'SSH' (a diff on every refresh)",
      },
    ],
  },
  {
    name: "an unknown security group",
    mutate: (d) => guestRule(d, { group: "db" }),
    expect: [{ severity: "error", path: "guests[0].firewall.rules[0].group", message: "no security group 'db'" }],
  },
  {
    name: "an unknown IP set",
    mutate: (d) => guestRule(d, { action: "DROP", source: "+blocked" }),
    expect: [{ severity: "error", path: "guests[0].firewall.rules[0].source", message: "no IP set 'blocked'" }],
  },
  {
    name: "a name that is no alias, IP set or guest",
    mutate: (d) => guestRule(d, { action: "ACCEPT", dest: "nobody" }),
    expect: [{ severity: "error", path: "guests[0].firewall.rules[0].dest", message: "'nobody' is no alias, IP set or guest" }],
  },
  {
    name: "a guest whose address is dhcp",
    mutate: (d) => {
      d.guests[1].network[0].ip = "dhcp";
      guestRule(d, { action: "ACCEPT", source: "data" });
    },
    expect: [
      {
        severity: "error",
        path: "guests[0].firewall.rules[0].source",
        message: "guest 'data' has no planned address (its first interface uses dhcp)",
      },
    ],
  },
  {
    name: "a template named as a source",
    mutate: (d) => guestRule(d, { action: "ACCEPT", source: "docker-golden" }),
    expect: [
      {
        severity: "error",
        path: "guests[0].firewall.rules[0].source",
        message: "'docker-golden' is a template: it runs nowhere, it has no address",
      },
    ],
  },
  {
    name: "an alias inside a list",
    mutate: (d) => guestRule(d, { action: "ACCEPT", source: "10.0.0.1,admins" }),
    expect: [
      {
        severity: "error",
        path: "guests[0].firewall.rules[0].source",
        message: "an alias stands alone in Proxmox, not in a list",
      },
    ],
  },
  {
    name: "an address that is not one",
    mutate: (d) => guestRule(d, { action: "ACCEPT", source: "10.0.0.300" }),
    expect: [
      {
        severity: "error",
        path: "guests[0].firewall.rules[0].source",
        message: "'10.0.0.300' is not an IPv4 address, CIDR or range",
      },
    ],
  },
  {
    name: "the same rule twice (comments aside)",
    mutate: (d) =>
      (d.firewall.rules = [
        { action: "ACCEPT", macro: "SSH", source: "admins", comment: "one" },
        { action: "ACCEPT", macro: "SSH", source: "admins", comment: "two" },
      ]),
    expect: [{ severity: "error", path: "firewall.rules[1]", message: "the same rule as firewall.rules[0]" }],
  },
  {
    name: "a guest firewall with no firewalled interface",
    mutate: (d) => (d.guests[0].network[0].firewall = false),
    expect: [
      {
        severity: "error",
        path: "guests[0].firewall",
        message: "no interface of guest 'portainer' has firewall: true: Proxmox would apply none of this firewall",
      },
    ],
  },
  {
    name: "iface naming an interface the guest lacks",
    mutate: (d) => guestRule(d, { action: "ACCEPT", macro: "HTTP", iface: "net2" }),
    expect: [
      {
        severity: "error",
        path: "guests[0].firewall.rules[0].iface",
        message: "guest 'portainer' has no net2 (it has 1 interface(s))",
      },
    ],
  },
  {
    name: "app rules on an app whose guests have no firewall",
    mutate: (d) => {
      d.apps[0].guests = ["data"];
      d.apps[0].firewall = [{ action: "ACCEPT", proto: "tcp", dport: "8080" }];
    },
    expect: [
      {
        severity: "error",
        path: "apps[0].firewall",
        message: "none of the app's guests (data) has a firewall: its rules would apply nowhere",
      },
    ],
  },
  {
    name: "an app rule the guest has already",
    mutate: (d) => (d.apps[0].firewall = [{ action: "ACCEPT", proto: "tcp", dport: "9443", source: "data" }]),
    expect: [{ severity: "warning", path: "apps[0].firewall[0]", message: "guest 'portainer' has this rule already" }],
  },
  {
    name: "two aliases of one name",
    mutate: (d) => d.firewall.aliases.push({ name: "admins", cidr: "10.0.0.0/8" }),
    expect: [{ severity: "error", path: "firewall.aliases[1].name", message: "a second alias 'admins'" }],
  },
  {
    name: "guest firewalls without the datacenter's",
    mutate: (d) => delete d.firewall && (d.guests[0].firewall.rules = []),
    expect: [
      {
        severity: "warning",
        path: "firewall",
        message: "the datacenter's firewall is not declared: guests' firewalls apply only if it is on in Proxmox",
      },
    ],
  },
  {
    name: "the datacenter's firewall turned off",
    mutate: (d) => (d.firewall.enable = false),
    expect: [
      {
        severity: "warning",
        path: "firewall.enable",
        message: "the datacenter's firewall is off: Proxmox applies no guest's firewall then",
      },
    ],
  },
];

describe("firewall checks", () => {
  it("a full, valid firewall reports nothing", () => {
    expect(firewallProblems(firewalled())).toEqual([]);
  });

  it.each(cases)("$name", ({ mutate, expect: expected }) => {
    const raw = firewalled();
    mutate(raw);
    const problems = firewallProblems(raw);
    expect(problems.map(({ fix: _fix, ...p }) => p)).toEqual(expected);
    for (const p of problems) expect(p.fix, p.message).toBeTruthy();
  });

  it("refuses a firewall on a template (it never runs: only guests have one)", () => {
    const raw = firewalled();
    raw.templates[1].firewall = { rules: [] };
    expect(checkShape(raw).problems).toEqual([
      expect.objectContaining({ severity: "error", path: "templates[1].firewall", message: "unknown field 'firewall'" }),
    ]);
  });

  it("runs as part of validate()", () => {
    const raw = firewalled();
    guestRule(raw, { action: "ACCEPT", macro: "Nope" });
    delete raw.apps;
    const problems = validate(checkShape(raw).definition!);
    expect(problems).toContainEqual(expect.objectContaining({ path: "guests[0].firewall.rules[0].macro", severity: "error" }));
  });
});
