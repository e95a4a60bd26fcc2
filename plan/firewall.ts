// The firewall plan (issue 17): the datacenter's options, groups, aliases and IP sets, and each firewalled guest's
// options and rules, with guest names resolved to their planned addresses and exposed services opening themselves (on
// their guest through the gateway, and the internal DNS server on its node).
import type { Index } from "../definition/resolve";
import type { Guest } from "../definition/schema";
import { type AnyFirewallRule, type FirewallRule, isGroupRule } from "../definition/network-services-schema";
import { endpointItems } from "../definition/firewall-endpoints";
import type { PlannedMachine } from "./types";
import type { PlannedDns } from "./dns";
import type { PlannedGateway } from "./gateway";
import { firstAddressOf } from "./addresses";

/** A rule as Proxmox stores it: type in/out/group (action is the group's name for a group). */
export interface PlannedFirewallRule {
  type: "in" | "out" | "group";
  action: string;
  macro?: string;
  proto?: string;
  dport?: string;
  sport?: string;
  source?: string;
  dest?: string;
  iface?: string;
  log?: string;
  enable: boolean;
  comment?: string;
}

export interface PlannedGuestFirewall {
  guest: string;
  vmid: number;
  node: string;
  type: "lxc" | "vm";
  options: {
    enable: boolean;
    policyIn: string;
    policyOut: string;
    macfilter: boolean;
    ipfilter: boolean;
    dhcp: boolean;
    logLevelIn: string;
    logLevelOut: string;
  };
  rules: PlannedFirewallRule[];
}

export interface PlannedFirewall {
  /** The datacenter's options and rules; absent when the definition leaves the datacenter's firewall alone. */
  datacenter?: { enable: boolean; policyIn: string; policyOut: string; rules: PlannedFirewallRule[] };
  groups: { name: string; comment?: string; rules: PlannedFirewallRule[] }[];
  aliases: { name: string; cidr: string; comment?: string }[];
  ipsets: { name: string; comment?: string; cidrs: { cidr: string; nomatch: boolean; comment?: string }[] }[];
  guests: PlannedGuestFirewall[];
}

/** The port the gateway serves HTTPS on (Caddy's default). */
const GATEWAY_HTTPS_PORT = 443;

/** The firewall of a definition that declares one (firewall:, a guest's firewall:, an app's firewall:). */
export function planFirewall(
  ix: Index,
  machines: readonly PlannedMachine[],
  gateway?: PlannedGateway,
  dns?: PlannedDns,
): PlannedFirewall | undefined {
  const def = ix.def;
  const guests = machines.filter((m) => m.kind === "guest" && guestDef(ix, m.name)?.firewall);
  if (!def.firewall && guests.length === 0) return undefined;
  const aliases = new Set(def.firewall?.aliases.map((a) => a.name));
  const addresses = new Map(
    machines.flatMap((m) => {
      const a = firstAddressOf(m);
      return a ? [[m.name, a] as const] : [];
    }),
  );
  const plan = (r: AnyFirewallRule) => planRule(r, (name) => (aliases.has(name) ? undefined : addresses.get(name)));
  const dc = def.firewall;
  return {
    ...(dc
      ? {
          datacenter: {
            enable: dc.enable,
            policyIn: dc.policyIn,
            policyOut: dc.policyOut,
            rules: appendMissing(dc.rules.map(plan), nodeServiceRules(dns, def.network.bridges)),
          },
        }
      : {}),
    groups: (dc?.groups ?? []).map((g) => ({
      name: g.name,
      ...(g.comment ? { comment: g.comment } : {}),
      rules: g.rules.map(plan),
    })),
    aliases: (dc?.aliases ?? []).map((a) => ({ name: a.name, cidr: a.cidr, ...(a.comment ? { comment: a.comment } : {}) })),
    ipsets: (dc?.ipsets ?? []).map((s) => ({
      name: s.name,
      ...(s.comment ? { comment: s.comment } : {}),
      cidrs: s.cidrs.map((c) => ({ cidr: c.cidr, nomatch: c.nomatch, ...(c.comment ? { comment: c.comment } : {}) })),
    })),
    guests: guests.map((m) => {
      const fw = guestDef(ix, m.name)!.firewall!;
      const apps = def.apps.filter((a) => a.guests.includes(m.name));
      const rules = [...fw.rules, ...apps.flatMap((a) => a.firewall)].map(plan);
      const ports = [...guestDef(ix, m.name)!.expose, ...apps.flatMap((a) => a.expose)].map((e) => e.port);
      const opened = gateway ? serviceRules(ports, gateway.address, m.name === gateway.guest) : [];
      return {
        guest: m.name,
        vmid: m.vmid,
        node: m.node,
        type: m.type,
        options: {
          enable: fw.enable,
          policyIn: fw.policyIn,
          policyOut: fw.policyOut,
          macfilter: fw.macfilter,
          ipfilter: fw.ipfilter,
          dhcp: fw.dhcp,
          logLevelIn: fw.logLevelIn,
          logLevelOut: fw.logLevelOut,
        },
        rules: appendMissing(rules, opened),
      };
    }),
  };
}

