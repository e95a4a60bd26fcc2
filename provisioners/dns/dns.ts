// The internal DNS server on a node (network.dns): Debian's dnsmasq answering <name>.<domain> from one file,
// /etc/dnsmasq.d/phoenix.conf, rendered here from the plan (pure) and written by the scripts beside it.
import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionInput, RemoteScript } from "../engine/script-provider";
import { type RenderedFeature, featureResource, scriptOf } from "../engine/feature";
import { parseIp } from "../../definition/ipv4";
import { isFqdn } from "../../definition/grammar";

export interface DnsServerSettings {
  listen: string;
  domain: string;
  upstream: string[];
  records: { name: string; address: string }[];
}

export const DNS_CONF_PATH = "/etc/dnsmasq.d/phoenix.conf";

function checked(kind: "address" | "name", v: string): string {
  if (!(kind === "address" ? parseIp(v) !== undefined : isFqdn(v)))
    throw new Error(`dns: not an IPv4 ${kind === "address" ? "address" : "DNS name"}: ${JSON.stringify(v)}`);
  return v;
}

/** The file's text: listen on the bridge address only, forward to the upstreams only, answer the domain locally. */
export function dnsmasqConf(s: DnsServerSettings): string {
  return [
    `# Managed by Phoenix Hypervisor (network.dns): the names of ${checked("name", s.domain)}. Edits here are undone by the next up.`,
    `listen-address=${checked("address", s.listen)}`,
    "bind-interfaces",
    // Only these records and upstreams: not the node's /etc/hosts or /etc/resolv.conf.
    "no-hosts",
    "no-resolv",
    ...s.upstream.map((u) => `server=${checked("address", u)}`),
    `local=/${s.domain}/`,
    `domain=${s.domain}`,
    ...s.records.map((r) => `host-record=${checked("name", r.name)},${checked("address", r.address)}`),
    "",
  ].join("\n");
}

/** The step's time limit: apt may install dnsmasq first. */
export const DNS_TIMEOUT_SECONDS = 600;

export function renderDnsServer(s: DnsServerSettings): RenderedFeature {
  return {
    script: scriptOf("dns/dns.sh"),
    checkScript: scriptOf("dns/dns-check.sh"),
    deleteScript: scriptOf("dns/dns-delete.sh"),
    params: { DNS_CONF: dnsmasqConf(s), DNS_CONF_PATH },
    secretRefs: {},
    timeout: { seconds: DNS_TIMEOUT_SECONDS },
  };
}

/** The node's DNS server as a RemoteScript over SSH to the node. */
export function dnsServer(
  name: string,
  node: ConnectionInput,
  settings: DnsServerSettings,
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  return featureResource(name, { connection: node }, renderDnsServer(settings), {}, opts);
}
