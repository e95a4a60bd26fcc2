// The original's DNS server on the node (dns_server in phoenix_hypervisor_config.json, names under domain_name) →
// network.dns: the internal DNS server on the node, listening on the node's address, forwarding to its upstreams.
import type { DefinitionInput } from "../../definition/schema";
import type { HostSettings } from "./hypervisor";
import type { Reader, Warnings } from "./reader";

type DnsInput = NonNullable<DefinitionInput["network"]["dns"]>;

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function readDns(hv: Reader, host: HostSettings, w: Warnings): DnsInput | undefined {
  const d = hv.obj("dns_server");
  if (!d) return undefined;
  if (d.bool("enabled") === false) {
    d.skip(...Object.keys(d.value));
    w.add(d.where("enabled"), "the DNS server is disabled; no network.dns imported");
    return undefined;
  }
  const upstream = d.strings("upstream_servers").filter((u) => {
    if (IPV4.test(u)) return true;
    w.add(d.where("upstream_servers"), `upstream '${u}' is not an IPv4 address; dropped`);
    return false;
  });
  const zones = d.raw("authoritative_zones");
  if (Array.isArray(zones) && zones.length > 0)
    w.add(
      d.where("authoritative_zones"),
      "not mapped: the internal DNS server answers for network.domain only",
      "serve other zones from another DNS server",
    );
  if (!host.domain) {
    w.add(
      d.where(),
      "not mapped: the DNS server names guests under domain_name, which is not set",
      "set network.domain, then network.dns",
    );
    return undefined;
  }
  const listen = host.node.ssh?.host;
  return {
    node: host.node.name,
    ...(listen && IPV4.test(listen) ? { listen } : {}),
    upstream: [...new Set(upstream)],
  };
}
