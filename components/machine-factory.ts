// Turns one planned machine into its component: an LxcContainer (guest or golden template) or a QemuVm, with what
// it needs from the node, its golden template and the stack's secrets.
import * as pulumi from "@pulumi/pulumi";
import type { ConnectionInput } from "../provisioners/engine/script-provider";
import type { PlannedMachine, PlannedNode } from "../plan/plan";
import type { AdoptionDecision } from "../plan/adoption";
import { LxcContainer } from "./lxc-container";
import type { NodeHost } from "./node-host";
import { QemuVm } from "./qemu-vm";

export interface MachineContext {
  host: NodeHost;
  node: PlannedNode;
  /** Pulumi secret config values by key (hfToken, portainerAdminPassword, …). */
  secrets: Record<string, pulumi.Output<string>>;
  definitionDir: string;
  /** Root's keys in containers made from a template file, and the cloud-init user's in VMs. */
  sshKeys: pulumi.Output<string>[];
  /** The private half of one of sshKeys: VMs are provisioned over SSH with it. */
  guestPrivateKey?: pulumi.Output<string>;
  /** Volume ids of the base templates that are files, by template name. */
  templateFiles: ReadonlyMap<string, pulumi.Output<string>>;
  /** Golden templates' build hashes (components/args/template-build.ts), by name. */
  builds: ReadonlyMap<string, string>;
  /** The golden template this machine is cloned from, when it is an LXC one built here. */
  golden?: LxcContainer;
  /** A VM's cloud-init password, resolved. */
  vmPassword?: pulumi.Output<string>;
  /** The machine ran before the stack (phoenix adopt). */
  adoption?: AdoptionDecision;
  /** This up migrates it from another node; it was migrated before (components/lxc-container.ts). */
  migration?: { from?: string; migrated: boolean };
  opts: pulumi.ComponentResourceOptions;
}

export function createMachine(m: PlannedMachine, c: MachineContext): LxcContainer | QemuVm {
  const provisioning = { secrets: c.secrets, definitionDir: c.definitionDir, apparmorProfiles: c.node.apparmorProfiles };
  const node: { node: ConnectionInput } | object = c.host.ssh ? { node: c.host.ssh } : {};
  if (m.type === "lxc")
    return new LxcContainer(
      m.name,
      {
        machine: m,
        provider: c.host.provider,
        ...(c.builds.has(m.name) ? { build: c.builds.get(m.name)! } : {}),
        ...(c.golden ? { template: c.golden } : {}),
        ...(c.host.api ? { api: c.host.api } : {}),
        ...(c.adoption ? { adoption: c.adoption } : {}),
        ...(c.migration ? { migration: c.migration } : {}),
        ...node,
        provisioning,
        context: {
          ...(m.source.kind === "create" ? { templateFileId: c.templateFiles.get(m.source.template)! } : {}),
          // Proxmox takes root's keys only at create time (a clone keeps its template's: bpg#1905).
          ...(c.sshKeys.length && m.source.kind === "create" ? { sshKeys: c.sshKeys } : {}),
        },
      },
      c.opts,
    );
  return new QemuVm(
    m.name,
    {
      machine: m,
      provider: c.host.provider,
      ...node,
      ...(c.host.api ? { api: c.host.api } : {}),
      provisioning: { ...provisioning, ...(c.guestPrivateKey ? { guestPrivateKey: c.guestPrivateKey } : {}) },
      context: { sshKeys: c.sshKeys, ...(c.vmPassword ? { password: c.vmPassword } : {}) },
      ...(c.adoption ? { adoption: c.adoption } : {}),
    },
    c.opts,
  );
}
