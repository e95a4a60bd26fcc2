// Plan → the DNS server step's settings, and which machines resolve through it. Pure: no resources are created here.
import type { PlannedDns } from "../../plan/dns";
import type { PlannedMachine } from "../../plan/plan";
import type { DnsServerSettings } from "../../provisioners/dns/dns";

export function dnsServerSettings(dns: PlannedDns): DnsServerSettings {
  return { listen: dns.listen, domain: dns.domain, upstream: dns.upstream, records: dns.records };
}

/** Guests whose nameserver is the DNS server: they wait for it, as they may resolve names while they provision. */
export function resolvesThrough(dns: PlannedDns | undefined, m: PlannedMachine): boolean {
  return dns !== undefined && m.kind === "guest" && m.nameservers.includes(dns.listen);
}
