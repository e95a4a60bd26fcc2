// The original's firewall rules (each guest's block, the stacks' firewall_rules and its global set, which it wrote
// wholesale into cluster.fw) → the Proxmox firewall of the definition, in pve-firewall's field names.
import type { z } from "zod";
import { FirewallRule } from "../../definition/network-services-schema";
import type { DefinitionInput } from "../../definition/schema";
import type { Reader, Warnings } from "./reader";

export type RuleInput = z.input<typeof FirewallRule>;
type GuestInput = NonNullable<DefinitionInput["guests"]>[number];
type DatacenterInput = NonNullable<DefinitionInput["firewall"]>;

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const POLICIES = ["ACCEPT", "DROP", "REJECT"];

/** Imported guests by address: a rule's address of a guest becomes the guest's name. */
export class Addresses {
  private readonly byIp = new Map<string, string>();
  constructor(
    guests: GuestInput[],
    /** The node's own address (rules about the node keep it). */
    readonly node?: string,
  ) {
    for (const g of guests)
      for (const nic of g.network ?? []) {
        const ip = nic.ip?.split("/")[0];
        if (ip && IPV4.test(ip)) this.byIp.set(ip, g.name);
      }
  }
  guestAt(ip: string): string | undefined {
    return this.byIp.get(ip);
  }
  isGuest(name: string | undefined): boolean {
    return name !== undefined && [...this.byIp.values()].includes(name);
  }
  /** An address, CIDR or comma list with every imported guest's address replaced by its name. */
  map(value: string, where: string, w: Warnings): string {
    return value
      .split(",")
      .map((part) => {
        const a = part.trim();
        const guest = this.byIp.get(a);
        if (guest) return guest;
        if (IPV4.test(a) && a !== this.node)
          w.add(
            where,
            `${a} is the address of no imported guest nor of the node; kept as an address`,
            "replace it with a guest's name if it meant one",
          );
        return a;
      })
      .join(",");
  }
}

/** One rule of the original (type, action, proto, source, dest, port, comment; Proxmox's own names accepted too). */
export function readRule(r: Reader, addrs: Addresses, w: Warnings): RuleInput | undefined {
  const drop = (why: string) => {
    r.skip(...Object.keys(r.value));
    w.add(r.where(), `rule not imported: ${why}`, "add it by hand under the firewall's rules");
    return undefined;
  };
  const type = (r.str("type") ?? "in").toLowerCase();
  if (type === "group") return drop("security groups of the original are not imported");
  if (type !== "in" && type !== "out") return drop(`type '${type}' is neither in nor out`);
  const action = r.str("action")?.toUpperCase();
  if (!action || !POLICIES.includes(action)) return drop(`action '${action ?? ""}' is not ACCEPT, DROP or REJECT`);
  const rule: Record<string, unknown> = { type, action };
  const port = r.str("port");
  const dport = r.str("dport");
  if (port !== undefined && dport !== undefined && port !== dport) return drop(`port ${port} and dport ${dport} differ`);
  const ports = (p: string | undefined) => p?.replace(/\s+/g, "").replace(/(\d)-(\d)/g, "$1:$2");
  const set = (k: string, v: unknown) => {
    if (v !== undefined && v !== "") rule[k] = v;
  };
  set("macro", r.str("macro"));
  set("proto", r.str("proto")?.toLowerCase());
  set("dport", ports(port ?? dport));
  set("sport", ports(r.str("sport")));
  const source = r.str("source");
  const dest = r.str("dest");
  if (source) rule.source = addrs.map(source, r.where("source"), w);
  if (dest) rule.dest = addrs.map(dest, r.where("dest"), w);
  set("iface", r.str("iface"));
  set("log", r.str("log"));
  const enabled = r.bool("enabled") ?? r.bool("enable");
  if (enabled === false) rule.enable = false;
  const comment = r.str("comment");
  // One line: control characters (newlines among them) become spaces.
  if (comment)
    set(
      "comment",
      [...comment]
        .map((c) => (c < " " || c === "\x7f" ? " " : c))
        .join("")
        .slice(0, 512),
    );
  if ((rule.dport || rule.sport) && !rule.proto && !rule.macro) {
    rule.proto = "tcp";
    w.add(r.where(), "a port without a protocol (Proxmox refuses it); imported as proto tcp", "set proto if it is udp");
  }
  const parsed = FirewallRule.safeParse(rule);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    w.add(r.where(i.path.map(String).join(".")), `rule not imported: ${i.message}`, "add it by hand");
    return undefined;
  }
  return rule as RuleInput;
}

/** The rules without the later copies of one (same fields but the comment), each dropped with a warning. */
export function dedupe(rules: RuleInput[], where: string, w: Warnings): RuleInput[] {
  const seen = new Map<string, number>();
  return rules.filter((r, i) => {
    const { comment: _, ...rest } = r;
    const key = JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)));
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, i);
      return true;
    }
    w.add(where, `rule ${i} ('${r.comment ?? ""}') repeats rule ${first}; dropped`);
    return false;
  });
}

/** A guest's own firewall, made on first use (its interfaces opt in with network[].firewall). */
function guestFirewall(g: GuestInput) {
  g.firewall ??= { enable: true, rules: [] };
  g.firewall.rules ??= [];
  for (const nic of g.network ?? []) nic.firewall = true;
  return g.firewall;
}

/** Rules added to a guest's own firewall (turned on, with its interfaces, if it had none). */
export function addGuestRules(g: GuestInput, rules: RuleInput[]): void {
  guestFirewall(g).rules!.push(...rules);
}

