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
import { type AdoptionDecision, CREATE_TIME_FIELDS } from "../plan/adoption";
import { migrationBlocker } from "../plan/moves";
import { GuestPlacement } from "../provisioners/placement/guest-placement";
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
  /** `from`: this up migrates it from that node (plan/moves.ts); `migrated`: it was, so its create-time fields are Proxmox's. */
  migration?: { from?: string; migrated: boolean };
}

export class LxcContainer extends pulumi.ComponentResource {
  readonly vmid: pulumi.Output<number>;
  readonly container: proxmox.ContainerLegacy;
  readonly provisioning?: GuestProvisioning;

  constructor(name: string, args: LxcContainerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:LxcContainer", name, {}, opts);
    const m = args.machine;
    const adopted = args.adoption;
    const owned = this.ownMounts(name, args, opts);
    const placed = this.place(name, args, opts);
    // A golden template is converted by its freeze step after provisioning; the provider must not undo that.
    const ignoreChanges = [
      ...new Set([
        ...(m.kind === "template" ? ["template", "started"] : []),
        ...(adopted?.ignoreChanges ?? []),
        ...placed.ignore,
      ]),
    ];
    // A clone takes its node from its template's container: rebuilt, the template replaces it (node_name cannot change in
    // place), and the clone's backup guard runs first, in dependency order (a replaceWith would delete the clone before
    // its guard: components/node-backups.ts). An adopted clone is kept as it runs, whatever its template does.
    const cloneOf = args.template && !adopted ? { nodeName: args.template.container.nodeName } : {};
    this.container = new proxmox.ContainerLegacy(name, containerArgs(m, { ...args.context, ...cloneOf }), {
      parent: this,
      provider: args.provider,
      ...(owned.length > 0 || placed.placement ? { dependsOn: [...owned, ...(placed.placement ? [placed.placement] : [])] } : {}),
      // Deleted through its placement (after its backup guard): a migrated guest's old state never reaches the provider.
      ...(placed.placement ? { deletedWith: placed.placement } : {}),
      // Its vmid is fixed: a replacement must make room first.
      deleteBeforeReplace: true,
      protect: m.protect,
      ...(ignoreChanges.length > 0 ? { ignoreChanges } : {}),
      ...(adopted?.importId ? { import: adopted.importId } : placed.importId ? { import: placed.importId } : {}),
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
  /** Mount points' host directories get their owners (shifted through the id map) before the container mounts them. */
  private ownMounts(name: string, args: LxcContainerArgs, opts?: pulumi.ComponentResourceOptions): pulumi.Resource[] {
    const m = args.machine;
    const owners = m.mountPoints.flatMap((mp) =>
      mp.owner ? [{ path: mp.source, uid: mp.owner.hostUid, gid: mp.owner.hostGid }] : [],
    );
    if (owners.length === 0) return [];
    if (!args.node)
      throw new Error(`'${m.name}' has mount owners, which are set through SSH to node '${m.node}': set nodes[].ssh`);
    const adopt = args.adoption?.checkFirst ? { adopt: true } : {};
    return [
      mountOwner(`${name}-mount-owner`, { connection: args.node, ...adopt }, owners, {
        parent: this,
        ...(opts?.dependsOn ? { dependsOn: opts.dependsOn } : {}),
      }),
    ];
  }

  /**
   * A guest's place in the cluster (provisioners/placement/): its create migrates the guest when its node changes.
   * The up then imports the container where the migration took it (the preview, before it, keeps the state's node),
   * and what Proxmox read back stays: the OS template file, the clone and root's password are create-time only.
   */
  private place(
    name: string,
    args: LxcContainerArgs,
    opts?: pulumi.ComponentResourceOptions,
  ): { placement?: GuestPlacement; ignore: string[]; importId?: string } {
    const m = args.machine;
    if (m.kind !== "guest" || !args.api) return { ignore: [] };
    // After what the guest needs (and a clone after its golden template): deleted before them, as the provider would.
    const given = opts?.dependsOn;
    const needs = (Array.isArray(given) ? given : given ? [given] : []) as pulumi.Input<pulumi.Resource>[];
    const placement = new GuestPlacement(
      `${name}-placement`,
      {
        api: args.api,
        node: m.node,
        vmid: m.vmid,
        guest: m.name,
        migrate: migrationBlocker(m) === undefined,
        ...(args.migration?.from ? { from: args.migration.from } : {}),
      },
      { parent: this, dependsOn: [...needs, ...(args.template ? [args.template.container] : [])] },
    );
    const moving = args.migration?.from !== undefined;
    const dryRun = pulumi.runtime.isDryRun();
    return {
      placement,
      ignore: [...(moving || args.migration?.migrated ? CREATE_TIME_FIELDS.lxc : []), ...(moving && dryRun ? ["nodeName"] : [])],
      ...(moving && !dryRun ? { importId: `${m.node}/${m.vmid}` } : {}),
    };
  }
}
