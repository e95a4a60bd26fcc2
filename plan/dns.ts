// The internal DNS plan (issue 17): the node's dnsmasq, its address, and a record per guest and exposed service.
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
}

/** The DNS server of a definition with network.dns. */
export function planDns(_ix: Index, _machines: readonly PlannedMachine[], _gateway?: PlannedGateway): PlannedDns | undefined {
  return undefined; // skeleton: filled in by the DNS work of issue 17
}
