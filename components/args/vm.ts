// Plan → arguments of proxmoxve.VmLegacy (a full clone of a cloud-init template). Pure.
import type * as proxmox from "@muhlba91/pulumi-proxmoxve";
import type * as pulumi from "@pulumi/pulumi";
import type { PlannedMachine } from "../../plan/plan";
import { ipv4Config } from "./container";

export interface VmContext {
  password?: pulumi.Input<string>;
  /** Keys from the definition's access section, added to the cloud-init user's own. */
  sshKeys?: pulumi.Input<string>[];
}

export function vmArgs(m: PlannedMachine, ctx: VmContext = {}): proxmox.VmLegacyArgs {
  if (m.type !== "vm") throw new Error(`${m.name} is a ${m.type}, not a VM`);
  if (m.source.kind !== "clone") throw new Error(`VM ${m.name} must be cloned from a VM template`);
  const ci = m.cloudInit;
  return {
    nodeName: m.node,
    vmId: m.vmid,
    name: m.name,
    ...(m.description ? { description: m.description } : {}),
    tags: [...m.tags].sort(),
    clone: { vmId: m.source.vmid, full: true, ...(m.disk ? { datastoreId: m.disk.storage } : {}) },
    agent: { enabled: true },
    ...(m.cores !== undefined ? { cpu: { cores: m.cores, type: "host" } } : {}),
    ...(m.memory !== undefined ? { memory: { dedicated: m.memory } } : {}),
    ...(m.disk ? { disks: [{ interface: "virtio0", datastoreId: m.disk.storage, size: m.disk.size }] } : {}),
    networkDevices: m.network.map((n) => ({
      bridge: n.bridge,
      model: "virtio",
      ...(n.mac ? { macAddress: n.mac } : {}),
      ...(n.vlan !== undefined ? { vlanId: n.vlan } : {}),
      ...(n.firewall !== undefined ? { firewall: n.firewall } : {}),
    })),
    initialization: {
      // The cloud-init drive goes with the VM's disk; Proxmox's default (local-lvm) may not exist.
      ...(m.disk ? { datastoreId: m.disk.storage } : {}),
      ipConfigs: m.network.map(ipv4Config),
      ...(m.nameservers.length || m.searchDomain
        ? {
            dns: {
              ...(m.nameservers.length ? { servers: m.nameservers } : {}),
              ...(m.searchDomain ? { domain: m.searchDomain } : {}),
            },
          }
        : {}),
      userAccount: {
        username: ci?.user ?? "phoenix",
        keys: [...(ci?.sshKeys ?? []), ...(ctx.sshKeys ?? [])],
        ...(ctx.password ? { password: ctx.password } : {}),
      },
    },
    hostpcis: m.hostpci.map((h) => ({ device: h.device, mapping: h.mapping, pcie: h.pcie })),
    ...(m.hostpci.length ? { machine: "q35" } : {}),
    onBoot: m.startAtBoot,
    ...(m.bootOrder !== undefined || m.bootDelay !== undefined
      ? {
          startup: {
            ...(m.bootOrder !== undefined ? { order: m.bootOrder } : {}),
            ...(m.bootDelay !== undefined ? { upDelay: m.bootDelay } : {}),
          },
        }
      : {}),
    started: true,
  };
}
