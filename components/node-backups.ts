// One node's backups: a guard per machine that backs it up before Pulumi deletes it (provisioners/backup/), a barrier
// every guard depends on so all of the node's backups run before any of its machines is deleted, and the node's
// scheduled jobs as proxmoxve.backup.Job (Proxmox's /cluster/backup, bound to the node).
//
// Ordering: a guard takes its guest's vmid from the guest's container or VM, a property dependency. When the guest is
// deleted or replaced (delete-before-replace), Pulumi deletes dependents first, and a dependent whose input comes from
// the guest is replaced with it: the guard's delete, the backup, runs before the guest's. A replaceWith would order it
// less surely: Pulumi deletes replaceWith dependents in no fixed order, ahead of the dependency chain. (Clones depend
// on their golden template the same way, through nodeName: lxc-container.ts.)
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import { BackupBarrier } from "../provisioners/backup/backup-barrier";
import { BackupGuard } from "../provisioners/backup/backup-guard";
import type { PlannedMachine, PlannedNode } from "../plan/plan";
import { backupJobArgs, guardSettings } from "./args/backup";
import type { LxcContainer } from "./lxc-container";
import type { NodeHost } from "./node-host";
import type { QemuVm } from "./qemu-vm";

export interface NodeBackupsArgs {
  node: PlannedNode;
  host: NodeHost;
  /** The node's machines and their components. */
  machines: { plan: PlannedMachine; component: LxcContainer | QemuVm }[];
}

export class NodeBackups extends pulumi.ComponentResource {
  readonly guards = new Map<string, BackupGuard>();
  readonly jobs: proxmox.backup.Job[] = [];

  constructor(name: string, args: NodeBackupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:NodeBackups", name, {}, opts);
    const { node, host } = args;
    if (host.api && args.machines.length > 0) {
      // Depending on the machines' components waits for all their resources: containers, provisioning, snapshots.
      const barrier = new BackupBarrier(
        `${node.name}-backup-barrier`,
        { node: node.name },
        { parent: this, dependsOn: args.machines.map((m) => m.component) },
      );
      for (const { plan: m, component } of args.machines)
        this.guards.set(
          m.name,
          new BackupGuard(
            `${m.name}-backup`,
            { api: host.api, vmid: component.vmid, ...guardSettings(m, node) },
            { parent: this, dependsOn: [barrier], deleteBeforeReplace: true },
          ),
        );
    }
    for (const j of node.backupJobs ?? [])
      this.jobs.push(
        // Its id is fixed: a replacement must make room first.
        new proxmox.backup.Job(j.id, backupJobArgs(j), { parent: this, provider: host.provider, deleteBeforeReplace: true }),
      );
    this.registerOutputs({});
  }
}
