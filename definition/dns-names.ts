// What validation and the plan both need to know of network.dns: which node runs it, the address it listens on, and
// which names a guest can have (one DNS label each).
import { contains, parseCidr, parseIp } from "./ipv4";
import { DNS_LABEL } from "./grammar";
import type { Index } from "./resolve";
import type { Bridge, Node } from "./schema";

/** One DNS label: what <name>.<domain> takes as <name>. */
export const isDnsLabel = (s: string): boolean => DNS_LABEL.test(s);

/** The node running the DNS server: network.dns.node, else the first node. */
export function dnsNode(ix: Index): Node | undefined {
  const dns = ix.def.network.dns;
  if (!dns) return undefined;
  return dns.node !== undefined ? ix.nodes.get(dns.node) : ix.def.nodes[0];
}

/** The bridge whose subnet holds an IPv4 address. */
export function bridgeHolding(bridges: readonly Bridge[], address: string): Bridge | undefined {
  const ip = parseIp(address);
  if (ip === undefined) return undefined;
  return bridges.find((b) => {
    const net = parseCidr(b.subnet);
    return net !== undefined && contains(net, ip);
  });
}

/**
 * The address the DNS server listens on: network.dns.listen, else the node's ssh.host when that is an IPv4 address
 * inside a bridge's subnet; undefined when neither (validation asks for listen then).
 */
export function dnsListen(ix: Index): string | undefined {
  const dns = ix.def.network.dns;
  if (!dns) return undefined;
  if (dns.listen !== undefined) return dns.listen;
  const host = dnsNode(ix)?.ssh?.host;
  return host !== undefined && bridgeHolding(ix.def.network.bridges, host) ? host : undefined;
}

/** The servers other names are forwarded to: upstream, else the listen bridge's dns; never the server itself. */
export function dnsUpstream(ix: Index, listen: string): string[] {
  const dns = ix.def.network.dns!;
  const servers = dns.upstream ?? bridgeHolding(ix.def.network.bridges, listen)?.dns ?? [];
  return [...new Set(servers)].filter((s) => s !== listen);
}
