// phoenix import of the original's firewall: guests' blocks → guests[].firewall, the global set split between the
// datacenter (the node's rules) and the guests it was about, addresses → guest names, and hostile rules reported.
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { importPhoenix, readJson, readStackDir } from "../../cli/import";
import { Addresses, readRule } from "../../cli/import/firewall";
import { Reader, Warnings } from "../../cli/import/reader";
import { checkShape } from "../../definition/load";
import { FirewallRule } from "../../definition/network-services-schema";
import { buildPlan } from "../../plan/plan";
import { validate, validated } from "../../validate";
import type { Definition } from "../../definition/schema";

const REF = join(__dirname, "..", "..", "..", "shared", "phoenix-reference");
const ref = (f: string) => ({ file: join(REF, f), json: readJson(join(REF, f)) });

function importRef(edit?: (h: any, l: any, v: any) => void, stacks = false) {
  const h = ref("phoenix_hypervisor_config.json");
  const l = ref("phoenix_lxc_configs.json");
  const v = ref("phoenix_vm_configs.json");
  edit?.(h.json, l.json, v.json);
  return importPhoenix({
    hypervisor: h,
    lxc: l,
    vm: v,
    ...(stacks ? { stacks: { stacks: readStackDir(join(REF, "stacks")), config: ref("phoenix_stacks_config.json") } } : {}),
  });
}
const guestOf = (r: ReturnType<typeof importRef>, name: string) => r.definition.guests!.find((g) => g.name === name)!;
const said = (r: ReturnType<typeof importRef>, re: RegExp) =>
  r.warnings.filter((w) => re.test(`${w.where} :: ${w.message} ${w.fix ?? ""}`));