/** A guest's `firewall` block → guests[].firewall, with its interfaces' firewall flag. */
export function readGuestFirewall(r: Reader, guest: GuestInput, addrs: Addresses, w: Warnings): void {
  const fw = r.obj("firewall");
  if (!fw) return;
  const enable = fw.bool("enabled") ?? fw.bool("enable") ?? true;
  const rules = fw.objs("rules").flatMap((x) => readRule(x, addrs, w) ?? []);
  const f = guestFirewall(guest);
  f.enable = enable;
  const policyIn = fw.str("policy_in")?.toUpperCase();
  const policyOut = fw.str("policy_out")?.toUpperCase();
  if (policyIn && POLICIES.includes(policyIn)) f.policyIn = policyIn as "DROP";
  if (policyOut && POLICIES.includes(policyOut)) f.policyOut = policyOut as "DROP";
  f.rules = [...f.rules!, ...rules];
}

/** The rules of a template's block: Phoenix's templates carry no firewall (Proxmox copies <vmid>.fw to clones). */
export function templateFirewall(r: Reader): void {
  r.unmapped(
    "firewall",
    "a template has no firewall in the definition; the original wrote these rules into the datacenter's set",
    "add the rules to the guests cloned from it that need them",
  );
}

const GATEWAY_PORTS = new Set(["80", "443", "80,443", "443,80"]);

/**
 * The global set (shared_volumes.firewall): policy and the node's own rules stay in the datacenter's firewall; a rule
 * into a guest (its address as dest) goes to that guest, 80/443 into anything to the gateway's guest.
 */
export function readDatacenterFirewall(
  fw: Reader,
  guests: GuestInput[],
  addrs: Addresses,
  gatewayGuest: string | undefined,
  w: Warnings,
): DatacenterInput {
  const dc: DatacenterInput = { enable: fw.bool("enabled") ?? fw.bool("enable") ?? true, rules: [] };
  const policy = (key: string) => {
    const p = fw.str(key)?.toUpperCase();
    if (p && !POLICIES.includes(p)) w.add(fw.where(key), `'${p}' is not ACCEPT, DROP or REJECT; Proxmox's default kept`);
    return p && POLICIES.includes(p) ? (p as "DROP") : undefined;
  };
  const pin = policy("default_input_policy");
  const pout = policy("default_output_policy");
  if (pin) dc.policyIn = pin;
  if (pout) dc.policyOut = pout;
  const move = (rule: RuleInput, to: string, where: string, why: string) => {
    const g = guests.find((x) => x.name === to)!;
    const { dest: _, ...own } = rule;
    guestFirewall(g).rules!.push(own);
    w.add(
      where,
      `rule '${rule.comment ?? `${rule.type} ${rule.action} ${rule.dport ?? ""}`}' moved to guest '${to}''s firewall (${why}): ` +
        "the original wrote it into the datacenter-wide set, where Proxmox applies it to the node, not to the guest",
    );
  };
  for (const r of fw.objs("global_firewall_rules")) {
    const rule = readRule(r, addrs, w);
    if (!rule) continue;
    if (rule.type === "in" && addrs.isGuest(rule.dest)) move(rule, rule.dest!, r.where(), "its dest");
    else if (rule.type === "in" && !rule.dest && GATEWAY_PORTS.has(rule.dport ?? "") && gatewayGuest)
      move(rule, gatewayGuest, r.where(), "the gateway's guest serves 80/443");
    else {
      if (rule.type === "in" && !rule.dest && GATEWAY_PORTS.has(rule.dport ?? ""))
        w.add(r.where(), "a rule for 80/443 stays on the node: no gateway guest was found (no guest with traefik)");
      dc.rules!.push(rule);
    }
  }
  dc.rules = dedupe(dc.rules as RuleInput[], fw.where("global_firewall_rules"), w);
  return dc;
}

/** Each guest's rules once (its own block's and those moved to it), after every source was read. */
export function dedupeGuests(guests: GuestInput[], whereOf: (guest: string) => string, w: Warnings): void {
  for (const g of guests) if (g.firewall?.rules) g.firewall.rules = dedupe(g.firewall.rules as RuleInput[], whereOf(g.name), w);
}

/** The guests whose firewall is now on with a DROP policy: the original filtered none of them (all went to cluster.fw). */
export function warnNewlyFiltered(guests: GuestInput[], w: Warnings, where: string): void {
  const on = guests.filter((g) => g.firewall && g.firewall.enable !== false && (g.firewall.policyIn ?? "DROP") !== "ACCEPT");
  if (on.length > 0)
    w.add(
      where,
      `guests ${on.map((g) => g.name).join(", ")} get their own firewall with policy_in DROP: the original put their rules ` +
        "into cluster.fw (the node's), so they were unfiltered; what their rules do not accept is now dropped",
      "check each guest's rules accept all it serves, or set its firewall.policyIn: ACCEPT",
    );
  const ssh = (r: Record<string, unknown>) =>
    r.type !== "out" &&
    r.action === "ACCEPT" &&
    (r.macro === "SSH" ||
      String(r.dport ?? "")
        .split(",")
        .includes("22"));
  for (const g of on)
    if (
      g.type === "vm" &&
      (Object.keys(g.features ?? {}).length > 0 || (g.healthChecks?.length ?? 0) > 0) &&
      !(g.firewall!.rules ?? []).some((r) => ssh(r as Record<string, unknown>))
    )
      w.add(
        where,
        `VM '${g.name}' is provisioned over SSH, and its imported firewall accepts no SSH`,
        `add to guests '${g.name}' firewall.rules: { type: in, action: ACCEPT, macro: SSH, source: <the address Pulumi runs from> }`,
      );
}
