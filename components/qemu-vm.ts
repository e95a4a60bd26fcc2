// A QEMU VM cloned from a cloud-init template, with cloud-init user, keys, network and PCI GPUs.
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import { HostKeyPin } from "../provisioners/engine/host-key-pin";
import type { ConnectionInput } from "../provisioners/engine/script-provider";
import type { PlannedMachine } from "../plan/plan";
import type { PveApi } from "../provisioners/engine/pve-api";
import { LifecycleSnapshot } from "../provisioners/snapshot/lifecycle-snapshot";
import type { AdoptionDecision } from "../plan/adoption";
import { type VmContext, vmArgs } from "./args/vm";
import { GuestProvisioning, type GuestProvisioningArgs, needsProvisioning } from "./guest-provisioning";

export interface QemuVmArgs {
  machine: PlannedMachine;
  provider: proxmox.Provider;
  context?: VmContext;
  /** SSH to the node (the node-side steps of provisioning). */
  node?: ConnectionInput;
  /** What in-guest provisioning needs; the VM is reached over SSH at its first address with this key. */
  provisioning?: Omit<GuestProvisioningArgs, "machine" | "node" | "guest" | "dependsOn"> & {
    guestPrivateKey?: pulumi.Input<string>;
  };
  /** The node's API: lifecycle snapshots (machine.snapshots) are taken through it. */
  api?: pulumi.Input<PveApi>;
  /** It ran before the stack (phoenix adopt): imported and kept as it runs. */
  adoption?: AdoptionDecision;
}

export class QemuVm extends pulumi.ComponentResource {
  readonly vmid: pulumi.Output<number>;
  readonly vm: proxmox.VmLegacy;
  readonly provisioning?: GuestProvisioning;
  /** The VM's host key, recorded at its first contact; a rebuilt VM records its new one. */
  readonly hostKey?: HostKeyPin;

  constructor(name: string, args: QemuVmArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:QemuVm", name, {}, opts);
    // Its vmid is fixed: a replacement must make room first.
    const adopted = args.adoption;
    this.vm = new proxmox.VmLegacy(name, vmArgs(args.machine, args.context), {
      parent: this,
      provider: args.provider,
      deleteBeforeReplace: true,
      protect: args.machine.protect,
      ...(adopted && adopted.ignoreChanges.length > 0 ? { ignoreChanges: adopted.ignoreChanges } : {}),
      ...(adopted?.importId ? { import: adopted.importId } : {}),
    });
    this.vmid = this.vm.vmId.apply((v) => v ?? args.machine.vmid);
    const m = args.machine;
    if (needsProvisioning(m)) {
      const host = m.network[0]?.ip.split("/")[0];
      const { guestPrivateKey, ...rest } = args.provisioning ?? ({} as NonNullable<QemuVmArgs["provisioning"]>);
      if (!host || host === "dhcp")
        throw new Error(`VM '${m.name}' is provisioned over SSH and needs a static or pool address on its first interface`);
      if (!guestPrivateKey)
        throw new Error(
          `VM '${m.name}' is provisioned over SSH: set access.sshPrivateKey to a secret holding the private half of one of access.sshKeys`,
        );
      const guest = { host, user: m.cloudInit?.user ?? "phoenix", privateKey: guestPrivateKey };
      this.hostKey = new HostKeyPin(
        `${name}-host-key`,
        { connection: guest, label: `VM ${m.name}` },
        { parent: this, dependsOn: [this.vm], replaceWith: [this.vm] },
      );
      this.provisioning = new GuestProvisioning(
        name,
        {
          ...rest,
          machine: m,
          node: args.node ?? { host },
          guest: { ...guest, hostKey: this.hostKey.hostKey },
          dependsOn: [this.vm],
          replaceWith: [this.vm],
          ...(adopted?.checkFirst ? { adopt: true } : {}),
        },
        { parent: this },
      );
    }
    if (m.snapshots && args.api)
      new LifecycleSnapshot(
        `${name}-snapshot`,
        {
          api: args.api,
          node: m.node,
          type: "qemu",
          vmid: this.vmid,
          guest: m.name,
          name: m.snapshots.name,
          keep: m.snapshots.keep,
          provisioned: this.provisioning?.steps.map((s) => s.hash) ?? [],
        },
        { parent: this, dependsOn: [this.vm, ...(this.provisioning ? [this.provisioning] : [])], deleteBeforeReplace: true },
      );
    this.registerOutputs({ vmid: this.vmid });
  }
}