describe("import of the reference configs' firewall", () => {
  const r = importRef(undefined, true);

  it("turns each guest's block into its own firewall, rules in Proxmox's names, and opts its interfaces in", () => {
    const g = guestOf(r, "granite-embedding");
    expect(g.firewall).toEqual({
      enable: true,
      rules: [
        {
          type: "in",
          action: "ACCEPT",
          proto: "tcp",
          dport: "8000",
          source: "Traefik-Internal",
          comment: "Allow Traefik to access granite-embedding",
        },
      ],
    });
    expect(g.network!.map((n) => n.firewall)).toEqual([true]);
    expect(r.definition.guests!.filter((x) => x.firewall).length).toBe(9);
  });

  it("names imported guests in rules and keeps the node's and other addresses as they are", () => {
    const rules = guestOf(r, "Nginx-Phoenix").firewall!.rules as any[];
    expect(rules.map((x) => x.source ?? x.dest)).toEqual([
      "Portainer",
      "10.0.0.13",
      "Traefik-Internal",
      "Step-CA",
      "Step-CA",
      "10.0.0.13",
    ]);
    expect(said(r, /is the address of no imported guest/)).toEqual([]);
  });

  it("drops repeated rules (the comment aside) and says which", () => {
    expect((guestOf(r, "Step-CA").firewall!.rules as any[]).filter((x) => x.dport === "80")).toHaveLength(1);
    expect(
      said(r, /lxc_configs\.103\.firewall\.rules :: rule [23] \('Allow Step-CA to perform ACME http-01.*repeats rule 1; dropped/),
    ).toHaveLength(2);
    expect(
      said(r, /lxc_configs\.101\.firewall\.rules :: rule 3 \('Allow Nginx to proxy ACME challenges to Traefik'\) repeats rule 2/),
    ).toHaveLength(1);
    expect(said(r, /vms\[2\]\.firewall\.rules :: rule 2 .* repeats rule 1/)).toHaveLength(1);
  });

  it("keeps the node's rules and policy in the datacenter's firewall and moves 80/443 to the gateway's guest", () => {
    const fw = r.definition.firewall!;
    expect([fw.enable, fw.policyIn, fw.policyOut]).toEqual([true, "DROP", "ACCEPT"]);
    expect((fw.rules as any[]).map((x) => [x.type, x.proto, x.dport, x.dest])).toEqual([
      ["in", "udp", "53", "10.0.0.13"],
      ["in", "tcp", "53", "10.0.0.13"],
      ["in", "tcp", "2049", "10.0.0.13"],
      ["out", "tcp", "443", "Nginx-Phoenix"],
    ]);
    const gw = guestOf(r, "Traefik-Internal").firewall!.rules as any[];
    expect(gw.filter((x) => x.dport === "80" || x.dport === "443").filter((x) => !x.source)).toEqual([
      { type: "in", action: "ACCEPT", proto: "tcp", dport: "80", comment: "Allow HTTP for ACME challenges to Nginx" },
      { type: "in", action: "ACCEPT", proto: "tcp", dport: "443", comment: "Allow external HTTPS traffic to the Nginx gateway" },
    ]);
    expect(
      said(
        r,
        /global_firewall_rules\[[01]\] :: rule .* moved to guest 'Traefik-Internal''s firewall .* where Proxmox applies it to the node/,
      ),
    ).toHaveLength(2);
  });

  it("puts the stacks' rules on their apps, and Portainer's own stack's on the server's guest", () => {
    const app = r.definition.apps!.find((a) => a.name === "thinkheads_ai_app")!;
    expect(app.firewall).toEqual([
      { type: "in", action: "ACCEPT", proto: "tcp", dport: "8000", comment: "Allow access to Thinkheads.AI App" },
    ]);
    const portainer = guestOf(r, "Portainer").firewall!.rules as any[];
    expect(portainer.filter((x) => x.dport === "9443" && x.type === "in").map((x) => x.source)).toEqual([
      "Traefik-Internal",
      "10.0.0.13",
    ]);
    expect(
      said(r, /portainer_service.*added to the firewall of Portainer, whose portainer feature runs the server/),
    ).toHaveLength(1);
  });

  it("reports a template's rules, the guests now filtered, and VMs whose firewall accepts no SSH", () => {
    expect(said(r, /lxc_configs\.900\.firewall :: not mapped: a template has no firewall/)).toHaveLength(1);
    expect(said(r, /guests Nginx-Phoenix, .*drphoenix get their own firewall with policy_in DROP/)).toHaveLength(1);
    expect(said(r, /VM '(Portainer|drphoenix)' is provisioned over SSH, and its imported firewall accepts no SSH/)).toHaveLength(
      2,
    );
  });

  it("shape-checks, validates with only the host access the operator must allow, and plans", () => {
    const s = checkShape(JSON.parse(JSON.stringify(importRef().definition)));
    expect(s.problems).toEqual([]);
    const errors = validate(s.definition!).filter((p) => p.severity === "error");
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^lxc.mount.auto gives 'Nginx-Phoenix' host filesystem/),
    ]);
    const d = JSON.parse(JSON.stringify(s.definition)) as Definition;
    d.guests.find((g) => g.name === "Nginx-Phoenix")!.allowHostAccess = { reason: "test" };
    expect(buildPlan(validated(d)).machines.length).toBeGreaterThan(0);
  });
});

