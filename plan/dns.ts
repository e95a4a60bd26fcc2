// The internal DNS plan (issue 17): the node's dnsmasq, its address, and a record per guest and exposed service.
import { dnsListen, dnsNode, dnsUpstream, isDnsLabel } from "../definition/dns-names";
import type { Index } from "../definition/resolve";
import type { PlannedGateway } from "./gateway";
import type { PlannedMachine } from "./types";

export interface PlannedDns {
  node: string;
  listen: string;
  domain: string;
  upstream: string[];
  /** fqdn → address, sorted by name. */
  records: { name: string; address: string }[];
  /** Guests without nameservers of their own resolve through it (network.dns.useInGuests). */
  useInGuests: boolean;
}

/** A guest's first address that is not DHCP, on whichever interface (static or from a pool): the one it is named at. */
function namedAddress(m: PlannedMachine): string | undefined {
  const nic = m.network.find((n) => n.ip !== "dhcp");
  return nic?.ip.split("/")[0];
}

/** The DNS server of a definition with network.dns: <guest>.<domain> for each named guest, a route's fqdn at the gateway. */
export function planDns(ix: Index, machines: readonly PlannedMachine[], gateway?: PlannedGateway): PlannedDns | undefined {
  const dns = ix.def.network.dns;
  const domain = ix.def.network.domain;
  const node = dnsNode(ix);
  const listen = dnsListen(ix);
  if (!dns || domain === undefined || !node || listen === undefined) return undefined;
  const records = new Map<string, string>();
  for (const m of machines) {
    const address = namedAddress(m);
    if (m.kind === "guest" && isDnsLabel(m.name) && address !== undefined) records.set(`${m.name}.${domain}`, address);
  }
  // Validation refuses a route named like a guest at another address: the same fqdn twice is the same address.
  for (const r of gateway?.routes ?? []) if (!records.has(r.fqdn)) records.set(r.fqdn, gateway!.address);
  return {
    node: node.name,
    listen,
    domain,
    upstream: dnsUpstream(ix, listen),
    records: [...records].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, address]) => ({ name, address })),
    useInGuests: dns.useInGuests,
  };
}

/**
 * The machines as guests see the DNS server: with useInGuests, every guest without nameservers of its own resolves
 * through it, with the domain as its search domain unless it has its own. Templates keep theirs (they never run).
 */
export function resolveThroughDns(ix: Index, machines: readonly PlannedMachine[], dns: PlannedDns | undefined): PlannedMachine[] {
  if (!dns?.useInGuests) return [...machines];
  return machines.map((m) => {
    const own = ix.byName.get(m.name)?.def.nameservers;
    if (m.kind !== "guest" || own !== undefined) return m;
    // its searchDomain is already the domain unless it set its own (planMachine: searchDomain ?? network.domain)
    return { ...m, nameservers: [dns.listen] };
  });
}
