// The firewall in the resource graph under Pulumi's unit-test mocks (wiring only; test/e2e/firewall runs it on the lab):
// the datacenter's aliases, IP sets and groups before its rules, its options last; each guest's rules after its machine
// and its options after its rules, with the provider's own field names and the guest's node and id.
import { mkdtempSync, writeFileSync, cpSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { buildPlan } from "../../plan/plan";
import { loadDefinition } from "../../validate";
import { type Registered, installRecordingMocks, settle } from "../support/pulumi-mocks";

const ROOT = join(__dirname, "..", "..");
let records: Registered[];
const one = (type: string, name: string) => {
  const r = records.find((x) => x.type === `proxmoxve:${type}` && x.name === name);
  if (!r) throw new Error(`no ${type} ${name}; have ${records.map((x) => `${x.type} ${x.name}`).join(", ")}`);
  return r;
};
const named = (urns: string[]) => urns.map((u) => u.split("::").pop()).sort();

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "phoenix-components-firewall-"));
  cpSync(join(ROOT, "stacks", "apps"), join(dir, "apps"), { recursive: true });
  const d = parse(readFileSync(join(ROOT, "stacks", "dev.yaml"), "utf8"));
  d.firewall = {
    aliases: [{ name: "admins", cidr: "192.168.1.0/24" }],
    ipsets: [{ name: "trusted", cidrs: [{ cidr: "10.100.0.0/24" }] }],
    groups: [{ name: "web", rules: [{ action: "ACCEPT", macro: "HTTPS" }] }],
    rules: [{ action: "ACCEPT", macro: "SSH", source: "admins" }],
  };
  d.guests[0].network[0].firewall = true;
  d.guests[0].firewall = {
    logLevelIn: "info",
    rules: [
      { action: "ACCEPT", proto: "tcp", dport: "9443", source: "data", comment: "UI from data" },
      { group: "web", iface: "net0" },
    ],
  };
  writeFileSync(join(dir, "dev.yaml"), stringify(d));
  records = await installRecordingMocks("dev");
  const { PhoenixHypervisor } = await import("../../components/phoenix-hypervisor");
  const pulumi = await import("@pulumi/pulumi");
  const def = loadDefinition(join(dir, "dev.yaml")).definition!;
  new PhoenixHypervisor("dev", { plan: buildPlan(def), secret: (n) => pulumi.secret(`value-of-${n}`), definitionDir: dir });
  await settle(records);
  // The whole graph of dev.yaml: seconds on a busy machine.
}, 60_000);

describe("the firewall in the resource graph", () => {
  it("the datacenter's objects, then its rules, then its options, under one component with the node's provider", () => {
    const component = records.find((r) => r.type === "phoenix:index:DatacenterFirewall")!;
    const alias = one("firewall/aliasLegacy:AliasLegacy", "alias-admins");
    const ipset = one("firewall/ipsetLegacy:IpsetLegacy", "ipset-trusted");
    const group = one("cluster/firewall/security/groupLegacy:GroupLegacy", "group-web");
    const rules = one("firewall/rulesLegacy:RulesLegacy", "datacenter-firewall-rules");
    const options = one("cluster/firewallLegacy:FirewallLegacy", "datacenter-firewall-options");
    for (const r of [alias, ipset, group, rules, options]) {
      expect(r.parent).toBe(component.urn);
      expect(r.provider).toContain("pulumi:providers:proxmoxve::lab::");
    }
    expect(alias.inputs).toEqual({ name: "admins", cidr: "192.168.1.0/24" });
    expect(ipset.inputs).toEqual({ name: "trusted", cidrs: [{ name: "10.100.0.0/24", nomatch: false }] });
    expect(group.inputs).toEqual({ name: "web", rules: [{ type: "in", action: "ACCEPT", macro: "HTTPS", enabled: true }] });
    expect(named(group.dependencies)).toEqual(["alias-admins", "ipset-trusted"]);
    // cluster level: no node, no guest
    // the user's rule, then DNS to the node's internal DNS server (the definition has one)
    const dns = (proto: string) => ({
      type: "in",
      action: "ACCEPT",
      proto,
      dport: "53",
      source: "10.100.0.0/24",
      dest: "10.100.0.1",
      enabled: true,
      comment: "phoenix: the internal DNS server",
    });
    expect(rules.inputs).toEqual({
      rules: [{ type: "in", action: "ACCEPT", macro: "SSH", source: "admins", enabled: true }, dns("udp"), dns("tcp")],
    });
    expect(named(rules.dependencies)).toEqual(["alias-admins", "group-web", "ipset-trusted"]);
    expect(options.inputs).toEqual({ enabled: true, inputPolicy: "DROP", outputPolicy: "ACCEPT" });
    expect(named(options.dependencies)).toContain("datacenter-firewall-rules");
  });

  it("a guest's rules after its machine and the datacenter's objects, its options after its rules", () => {
    const component = records.find((r) => r.type === "phoenix:index:GuestFirewall" && r.name === "portainer-firewall")!;
    const rules = one("firewall/rulesLegacy:RulesLegacy", "portainer-firewall-rules");
    const options = one("firewall/optionsLegacy:OptionsLegacy", "portainer-firewall-options");
    expect(rules.parent).toBe(component.urn);
    expect(options.parent).toBe(component.urn);
    expect(rules.inputs).toEqual({
      nodeName: "lab",
      containerId: 200,
      rules: [
        // data's planned address (from its pool), not its name
        {
          type: "in",
          action: "ACCEPT",
          proto: "tcp",
          dport: "9443",
          source: expect.stringMatching(/^10\.100\.0\.1\d\d$/),
          enabled: true,
          comment: "UI from data",
        },
        { securityGroup: "web", iface: "net0", enabled: true },
        // dev.yaml's gateway runs in this guest: what it exposes opens to the gateway's address, and 443 to all
        ...[9443, 8080].map((port) => ({
          type: "in",
          action: "ACCEPT",
          proto: "tcp",
          dport: String(port),
          source: "10.100.0.10",
          enabled: true,
          comment: "phoenix: exposed through the gateway",
        })),
        { type: "in", action: "ACCEPT", proto: "tcp", dport: "443", enabled: true, comment: "phoenix: the gateway's HTTPS" },
      ],
    });
    const container = records.find(
      (r) => r.type === "proxmoxve:index/containerLegacy:ContainerLegacy" && r.name === "portainer",
    )!;
    expect(rules.dependencies).toContain(container.urn);
    expect(named(rules.dependencies)).toEqual(expect.arrayContaining(["alias-admins", "group-web", "ipset-trusted"]));
    expect(options.dependencies).toContain(rules.urn);
    expect(options.inputs).toEqual({
      nodeName: "lab",
      containerId: 200,
      enabled: true,
      inputPolicy: "DROP",
      outputPolicy: "ACCEPT",
      macfilter: true,
      ipfilter: false,
      dhcp: true,
      logLevelIn: "info",
      logLevelOut: "nolog",
    });
  });

  it("no firewall for a guest without one", () => {
    expect(records.some((r) => r.type === "phoenix:index:GuestFirewall" && r.name === "data-firewall")).toBe(false);
  });
});
