// Which machines resolve through the plan's DNS server. Pure: no resources are created here.
import type { PlannedDns } from "../../plan/dns";
import type { PlannedMachine } from "../../plan/plan";

/** Guests whose nameserver is the DNS server: they wait for it, as they may resolve names while they provision. */
export function resolvesThrough(dns: PlannedDns | undefined, m: PlannedMachine): boolean {
  return dns !== undefined && m.kind === "guest" && m.nameservers.includes(dns.listen);
}
