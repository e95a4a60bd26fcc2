// One Proxmox node's own resources: its provider, the GPU mappings its VMs use, its NVIDIA driver and its ZFS
// datasets. Machines on the node wait for `ready` (driver and mappings) and for the datasets they use.
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import type { ConnectionInput } from "../provisioners/engine/script-provider";
import { nvidiaHostDriver } from "../provisioners/nvidia/nvidia-host";
import { nvidiaGpuInit } from "../provisioners/nvidia/nvidia-gpu-init";
import { vfioPreparation } from "../provisioners/vfio/vfio";
import type { PlannedNode } from "../plan/plan";
import { providerArgs } from "./args/host";
import { GpuMapping } from "./gpu-mapping";
import { ZfsDataset } from "./zfs-dataset";

export interface NodeHostArgs {
  node: PlannedNode;
  /** GPU indexes of this node that VMs use: each gets a cluster PCI mapping. */
  vmGpus: ReadonlySet<number>;
  apiToken?: pulumi.Input<string>;
  password?: pulumi.Input<string>;
  sshKey?: pulumi.Input<string>;
}

export class NodeHost extends pulumi.ComponentResource {
  readonly provider: proxmox.Provider;
  /** SSH to the node, when the definition gives it: node-side steps, pct and datasets go through it. */
  readonly ssh?: ConnectionInput;
  /** What every machine on the node waits for: the host driver and the PCI mappings. */
  readonly ready: pulumi.Resource[] = [];
  readonly datasets = new Map<string, ZfsDataset>();

  constructor(name: string, args: NodeHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:NodeHost", name, {}, opts);
    // These were children of PhoenixHypervisor before NodeHost existed: the alias keeps their URNs' history.
    const child = { parent: this, aliases: opts?.parent ? [{ parent: opts.parent }] : [] };
    const { node } = args;
    this.provider = new proxmox.Provider(node.name, providerArgs(node, args), child);
    for (const g of node.gpuMappings.filter((g) => args.vmGpus.has(g.index)))
      this.ready.push(new GpuMapping(g.id, { mapping: g, provider: this.provider }, child));
    const ssh = node.ssh;
    if (ssh) {
      this.ssh = {
        host: ssh.host,
        port: ssh.port,
        user: ssh.user,
        ...(args.sshKey ? { privateKey: args.sshKey } : {}),
        ...(ssh.hostKey ? { hostKey: ssh.hostKey } : {}),
      };
      // The node's own driver first: every guest on the node waits for it (their userland must match it).
      if (node.nvidiaDriver?.installOnHost)
        this.ready.push(nvidiaHostDriver(`${node.name}-nvidia-driver`, this.ssh, node.nvidiaDriver.version, child));
      // VFIO before the driver's boot unit: the GPUs VMs take must not get persistence mode from the host driver.
      if (node.vfio)
        this.ready.push(vfioPreparation(`${node.name}-vfio`, this.ssh, node.vfio, { ...child, dependsOn: [...this.ready] }));
      if (node.gpuInit)
        this.ready.push(
          nvidiaGpuInit(`${node.name}-nvidia-init`, this.ssh, node.gpuInit, { ...child, dependsOn: [...this.ready] }),
        );
      for (const d of node.datasets) {
        // A child dataset is created after its parent.
        const parent = this.datasets.get(d.name.slice(0, d.name.lastIndexOf("/")));
        this.datasets.set(
          d.name,
          new ZfsDataset(d.name, { dataset: d, connection: this.ssh }, { ...child, ...(parent ? { dependsOn: [parent] } : {}) }),
        );
      }
    }
    this.registerOutputs({});
  }
}
