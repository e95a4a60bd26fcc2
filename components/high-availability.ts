// Proxmox HA for the guests that ask for it: an HA resource per guest once the guest exists, then the rules that
// name them (node preference, spread groups). Made again with their guest: a guest made anew is not yet HA-managed.
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import type { PlannedHa } from "../plan/ha";
import { haResourceArgs, haRuleArgs } from "./args/ha";

export interface HighAvailabilityArgs {
  ha: PlannedHa;
  /** A provider of the cluster (any node's: HA is the cluster's). */
  provider: proxmox.Provider;
  /** Each HA guest's Proxmox resource (its container or VM), by guest name. */
  guests: ReadonlyMap<string, pulumi.Resource>;
}

export class HighAvailability extends pulumi.ComponentResource {
  readonly resources = new Map<string, proxmox.Haresource>();
  readonly rules: proxmox.Harule[] = [];

  constructor(name: string, args: HighAvailabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:HighAvailability", name, {}, opts);
    const { ha, provider, guests } = args;
    const guestOf = (g: string) => guests.get(g)!;
    // deleteBeforeReplace: one resource per sid and one rule per id, so the old one goes before the new one comes.
    const child = { parent: this, provider, deleteBeforeReplace: true };
    for (const r of ha.resources) {
      const guest = guestOf(r.guest);
      this.resources.set(
        r.guest,
        new proxmox.Haresource(`${r.guest}-ha`, haResourceArgs(r), { ...child, dependsOn: [guest], replaceWith: [guest] }),
      );
    }
    for (const rule of ha.rules)
      this.rules.push(
        new proxmox.Harule(`ha-rule-${rule.rule}`, haRuleArgs(rule), {
          ...child,
          dependsOn: rule.guests.map((g) => this.resources.get(g)!),
          replaceWith: rule.guests.map(guestOf),
        }),
      );
    this.registerOutputs({});
  }
}
