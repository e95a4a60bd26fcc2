// A planned machine's address as the services on top use it (app URLs, gateway routes, firewall rules): one reading.
import type { PlannedMachine } from "./types";

/** The machine's first interface's planned address (pool-allocated included), without its prefix; none for DHCP. */
export function firstAddressOf(m: PlannedMachine | undefined): string | undefined {
  const ip = m?.network[0]?.ip.split("/")[0];
  return ip && ip !== "dhcp" ? ip : undefined;
}
