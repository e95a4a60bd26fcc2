// An LXC container: cloned from a golden template or created from a base one. Golden templates are
// containers too: they run while their features are applied and are frozen afterwards.
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import type { ConnectionInput } from "../provisioners/engine/script-provider";
import { GuestProvisioning, type GuestProvisioningArgs, needsProvisioning } from "./guest-provisioning";
import { freezeTemplate } from "../provisioners/freeze-template/freeze-template";
import { mountOwner } from "../provisioners/mount-owner/mount-owner";
import type { PlannedMachine } from "../plan/plan";
import type { PveApi } from "../provisioners/engine/pve-api";
import { LifecycleSnapshot } from "../provisioners/snapshot/lifecycle-snapshot";
import type { AdoptionDecision } from "../plan/adoption";
import { type ContainerContext, containerArgs } from "./args/container";

export interface LxcContainerArgs {
  machine: PlannedMachine;
  provider: proxmox.Provider;
  context?: ContainerContext;
  /** SSH to the node: features run through it (pct exec) and golden templates are frozen through it. */
  node?: ConnectionInput;
  /** What in-guest provisioning needs besides the machine and the node. */
  provisioning?: Omit<GuestProvisioningArgs, "machine" | "node" | "dependsOn" | "replaceWith">;
  /** A golden template's build (components/args/template-build.ts): a new one rebuilds the template. */
  build?: string;
  /** A clone's golden template: rebuilt, it takes its clones with it. */
  template?: LxcContainer;
  /** The node's API: lifecycle snapshots (machine.snapshots) are taken through it. */
  api?: pulumi.Input<PveApi>;
  /** It ran before the stack (phoenix adopt): imported and kept as it runs, not rebuilt with its template. */
  adoption?: AdoptionDecision;
}

export class LxcContainer extends pulumi.ComponentResource {
  readonly vmid: pulumi.Output<number>;
  readonly container: proxmox.ContainerLegacy;
  readonly provisioning?: GuestProvisioning;

  constructor(name: string, args: LxcContainerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:LxcContainer", name, {}, opts);
    const m = args.machine;
    const adopted = args.adoption;
    // Mount points' host directories get their owners (shifted through the id map) before the container mounts them.
    const owners = m.mountPoints.flatMap((mp) =>
      mp.owner ? [{ path: mp.source, uid: mp.owner.hostUid, gid: mp.owner.hostGid }] : [],
    );
    let owned: pulumi.Resource[] = [];
    if (owners.length > 0) {
      if (!args.node)
        throw new Error(`'${m.name}' has mount owners, which are set through SSH to node '${m.node}': set nodes[].ssh`);
      owned = [
        mountOwner(`${name}-mount-owner`, { connection: args.node, ...(adopted?.checkFirst ? { adopt: true } : {}) }, owners, {
          parent: this,
          ...(opts?.dependsOn ? { dependsOn: opts.dependsOn } : {}),
        }),
      ];
    }
    // A golden template is converted by its freeze step after provisioning; the provider must not undo that.
    const ignoreChanges = [...(m.kind === "template" ? ["template", "started"] : []), ...(adopted?.ignoreChanges ?? [])];
    // A clone takes its node from its template's container: rebuilt, the template replaces it (node_name cannot change in
    // place), and the clone's backup guard runs first, in dependency order (a replaceWith would delete the clone before
    // its guard: components/node-backups.ts). An adopted clone is kept as it runs, whatever its template does.
    const cloneOf = args.template && !adopted ? { nodeName: args.template.container.nodeName } : {};
    this.container = new proxmox.ContainerLegacy(name, containerArgs(m, { ...args.context, ...cloneOf }), {
      parent: this,
      provider: args.provider,
      ...(owned.length > 0 ? { dependsOn: owned } : {}),
      // Its vmid is fixed: a replacement must make room first.
      deleteBeforeReplace: true,
      protect: m.protect,
      ...(ignoreChanges.length > 0 ? { ignoreChanges } : {}),
      ...(adopted?.importId ? { import: adopted.importId } : {}),
      // An adopted machine is kept as it runs: a template's new build or its template's rebuild leaves it alone.
      ...(args.build !== undefined && !adopted ? { replacementTrigger: args.build } : {}),
    });
    this.vmid = this.container.vmId.apply((v) => v ?? m.vmid);
    let provisioned: pulumi.Resource[] = [];
    if (needsProvisioning(m)) {
      if (!args.node)
        throw new Error(`'${m.name}' has features or health checks, which run through SSH to node '${m.node}': set nodes[].ssh`);
      this.provisioning = new GuestProvisioning(
        name,
        {
          ...args.provisioning!,
          machine: m,
          node: args.node,
          dependsOn: [this.container],
          replaceWith: [this.container],
          ...(adopted?.checkFirst ? { adopt: true } : {}),
        },
        { parent: this },
      );
      provisioned = [this.provisioning];
    }
    if (m.snapshots && args.api)
      new LifecycleSnapshot(
        `${name}-snapshot`,
        {
          api: args.api,
          node: m.node,
          type: "lxc",
          vmid: this.vmid,
          guest: m.name,
          name: m.snapshots.name,
          keep: m.snapshots.keep,
          provisioned: this.provisioning?.steps.map((s) => s.hash) ?? [],
        },
        // Replaced with the container through its vmid (deleted after the guest's backup guard, before the container).
        { parent: this, dependsOn: [this.container, ...provisioned], deleteBeforeReplace: true },
      );
    if (m.kind === "template") {
      if (!args.node) throw new Error(`golden template '${m.name}' needs SSH to node '${m.node}' to be frozen`);
      freezeTemplate(
        `${name}-freeze`,
        { node: args.node, vmid: m.vmid, ...(adopted ? { adopt: true } : {}) },
        { parent: this, dependsOn: [this.container, ...provisioned], replaceWith: [this.container] },
      );
    }
    this.registerOutputs({ vmid: this.vmid });
  }
}
