// How a firewall rule's source or dest reads: a comma list of addresses, or one alias, IP set (+name) or guest's name.
import { parseCidr, parseIp, parseRange } from "./ipv4";

export type EndpointItem =
  | { kind: "address"; text: string }
  | { kind: "ipset"; name: string }
  /** An alias of the datacenter or a guest of the definition: which one is for the caller to say. */
  | { kind: "name"; name: string };

const ADDRESS = /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2}|-\d{1,3}(\.\d{1,3}){3})?$/;

/** The items of a source or dest, in order. */
export function endpointItems(text: string): EndpointItem[] {
  return text.split(",").map((t) => {
    if (t.startsWith("+")) return { kind: "ipset", name: t.slice(1) };
    if (ADDRESS.test(t)) return { kind: "address", text: t };
    return { kind: "name", name: t };
  });
}

/** Whether an address item is a valid address, CIDR or range (a-b with a <= b). */
export function validAddress(text: string): boolean {
  const [from, to] = text.split("-");
  if (to !== undefined) {
    const r = parseRange(text);
    return r !== undefined && r.first <= r.last;
  }
  return from!.includes("/") ? parseCidr(from!) !== undefined : parseIp(from!) !== undefined;
}
