// The node's own traffic through pve-firewall's host chains (enable_host_firewall: PVEFW-HOST-IN and -OUT): loopback
// and established traffic through, neighbour discovery and IGMP, then the node's host.fw rules before the
// datacenter's (groups expanded), the management IP set's access to the API, SSH and consoles (the cluster network,
// `local_network`, always among them; the node's own connections to it always out), then the datacenter's policy_in (DROP by default) and policy_out (ACCEPT). The lab's node is this machine, so only its traffic with the
// lab's bridges is the node's here; the lab's stand-ins for the internet on those bridges (apt proxy, registry
// mirror), which a real node's guests reach through their router, are let through first. Pure text.
import type { FwFile } from "../pve/firewall-config";
import { policyLog, ruleLog } from "./firewall-log-rules";
import { type Direction, VERDICT, addresses, expand, matches, ruleComment } from "./firewall-match";

export interface NodeFirewall {
  /** The node's host.fw: its [OPTIONS] (enable, ndp) and its rules, which come before the datacenter's. */
  fw: FwFile;
  /** The lab's bridges: where the node's own traffic is filtered. */
  bridges: string[];
  /** TCP ports of the lab's stand-ins for the internet on those bridges. */
  standIns: number[];
}

/** host.fw's switch: on unless `enable: 0` (the datacenter's own switch comes first). */
export function hostEnabled(host: FwFile): boolean {
  return host.options.enable === undefined || Number(host.options.enable) !== 0;
}

/** pve-firewall's management access (the `management` IP set): the API, consoles, SPICE, SSH, migration. */
const MANAGEMENT_PORTS = "8006, 5900-5999, 3128, 22, 60000-60050";

/**
 * The cluster network: the datacenter's `local_network` alias, else the network of the node's own address (the lab's
 * nodes answer on 127.0.0.1, so that is pve-firewall's fallback, 127.0.0.0/8, which never reaches a bridge).
 */
export function localNetwork(cluster: FwFile): string {
  return cluster.aliases["local_network"]?.cidr ?? "127.0.0.0/8";
}

/**
 * pve-firewall's management access: its `management` IP set, to which it always adds the cluster network, may reach
 * the API, consoles, SPICE, SSH and migration; one rule per address family the set holds.
 */
function managementAccess(cluster: FwFile, own: FwFile): string[] {
  const entries = [...(cluster.ipset["management"] ?? []), { cidr: localNetwork(cluster) }];
  const lines: string[] = [];
  for (const family of [4, 6] as const) {
    const set = entries.filter((e) => addresses(e.cidr, cluster, own)?.family === family);
    if (!set.some((e) => !e.nomatch)) continue;
    const m = addresses("+dc/management", { ...cluster, ipset: { ...cluster.ipset, management: set } }, own)!;
    const key = family === 4 ? "ip" : "ip6";
    const except = m.except ? `${key} saddr != ${m.except} ` : "";
    lines.push(`${except}${key} saddr ${m.match} tcp dport { ${MANAGEMENT_PORTS} } accept comment "management"`);
  }
  return lines;
}

/** The node's own connections to the cluster network's API, SSH, consoles and SPICE, whatever policy_out says. */
function localNetworkOut(cluster: FwFile, own: FwFile): string[] {
  const net = addresses(localNetwork(cluster), cluster, own);
  if (!net) return [];
  const key = net.family === 4 ? "ip" : "ip6";
  return [`${key} daddr ${net.match} tcp dport { 8006, 22, 5900-5999, 3128 } ${VERDICT.out.ACCEPT} comment "local_network"`];
}

/** The body of the node's chain for one direction (jumped to from the input or output hook). */
export function hostChain(dir: Direction, cluster: FwFile, node: NodeFirewall, logGroup?: number): string[] {
  const chainName = `PVEFW-HOST-${dir.toUpperCase()}`;
  const ok = VERDICT[dir].ACCEPT;
  const names = node.bridges.map((b) => `"${b}"`).join(", ");
  const lines = [
    `${dir === "in" ? "iifname" : "oifname"} != { ${names} } return comment "not the lab's bridges"`,
    "ct state invalid drop",
    `ct state established,related ${ok}`,
  ];
  if (node.fw.options.ndp === undefined || Number(node.fw.options.ndp) !== 0) {
    const types = [
      "nd-router-solicit",
      ...(dir === "in" ? ["nd-router-advert"] : []),
      "nd-neighbor-solicit",
      "nd-neighbor-advert",
    ];
    lines.push(`icmpv6 type { ${types.join(", ")} } ${ok}`);
  }
  lines.push(`meta l4proto igmp ${ok}`);
  if (dir === "in" && node.standIns.length)
    lines.push(`tcp dport { ${node.standIns.join(", ")} } accept comment "the lab's stand-ins for the internet"`);
  // the node's rules first, so that they can override the datacenter's
  for (const r of expand([...node.fw.rules, ...cluster.rules], dir, cluster)) {
    const m = matches(r, cluster, node.fw);
    if (!m) {
      lines.push(`# skipped (unresolvable): ${r.type} ${r.action} ${r.source ?? ""} ${r.dest ?? ""}`);
      continue;
    }
    const iface = r.iface ? [`${dir === "in" ? "iifname" : "oifname"} "${r.iface}"`] : [];
    const log = ruleLog(r, dir, 0, chainName, logGroup);
    if (log) lines.push([...iface, ...m, log].join(" "));
    lines.push([...iface, ...m, VERDICT[dir][r.action] ?? "drop", ruleComment(r)].join(" "));
  }
  lines.push(...(dir === "in" ? managementAccess(cluster, node.fw) : localNetworkOut(cluster, node.fw)));
  const policy = (dir === "in" ? cluster.options.policy_in : cluster.options.policy_out) ?? (dir === "in" ? "DROP" : "ACCEPT");
  // the datacenter's policy, logged at the node's own level (host.fw's log_level_in/out)
  const log = policyLog(
    policy,
    dir === "in" ? node.fw.options.log_level_in : node.fw.options.log_level_out,
    0,
    chainName,
    logGroup,
  );
  lines.push(...log);
  lines.push(`${VERDICT[dir][policy] ?? "drop"} comment "node policy_${dir} ${policy}"`);
  return lines;
}
