// Plan → arguments of proxmoxve.ContainerLegacy. Pure: no resources are created here.
import type * as proxmox from "@muhlba91/pulumi-proxmoxve";
import type * as pulumi from "@pulumi/pulumi";
import type { PlannedInterface, PlannedMachine } from "../../plan/plan";

export interface ContainerContext {
  /** Volume id of the OS template when the container is created rather than cloned, e.g. local:vztmpl/x.tar.zst. */
  templateFileId?: pulumi.Input<string>;
  /** SSH public keys for root, applied as Proxmox does at create time. */
  sshKeys?: pulumi.Input<string>[];
  rootPassword?: pulumi.Input<string>;
  /**
   * A clone's node as its golden template's container reports it (the plan's node otherwise): the clone depends on the
   * template through this input, which the provider cannot change in place, so a rebuilt template replaces its clones
   * in dependency order (their backup guards first, see components/node-backups.ts).
   */
  nodeName?: pulumi.Input<string>;
}

export function ipv4Config(n: PlannedInterface) {
  return { ipv4: n.ip === "dhcp" ? { address: "dhcp" } : { address: n.ip, ...(n.gateway ? { gateway: n.gateway } : {}) } };
}

export function containerArgs(m: PlannedMachine, ctx: ContainerContext = {}): proxmox.ContainerLegacyArgs {
  if (m.type !== "lxc") throw new Error(`${m.name} is a ${m.type}, not a container`);
  const clone = m.source.kind === "clone" ? { vmId: m.source.vmid, full: false } : undefined;
  return {
    nodeName: ctx.nodeName ?? m.node,
    vmId: m.vmid,
    ...(m.description ? { description: m.description } : {}),
    tags: [...m.tags].sort(),
    unprivileged: m.unprivileged,
    ...(clone ? { clone } : {}),
    ...(m.source.kind === "create" && ctx.templateFileId ? { operatingSystem: { templateFileId: ctx.templateFileId } } : {}),
    ...(m.cores !== undefined ? { cpu: { cores: m.cores } } : {}),
    ...(m.memory !== undefined || m.swap !== undefined
      ? {
          memory: {
            ...(m.memory !== undefined ? { dedicated: m.memory } : {}),
            ...(m.swap !== undefined ? { swap: m.swap } : {}),
          },
        }
      : {}),
    ...(m.disk ? { disk: { datastoreId: m.disk.storage, size: m.disk.size } } : {}),
    features: { nesting: m.nesting, ...(m.keyctl ? { keyctl: true } : {}) },
    networkInterfaces: m.network.map((n) => ({
      name: n.name,
      bridge: n.bridge,
      ...(n.mac ? { macAddress: n.mac } : {}),
      ...(n.vlan !== undefined ? { vlanId: n.vlan } : {}),
      ...(n.firewall !== undefined ? { firewall: n.firewall } : {}),
    })),
    initialization: {
      hostname: m.name,
      ipConfigs: m.network.map(ipv4Config),
      ...(m.nameservers.length || m.searchDomain
        ? {
            dns: {
              ...(m.nameservers.length ? { servers: m.nameservers } : {}),
              ...(m.searchDomain ? { domain: m.searchDomain } : {}),
            },
          }
        : {}),
      ...(ctx.sshKeys || ctx.rootPassword
        ? {
            userAccount: {
              ...(ctx.sshKeys ? { keys: ctx.sshKeys } : {}),
              ...(ctx.rootPassword ? { password: ctx.rootPassword } : {}),
            },
          }
        : {}),
    },
    devicePassthroughs: m.devices.map((path) => ({ path, mode: "0666" })),
    mountPoints: m.mountPoints.map((mp) => ({
      volume: mp.source,
      path: mp.path,
      ...(mp.readOnly ? { readOnly: true } : {}),
      ...(mp.backup ? { backup: true } : {}),
    })),
    startOnBoot: m.startAtBoot,
    ...(m.bootOrder !== undefined || m.bootDelay !== undefined
      ? {
          startup: {
            ...(m.bootOrder !== undefined ? { order: m.bootOrder } : {}),
            ...(m.bootDelay !== undefined ? { upDelay: m.bootDelay } : {}),
          },
        }
      : {}),
    // Golden templates run while their features are applied; the freeze step converts them afterwards.
    started: true,
    template: false,
  };
}
