// The internal DNS server (network.dns): Debian's dnsmasq on its node answering <guest>.<domain> and the gateway's
// names, converged over SSH to the node by provisioners/dns.
import * as pulumi from "@pulumi/pulumi";
import type { PlannedDns } from "../plan/dns";
import { dnsServer } from "../provisioners/dns/dns";
import type { RemoteScript } from "../provisioners/engine/script-provider";
import type { NodeHost } from "./node-host";

export interface DnsServerArgs {
  dns: PlannedDns;
  /** Its node: the step runs over the node's SSH, with its pinned key. */
  host: NodeHost;
}

export class DnsServer extends pulumi.ComponentResource {
  readonly server: RemoteScript;
  /** fqdn → address, as served. */
  readonly records: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: DnsServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:DnsServer", name, {}, opts);
    const { dns, host } = args;
    if (!host.ssh) throw new Error(`network.dns runs dnsmasq on node '${dns.node}' over SSH: set its nodes[].ssh`);
    this.server = dnsServer(`${name}-dnsmasq`, host.ssh, dns, { parent: this });
    this.records = pulumi.output(Object.fromEntries(dns.records.map((r) => [r.name, r.address])));
    this.registerOutputs({ records: this.records });
  }
}
