// One Proxmox node's own resources: its provider, the GPU mappings its VMs use, its NVIDIA driver and its ZFS
// datasets. Machines on the node wait for `ready` (driver and mappings) and for the datasets they use.
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import { verifyApiCertificate } from "../provisioners/engine/api-certificate";
import { HostKeyPin } from "../provisioners/engine/host-key-pin";
import type { ConnectionInput } from "../provisioners/engine/script-provider";
import { nvidiaHostDriver } from "../provisioners/nvidia/nvidia-host";
import { nvidiaGpuInit } from "../provisioners/nvidia/nvidia-gpu-init";
import { vfioPreparation } from "../provisioners/vfio/vfio";
import type { PlannedNode } from "../plan/plan";
import type { PveApi } from "../provisioners/engine/pve-api";
import { pveApiArgs } from "./args/backup";
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
  /** PCI mapping id → import id, for mappings that existed before the stack (phoenix adopt). */
  pciImports?: ReadonlyMap<string, string>;
}

export class NodeHost extends pulumi.ComponentResource {
  readonly provider: proxmox.Provider;
  /** SSH to the node, when the definition gives it: node-side steps, pct and datasets go through it, with its pinned key. */
  readonly ssh?: ConnectionInput;
  /** The node's host key, pinned once (nodes[].ssh.hostKey, or its first contact) for every connection to it. */
  readonly hostKey?: HostKeyPin;
  /** What every machine on the node waits for: the host driver and the PCI mappings. */
  readonly ready: pulumi.Resource[] = [];
  readonly datasets = new Map<string, ZfsDataset>();
  /** The node's API with the provider's credentials, for the backup and snapshot providers. */
  readonly api?: pulumi.Output<PveApi>;

  constructor(name: string, args: NodeHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:NodeHost", name, {}, opts);
    // These were children of PhoenixHypervisor before NodeHost existed: the alias keeps their URNs' history.
    const child = { parent: this, aliases: opts?.parent ? [{ parent: opts.parent }] : [] };
    const { node } = args;
    const ssh = node.ssh;
    const address = ssh
      ? { host: ssh.host, port: ssh.port, user: ssh.user, ...(args.sshKey ? { privateKey: args.sshKey } : {}) }
      : undefined;
    // The key is pinned before anything else connects: the Proxmox provider's SSH (which reads it from known_hosts,
    // written by the pin) included.
    if (address) {
      this.hostKey = new HostKeyPin(
        `${node.name}-host-key`,
        {
          connection: { ...address, ...(ssh!.hostKey ? { hostKey: ssh!.hostKey } : {}) },
          knownHosts: true,
          label: `node ${node.name}`,
        },
        { parent: this },
      );
      this.ssh = { ...address, hostKey: this.hostKey.hostKey };
    }
    // A pinned certificate is checked before the provider can use the endpoint (it cannot pin by itself).
    const api = node.api;
    const endpoint =
      api?.fingerprint !== undefined
        ? pulumi.output(verifyApiCertificate(node.name, api.endpoint, api.fingerprint).then(() => api.endpoint))
        : undefined;
    this.provider = new proxmox.Provider(node.name, providerArgs(node, args, endpoint), {
      ...child,
      ...(this.hostKey ? { dependsOn: [this.hostKey] } : {}),
    });
    this.api = pveApiArgs(node, args);
    for (const g of node.gpuMappings.filter((g) => args.vmGpus.has(g.index)))
      this.ready.push(
        new GpuMapping(
          g.id,
          {
            mapping: g,
            provider: this.provider,
            ...(args.pciImports?.has(g.id) ? { importId: args.pciImports.get(g.id)! } : {}),
          },
          child,
        ),
      );
    if (this.ssh) {
      // The node's own driver first: every guest on the node waits for it (their userland must match it).
      const driver = node.nvidiaDriver;
      if (driver?.installOnHost)
        this.ready.push(
          nvidiaHostDriver(
            `${node.name}-nvidia-driver`,
            this.ssh,
            {
              version: driver.version,
              runfileSha256: driver.runfileSha256 ?? "",
              ...(driver.timeout !== undefined ? { timeout: driver.timeout } : {}),
            },
            child,
          ),
        );
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
