// The datacenter's Proxmox firewall (cluster.fw): aliases, IP sets and security groups first, then the datacenter's
// rules, and its options (enable, policies) last, so that turning it on never finds its rules missing.
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import type { PlannedFirewall } from "../plan/firewall";
import { aliasArgs, clusterOptionsArgs, clusterRulesArgs, groupArgs, ipsetArgs } from "./args/firewall";

export interface DatacenterFirewallArgs {
  firewall: PlannedFirewall;
  /** A provider of the cluster (any node's: the datacenter's firewall is the cluster's). */
  provider: proxmox.Provider;
}

export class DatacenterFirewall extends pulumi.ComponentResource {
  /** Aliases, IP sets and groups: what guests' rules may name, so they wait for these. */
  readonly objects: pulumi.Resource[] = [];
  readonly rules?: proxmox.firewall.RulesLegacy;
  readonly options?: proxmox.cluster.FirewallLegacy;

  constructor(name: string, args: DatacenterFirewallArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:DatacenterFirewall", name, {}, opts);
    const { firewall: fw, provider } = args;
    const child = { parent: this, provider };
    for (const a of fw.aliases) this.objects.push(new proxmox.firewall.AliasLegacy(`alias-${a.name}`, aliasArgs(a), child));
    for (const s of fw.ipsets) this.objects.push(new proxmox.firewall.IpsetLegacy(`ipset-${s.name}`, ipsetArgs(s), child));
    // A group's rules may name aliases and IP sets.
    const named = [...this.objects];
    for (const g of fw.groups)
      this.objects.push(
        new proxmox.cluster.firewall.security.GroupLegacy(`group-${g.name}`, groupArgs(g), { ...child, dependsOn: named }),
      );
    const dc = fw.datacenter;
    if (dc) {
      if (dc.rules.length > 0)
        this.rules = new proxmox.firewall.RulesLegacy(`${name}-rules`, clusterRulesArgs(dc), {
          ...child,
          dependsOn: this.objects,
        });
      this.options = new proxmox.cluster.FirewallLegacy(`${name}-options`, clusterOptionsArgs(dc), {
        ...child,
        dependsOn: [...this.objects, ...(this.rules ? [this.rules] : [])],
      });
    }
    this.registerOutputs({});
  }
}
