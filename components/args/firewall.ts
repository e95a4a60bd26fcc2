// Plan → arguments of the Proxmox firewall's resources (the provider's cluster FirewallLegacy, security GroupLegacy,
// AliasLegacy, IpsetLegacy, RulesLegacy and OptionsLegacy). Pure: no resources are created here.
import type * as proxmox from "@muhlba91/pulumi-proxmoxve";
import type { PlannedFirewall, PlannedFirewallRule, PlannedGuestFirewall } from "../../plan/firewall";

type Rule = proxmox.types.input.firewall.RulesLegacyRule;
type Datacenter = NonNullable<PlannedFirewall["datacenter"]>;

/** A rule as the provider takes it: a group's insertion is securityGroup, the rest Proxmox's own fields. */
export function ruleArgs(r: PlannedFirewallRule): Rule {
  const common = { ...(r.iface ? { iface: r.iface } : {}), enabled: r.enable, ...(r.comment ? { comment: r.comment } : {}) };
  if (r.type === "group") return { securityGroup: r.action, ...common };
  const fields = ["macro", "proto", "dport", "sport", "source", "dest", "log"] as const;
  return {
    type: r.type,
    action: r.action,
    ...Object.fromEntries(fields.flatMap((f) => (r[f] !== undefined ? [[f, r[f]]] : []))),
    ...common,
  };
}

/** The datacenter's options (cluster.fw [OPTIONS]). */
export function clusterOptionsArgs(dc: Datacenter): proxmox.cluster.FirewallLegacyArgs {
  return { enabled: dc.enable, inputPolicy: dc.policyIn, outputPolicy: dc.policyOut };
}

/** The datacenter's own rules (no node, no guest: cluster level). */
export function clusterRulesArgs(dc: Datacenter): proxmox.firewall.RulesLegacyArgs {
  return { rules: dc.rules.map(ruleArgs) };
}

export function groupArgs(g: PlannedFirewall["groups"][number]): proxmox.cluster.firewall.security.GroupLegacyArgs {
  return { name: g.name, ...(g.comment ? { comment: g.comment } : {}), rules: g.rules.map(ruleArgs) };
}

export function aliasArgs(a: PlannedFirewall["aliases"][number]): proxmox.firewall.AliasLegacyArgs {
  return { name: a.name, cidr: a.cidr, ...(a.comment ? { comment: a.comment } : {}) };
}

export function ipsetArgs(s: PlannedFirewall["ipsets"][number]): proxmox.firewall.IpsetLegacyArgs {
  return {
    name: s.name,
    ...(s.comment ? { comment: s.comment } : {}),
    cidrs: s.cidrs.map((c) => ({ name: c.cidr, nomatch: c.nomatch, ...(c.comment ? { comment: c.comment } : {}) })),
  };
}

/** The guest's firewall as the provider addresses it: its node and its containerId or vmId. */
function guestOf(g: PlannedGuestFirewall): { nodeName: string; containerId?: number; vmId?: number } {
  return g.type === "lxc" ? { nodeName: g.node, containerId: g.vmid } : { nodeName: g.node, vmId: g.vmid };
}

/** The guest's options (<vmid>.fw [OPTIONS]). */
export function guestOptionsArgs(g: PlannedGuestFirewall): proxmox.firewall.OptionsLegacyArgs {
  const o = g.options;
  return {
    ...guestOf(g),
    enabled: o.enable,
    inputPolicy: o.policyIn,
    outputPolicy: o.policyOut,
    macfilter: o.macfilter,
    ipfilter: o.ipfilter,
    dhcp: o.dhcp,
    logLevelIn: o.logLevelIn,
    logLevelOut: o.logLevelOut,
  };
}

export function guestRulesArgs(g: PlannedGuestFirewall): proxmox.firewall.RulesLegacyArgs {
  return { ...guestOf(g), rules: g.rules.map(ruleArgs) };
}