const guestDef = (ix: Index, name: string): Guest | undefined => {
  const m = ix.byName.get(name);
  return m?.kind === "guest" ? (m.def as Guest) : undefined;
};

/** A rule as Proxmox stores it; a guest's name in source or dest becomes its address. */
function planRule(r: AnyFirewallRule, addressOfGuest: (name: string) => string | undefined): PlannedFirewallRule {
  const common = { ...(r.iface ? { iface: r.iface } : {}), enable: r.enable, ...(r.comment ? { comment: r.comment } : {}) };
  if (isGroupRule(r)) return { type: "group", action: r.group, ...common };
  const resolve = (text: string) =>
    endpointItems(text)
      .map((i) => (i.kind === "address" ? i.text : i.kind === "ipset" ? `+${i.name}` : (addressOfGuest(i.name) ?? i.name)))
      .join(",");
  const fields = ["macro", "proto", "dport", "sport", "log"] as const satisfies readonly (keyof FirewallRule)[];
  return {
    type: r.type,
    action: r.action,
    ...Object.fromEntries(fields.flatMap((f) => (r[f] !== undefined ? [[f, r[f]]] : []))),
    ...(r.source ? { source: resolve(r.source) } : {}),
    ...(r.dest ? { dest: resolve(r.dest) } : {}),
    ...common,
  };
}

/**
 * What Phoenix runs on a node for its guests opens itself there too: the datacenter's rules are the nodes' (Proxmox's
 * host chains), whose input policy drops by default, so the internal DNS server gets DNS (UDP and TCP) to its address
 * from the definition's bridge subnets (IPv4, as its address; from anywhere when no bridge declares one).
 */
function nodeServiceRules(
  dns: PlannedDns | undefined,
  bridges: readonly { subnet?: string | undefined }[],
): PlannedFirewallRule[] {
  if (!dns) return [];
  const subnets = [...new Set(bridges.flatMap((b) => (b.subnet ? [b.subnet] : [])))];
  return (["udp", "tcp"] as const).map((proto) => ({
    type: "in",
    action: "ACCEPT",
    proto,
    dport: "53",
    ...(subnets.length ? { source: subnets.join(",") } : {}),
    dest: dns.listen,
    enable: true,
    comment: "phoenix: the internal DNS server",
  }));
}

/** "A service opens itself": its ports from the gateway; on the gateway's own guest, HTTPS from anywhere. */
function serviceRules(ports: readonly number[], gateway: string, isGateway: boolean): PlannedFirewallRule[] {
  const accept = (dport: number, source?: string, comment?: string): PlannedFirewallRule => ({
    type: "in",
    action: "ACCEPT",
    proto: "tcp",
    dport: String(dport),
    ...(source ? { source } : {}),
    enable: true,
    ...(comment ? { comment } : {}),
  });
  return [
    ...ports.map((p) => accept(p, gateway, "phoenix: exposed through the gateway")),
    ...(isGateway ? [accept(GATEWAY_HTTPS_PORT, undefined, "phoenix: the gateway's HTTPS")] : []),
  ];
}

/** Rules equal in all but comment and enable (a rule the user turned off stays off: it is not added again). */
function sameRule(a: PlannedFirewallRule, b: PlannedFirewallRule): boolean {
  const key = (r: PlannedFirewallRule) =>
    JSON.stringify([r.type, r.action, r.macro, r.proto, r.dport, r.sport, r.source, r.dest, r.iface, r.log]);
  return key(a) === key(b);
}

/** The rules, then each added rule not among them yet (once). */
function appendMissing(rules: readonly PlannedFirewallRule[], added: readonly PlannedFirewallRule[]): PlannedFirewallRule[] {
  const out = [...rules];
  for (const r of added) if (!out.some((x) => sameRule(x, r))) out.push(r);
  return out;
}
