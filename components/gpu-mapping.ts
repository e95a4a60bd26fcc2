// GPU passthrough on one node: a cluster PCI mapping per GPU for VMs; containers use device nodes (planned).
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import type { PciMapping } from "../plan/gpu";
import { pciMappingArgs } from "./args/host";

export interface GpuMappingArgs {
  mapping: PciMapping;
  provider: proxmox.Provider;
  /** The mapping existed before the stack (phoenix adopt): imported by this id instead of created. */
  importId?: string;
}

export class GpuMapping extends pulumi.ComponentResource {
  readonly mappingId: pulumi.Output<string>;

  constructor(name: string, args: GpuMappingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:GpuMapping", name, {}, opts);
    const pci = new proxmox.hardware.mapping.PciLegacy(name, pciMappingArgs(args.mapping), {
      parent: this,
      provider: args.provider,
      ...(args.importId ? { import: args.importId } : {}),
    });
    this.mappingId = pci.name;
    this.registerOutputs({ mappingId: this.mappingId });
  }
}