describe("import of hostile and historical firewall configs", () => {
  it("moves a global rule into a guest (its dest) and merges it with that guest's own, once", () => {
    const r = importRef((h) => {
      h.shared_volumes.firewall.global_firewall_rules.push(
        { type: "in", action: "ACCEPT", source: "10.0.0.12", dest: "10.0.0.141", proto: "tcp", port: "8000", comment: "dup" },
        { type: "in", action: "ACCEPT", source: "10.0.0.13", dest: "10.0.0.141", proto: "tcp", port: "9100", comment: "metrics" },
      );
    });
    expect((guestOf(r, "granite-embedding").firewall!.rules as any[]).map((x) => [x.dport, x.source, x.dest])).toEqual([
      ["8000", "Traefik-Internal", undefined],
      ["9100", "10.0.0.13", undefined],
    ]);
    expect(said(r, /rule 'metrics' moved to guest 'granite-embedding''s firewall \(its dest\)/)).toHaveLength(1);
    expect(said(r, /lxc_configs\.801\.firewall\.rules :: rule 1 \('dup'\) repeats rule 0; dropped/)).toHaveLength(1);
  });

  it("reports unknown rule keys, bad rules and unknown addresses, and keeps what it can", () => {
    const r = importRef((_h, l) => {
      l.lxc_configs["801"].firewall.rules = [
        { type: "in", action: "accept", proto: "tcp", port: "8000-8010", source: "10.0.0.99", priority: 5 },
        { type: "forward", action: "ACCEPT" },
        { type: "in", proto: "tcp", port: "22" },
        { type: "in", action: "ACCEPT", port: "9000" },
        { type: "in", action: "ACCEPT", proto: "tcp", port: "http" },
        { action: "DROP", proto: "udp", enabled: false },
        "not a rule",
      ];
    });
    expect(guestOf(r, "granite-embedding").firewall!.rules).toEqual([
      { type: "in", action: "ACCEPT", proto: "tcp", dport: "8000:8010", source: "10.0.0.99" },
      { type: "in", action: "ACCEPT", proto: "tcp", dport: "9000" },
      { type: "in", action: "DROP", proto: "udp", enable: false },
    ]);
    for (const re of [
      /801\.firewall\.rules\[0\]\.priority :: not mapped: unknown field/,
      /801\.firewall\.rules\[0\]\.source :: 10\.0\.0\.99 is the address of no imported guest nor of the node; kept/,
      /801\.firewall\.rules\[1\] :: rule not imported: type 'forward' is neither in nor out/,
      /801\.firewall\.rules\[2\] :: rule not imported: action '' is not ACCEPT, DROP or REJECT/,
      /801\.firewall\.rules\[3\] :: a port without a protocol .* imported as proto tcp/,
      /801\.firewall\.rules\[4\]\.dport :: rule not imported: a port \(443\)/,
      /801\.firewall\.rules\[6\] :: expected an object, got string/,
    ])
      expect(said(r, re), String(re)).toHaveLength(1);
  });

  it("imports a block without rules, and a disabled one, with their interfaces opted in", () => {
    const r = importRef((_h, l) => {
      l.lxc_configs["801"].firewall = { enabled: true };
      l.lxc_configs["802"].firewall = { enabled: false, rules: [] };
      l.lxc_configs["914"].firewall = "on";
    });
    expect(guestOf(r, "granite-embedding").firewall).toEqual({ enable: true, rules: [] });
    expect(guestOf(r, "granite-3.3-8b-fp8").firewall).toEqual({ enable: false, rules: [] });
    expect(guestOf(r, "ollama-gpu0").firewall).toBeUndefined();
    expect(said(r, /914\.firewall :: expected an object, got string; ignored/)).toHaveLength(1);
  });

  it("reads an older top-level firewall, and imports none without any", () => {
    const moved = importRef((h) => {
      h.firewall = h.shared_volumes.firewall;
      delete h.shared_volumes.firewall;
    });
    expect(moved.definition.firewall?.rules).toHaveLength(4);
    const none = importRef((h) => delete h.shared_volumes.firewall);
    expect(none.definition.firewall).toBeUndefined();
    expect(guestOf(none, "Traefik-Internal").firewall!.rules!.some((x: any) => x.dport === "443" && !x.source)).toBe(false);
  });

  it("keeps 80/443 on the node, saying so, when no guest runs traefik", () => {
    const r = importRef((_h, l) => {
      l.lxc_configs["102"].features = ["base_setup"];
    });
    expect(r.definition.gateway).toBeUndefined();
    const rules = r.definition.firewall!.rules as any[];
    expect(rules.filter((x) => x.type === "in" && ["80", "443"].includes(x.dport))).toHaveLength(2);
    expect(said(r, /global_firewall_rules\[[01]\] :: a rule for 80\/443 stays on the node: no gateway guest/)).toHaveLength(2);
  });

  it("any JSON as a rule: never throws, and what it imports is a valid Proxmox rule", () => {
    const addrs = new Addresses([{ name: "web", network: [{ ip: "10.0.0.5/24" }] } as any], "10.0.0.1");
    const value = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom("in", "out", "ACCEPT", "drop", "tcp", "80", "10.0.0.5", "1:2"),
    );
    const rule = fc.dictionary(
      fc.constantFrom(
        "type",
        "action",
        "proto",
        "port",
        "dport",
        "source",
        "dest",
        "comment",
        "enabled",
        "iface",
        "log",
        "macro",
        "x",
      ),
      value,
    );
    fc.assert(
      fc.property(rule, (raw) => {
        const w = new Warnings();
        const out = readRule(Reader.root("f.json", raw, w), addrs, w);
        if (out) expect(FirewallRule.safeParse(out).success).toBe(true);
        else expect(w.list.length).toBeGreaterThan(0);
        if (out && raw.source === "10.0.0.5") expect(out.source).toBe("web");
      }),
    );
  });
});
