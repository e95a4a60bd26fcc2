// A QEMU VM cloned from a cloud-init template, with cloud-init user, keys, network and PCI GPUs.
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import type { PlannedMachine } from "../stacks/plan/plan";
import { type VmContext, vmArgs } from "./args/vm";

export interface QemuVmArgs {
  machine: PlannedMachine;
  provider: proxmox.Provider;
  context?: VmContext;
}

export class QemuVm extends pulumi.ComponentResource {
  readonly vmid: pulumi.Output<number>;
  readonly vm: proxmox.VmLegacy;

  constructor(name: string, args: QemuVmArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:QemuVm", name, {}, opts);
    this.vm = new proxmox.VmLegacy(name, vmArgs(args.machine, args.context), { parent: this, provider: args.provider });
    this.vmid = this.vm.vmId.apply((v) => v ?? args.machine.vmid);
    this.registerOutputs({ vmid: this.vmid });
  }
}
