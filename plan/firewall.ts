// The firewall plan (issue 17): the datacenter's options, groups, aliases and IP sets, and each firewalled guest's
// options and rules, with guest names resolved to their planned addresses and exposed services opening themselves.
import type { Index } from "../definition/resolve";
import type { PlannedMachine } from "./types";

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
  options: { enable: boolean; policyIn: string; policyOut: string; macfilter: boolean; ipfilter: boolean; dhcp: boolean };
  rules: PlannedFirewallRule[];
}

export interface PlannedFirewall {
  datacenter: { enable: boolean; policyIn: string; policyOut: string; rules: PlannedFirewallRule[] };
  groups: { name: string; comment?: string; rules: PlannedFirewallRule[] }[];
  aliases: { name: string; cidr: string; comment?: string }[];
  ipsets: { name: string; comment?: string; cidrs: { cidr: string; nomatch: boolean; comment?: string }[] }[];
  guests: PlannedGuestFirewall[];
}

/** The firewall of a definition that declares one (firewall:, a guest's firewall:, an app's firewall:). */
export function planFirewall(_ix: Index, _machines: readonly PlannedMachine[]): PlannedFirewall | undefined {
  return undefined; // skeleton: filled in by the firewall work of issue 17
}
