// One guest's Proxmox firewall (<vmid>.fw): its rules once the guest exists, then its options, so enabling it never
// drops traffic before the rules that allow it are there.
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import type { PlannedGuestFirewall } from "../plan/firewall";
import { guestOptionsArgs, guestRulesArgs } from "./args/firewall";

export interface GuestFirewallArgs {
  firewall: PlannedGuestFirewall;
  /** The provider of the guest's node. */
  provider: proxmox.Provider;
  /** The guest's machine, and the datacenter's aliases, IP sets and groups its rules may name. */
  dependsOn: pulumi.Resource[];
}

export class GuestFirewall extends pulumi.ComponentResource {
  readonly rules?: proxmox.firewall.RulesLegacy;
  readonly options: proxmox.firewall.OptionsLegacy;

  constructor(name: string, args: GuestFirewallArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:GuestFirewall", name, {}, opts);
    const { firewall: g, provider } = args;
    const child = { parent: this, provider };
    if (g.rules.length > 0)
      this.rules = new proxmox.firewall.RulesLegacy(`${name}-rules`, guestRulesArgs(g), { ...child, dependsOn: args.dependsOn });
    this.options = new proxmox.firewall.OptionsLegacy(`${name}-options`, guestOptionsArgs(g), {
      ...child,
      dependsOn: [...args.dependsOn, ...(this.rules ? [this.rules] : [])],
    });
    this.registerOutputs({});
  }
}
