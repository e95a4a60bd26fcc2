// The log rules pve-firewall puts before a rule that has `log` and before a DROP or REJECT policy whose chain has a
// log level (log_level_in/out): the packet, at most one a second, goes to the node's logger (NFLOG) with the prefix
// `:vmid:level:chain: message` pvefw-logger reads. Pure text for the nftables ruleset.
import { LOG_LEVELS, logPrefix } from "../pve/firewall-log";
import type { Direction, ExpandedRule } from "./firewall-match";

/** The statement that logs a packet to NFLOG `group` with `prefix`, rate-limited as pve-firewall's (1/s). */
export function logStatement(group: number, prefix: string): string {
  return `limit rate 1/second log group ${group} prefix "${prefix.replace(/["\\]/g, "")}"`;
}

/**
 * A rule's log statement, or undefined when it logs nothing (no `log`, `nolog`, or no logger): a guest's or the node's
 * own rule logs from its chain with its action ("ACCEPT: "), a security group's rule from the group's chain, for no
 * guest and without one (pve-firewall's generate_group_rules).
 */
export function ruleLog(r: ExpandedRule, dir: Direction, vmid: number, chain: string, group?: number): string | undefined {
  const level = r.log === undefined ? undefined : LOG_LEVELS[r.log];
  if (group === undefined || level === undefined) return undefined;
  if (r.group) return logStatement(group, logPrefix(0, level, `GROUP-${r.group}-${dir.toUpperCase()}`, ""));
  return logStatement(group, logPrefix(vmid, level, chain, `${r.action}: `));
}

/**
 * The rules before a DROP or REJECT policy with a log level: broadcast and multicast dropped unlogged first (as
 * pve-firewall's PVEFW-Drop and PVEFW-Reject do before its policy's log rule), then the log statement. None for an
 * ACCEPT policy (never logged: ruleset_add_chain_policy), `nolog`, or without a logger.
 */
export function policyLog(policy: string, level: string | undefined, vmid: number, chain: string, group?: number): string[] {
  const n = level === undefined ? undefined : LOG_LEVELS[level];
  if (group === undefined || n === undefined || (policy !== "DROP" && policy !== "REJECT")) return [];
  return [
    'meta pkttype { broadcast, multicast } drop comment "PVEFW-Drop: not logged"',
    logStatement(group, logPrefix(vmid, n, chain, `policy ${policy}: `)),
  ];
}

/** pve-firewall's chain of a guest's NIC: veth<vmid>i<n> (a container's) or tap<vmid>i<n> (a VM's), then -IN or -OUT. */
export function guestPortChain(type: "lxc" | "qemu" | undefined, vmid: number, net: string, dir: Direction): string {
  return `${type === "qemu" ? "tap" : "veth"}${vmid}i${net.replace(/^net/, "")}-${dir.toUpperCase()}`;
}
