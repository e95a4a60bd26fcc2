// Bad definitions, the definition's shape (definition/load.ts checkShape): unknown fields, types, enums, formats, YAML/JSON syntax.
import { describe, expect, it } from "vitest";
import { parseText } from "../../../definition/load";
import { type Case, base, problemsOf, runCases } from "./support";

const cases: Case[] = [
  {
    name: "unknown field",
    mutate: (d) => (d.guests[0].colour = "blue"),
    expect: [{ path: "guests[0].colour", message: "unknown field 'colour'" }],
  },
  {
    name: "unknown field in a golden template (union reports the closest branch)",
    mutate: (d) => (d.templates[1].colour = "blue"),
    expect: [{ path: "templates[1].colour", message: "unknown field 'colour'" }],
  },
  {
    name: "wrong type",
    mutate: (d) => (d.guests[0].cores = "two"),
    expect: [{ path: "guests[0].cores", message: "expected number, got string" }],
  },
  {
    name: "wrong enum value",
    mutate: (d) => (d.guests[0].type = "container"),
    expect: [{ path: "guests[0].type", message: 'must be one of "lxc", "vm"' }],
  },
  {
    name: "missing required field",
    mutate: (d) => delete d.guests[0].template,
    expect: [{ path: "guests[0].template", message: "missing required field (expected string)" }],
  },
  {
    name: "bad CIDR text (subnet)",
    mutate: (d) => (d.network.bridges[0].subnet = "10.100.0/24"),
    expect: [{ path: "network.bridges[0].subnet", message: "an IPv4 CIDR such as 10.0.0.5/24" }],
  },
  {
    name: "bad CIDR text (guest ip)",
    mutate: (d) => (d.guests[1].network[0].ip = "10.100.0.5"),
    expect: [
      { path: "guests[1].network[0].ip", message: 'expected a static CIDR such as 10.0.0.5/24, "auto" (from a pool) or "dhcp"' },
    ],
  },
  {
    name: "CIDR with an octet above 255",
    mutate: (d) => (d.guests[0].network[0].ip = "10.100.0.300/24"),
    expect: [{ path: "guests[0].network[0].ip", message: "'10.100.0.300/24' is not a valid IPv4 CIDR" }],
  },
  {
    name: "vlan out of range",
    mutate: (d) => (d.guests[1].network[0].vlan = 5000),
    expect: [{ path: "guests[1].network[0].vlan", message: "Too big: expected number to be <=4094" }],
  },
  {
    name: "a firewall log level pve-firewall does not have",
    mutate: (d) => (d.guests[0].firewall = { logLevelIn: "verbose", rules: [{ action: "ACCEPT", macro: "SSH", log: "loud" }] }),
    expect: [
      {
        path: "guests[0].firewall.logLevelIn",
        message: 'must be one of "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "nolog"',
      },
      {
        path: "guests[0].firewall.rules[0].log",
        message: 'must be one of "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "nolog"',
      },
    ],
  },
  { name: "no nodes", mutate: (d) => (d.nodes = []), expect: [{ path: "nodes", message: "declare at least one Proxmox node" }] },
];

describe("bad definitions: shape", () => runCases(cases, 10));

describe("YAML syntax errors", () => {
  it("parseText reports a syntax error for the whole file, with its line", () => {
    const text = ["version: 1", "nodes:", "  - name: lab", "    cores: [1, 2", "network: {}", ""].join("\n");
    const { raw, problems } = parseText(text, "broken.yaml");
    expect(raw).toBeUndefined();
    expect(problems.length).toBeGreaterThan(0);
    expect(problems).toContainEqual(
      expect.objectContaining({
        severity: "error",
        path: "",
        message:
          "not valid YAML at line 5, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]",
      }),
    );
    for (const p of problems) expect(p.message).toMatch(/^not valid YAML at line \d+, column \d+: /);
  });

  it("a .json file is parsed as JSON", () => {
    const { problems } = parseText("{ nodes: [] }", "stack.json");
    expect(problems).toEqual([
      expect.objectContaining({ severity: "error", path: "", message: expect.stringMatching(/^not valid JSON: /) }),
    ]);
  });
});

describe("every mistake at once", () => {
  it("reports every shape mistake in one run", () => {
    const raw = base();
    raw.guests[0].colour = "blue";
    raw.guests[1].cores = "two";
    delete raw.guests[1].template;
    raw.network.bridges[0].subnet = "10.100.0/24";
    raw.nodes[0].gpus[0].pci = "01:00";
    const problems = problemsOf(raw);
    expect(problems.map((p) => `${p.path}: ${p.message}`).sort()).toEqual(
      [
        "guests[0].colour: unknown field 'colour'",
        "guests[1].cores: expected number, got string",
        "guests[1].template: missing required field (expected string)",
        "network.bridges[0].subnet: an IPv4 CIDR such as 10.0.0.5/24",
        "nodes[0].gpus[0].pci: a PCI address such as 0000:01:00.0",
      ].sort(),
    );
  });
});
