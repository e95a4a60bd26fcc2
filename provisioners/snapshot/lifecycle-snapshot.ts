// Lifecycle snapshots, the original system's final-form: a Proxmox snapshot of the guest taken through the node's API
// once its features ran, and again whenever they run anew (the hashes of its provisioning steps change), named
// <name>-YYYYMMDD-HHMMSS (UTC), the newest `keep` kept. Refresh notices the newest one deleted behind Phoenix's back
// and the next up takes a new one; `phoenix rollback` goes back to one.
import * as pulumi from "@pulumi/pulumi";
import { type LogTarget, openRunLog } from "../engine/log";
import { type PveApi, type PveSession, isMissing, pveSession, taskFailure } from "../engine/pve-api";
import { plainState } from "../engine/state";

export interface LifecycleSnapshotInputs {
  api: PveApi;
  node: string;
  type: "lxc" | "qemu";
  vmid: number;
  guest: string;
  /** Snapshot names start with it. */
  name: string;
  keep: number;
  /** What the guest's provisioning is (its steps' hashes): a change takes a new snapshot. */
  provisioned: string[];
  log?: LogTarget;
}

export interface LifecycleSnapshotOutputs extends LifecycleSnapshotInputs {
  /** Phoenix's snapshots of the guest, oldest first. */
  snapshots: string[];
  /** False after a refresh found the newest one gone. */
  inSync: boolean;
}

/** Names of this kind, oldest first. */
export function ourSnapshots(all: { name: string }[], prefix: string): string[] {
  const re = new RegExp(`^${prefix.replace(/[-_]/g, "\\$&")}-\\d{8}-\\d{6}$`);
  return all
    .map((s) => s.name)
    .filter((n) => re.test(n))
    .sort();
}

export function snapshotName(prefix: string, at: Date): string {
  return `${prefix}-${at.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15)}`;
}

const base = (i: LifecycleSnapshotInputs) => `nodes/${i.node}/${i.type}/${i.vmid}/snapshot`;

async function list(s: PveSession, i: LifecycleSnapshotInputs): Promise<string[]> {
  return ourSnapshots(await s.call<{ name: string }[]>("GET", base(i)), i.name);
}

/** Takes a snapshot (unless only the rotation changed) and deletes the oldest beyond `keep`. */
async function snapshotAndRotate(i: LifecycleSnapshotInputs, take: boolean): Promise<LifecycleSnapshotOutputs> {
  const log = openRunLog(i.log);
  const s = await pveSession(i.api);
  if (take) {
    let name = snapshotName(i.name, new Date());
    const existing = await list(s, i);
    while (existing.includes(name)) {
      await new Promise((r) => setTimeout(r, 1000));
      name = snapshotName(i.name, new Date());
    }
    const t = await s.task("POST", base(i), { snapname: name, description: `Phoenix: ${i.guest} after its features ran` });
    if (t.exitstatus !== "OK") throw new Error(`snapshot '${name}' of ${i.guest} (${i.vmid}) failed: ${taskFailure(t)}`);
    log.note(`took snapshot ${name} of ${i.guest}`);
  }
  const ours = await list(s, i);
  for (const old of ours.slice(0, Math.max(0, ours.length - i.keep))) {
    const t = await s.task("DELETE", `${base(i)}/${old}`);
    if (t.exitstatus !== "OK") throw new Error(`deleting snapshot '${old}' of ${i.guest} failed: ${taskFailure(t)}`);
    log.note(`deleted snapshot ${old} of ${i.guest} (keeping ${i.keep})`);
  }
  return plainState({ ...i, snapshots: await list(s, i), inSync: true });
}

export const lifecycleSnapshotProvider: pulumi.dynamic.ResourceProvider<LifecycleSnapshotInputs, LifecycleSnapshotOutputs> = {
  async diff(_id, olds, news) {
    const replaces = (["node", "vmid", "type"] as const).filter((k) => olds[k] !== news[k]);
    const changed =
      JSON.stringify(olds.provisioned) !== JSON.stringify(news.provisioned) ||
      olds.inSync === false ||
      (["keep", "name", "guest"] as const).some((k) => olds[k] !== news[k]) ||
      JSON.stringify(olds.api) !== JSON.stringify(news.api);
    return { changes: replaces.length > 0 || changed, replaces, deleteBeforeReplace: true };
  },
  async create(inputs) {
    return { id: `${inputs.node}/${inputs.vmid}/${inputs.name}`, outs: await snapshotAndRotate(inputs, true) };
  },
  async update(_id, olds, news) {
    const take =
      JSON.stringify(olds.provisioned) !== JSON.stringify(news.provisioned) || olds.inSync === false || olds.name !== news.name;
    return { outs: await snapshotAndRotate(news, take) };
  },
  async read(id, props) {
    if (!props) throw new Error(`cannot read ${id}: no state`);
    const s = await pveSession(props.api);
    try {
      const snapshots = await list(s, props);
      const newest = props.snapshots[props.snapshots.length - 1];
      return { id, props: plainState({ ...props, snapshots, inSync: newest === undefined || snapshots.includes(newest) }) };
    } catch (e) {
      if (isMissing(e)) return { id: "", props };
      throw e;
    }
  },
  async delete(_id, props) {
    const s = await pveSession(props.api);
    let ours: string[];
    try {
      ours = await list(s, props);
    } catch (e) {
      if (isMissing(e)) return;
      throw e;
    }
    for (const name of ours.reverse()) {
      const t = await s.task("DELETE", `${base(props)}/${name}`);
      if (t.exitstatus !== "OK") throw new Error(`deleting snapshot '${name}' of ${props.guest} failed: ${taskFailure(t)}`);
    }
  },
};

export interface LifecycleSnapshotArgs {
  api: pulumi.Input<PveApi>;
  node: pulumi.Input<string>;
  type: pulumi.Input<"lxc" | "qemu">;
  /** The guest's vmid as its container or VM reports it: replaced with the guest. */
  vmid: pulumi.Input<number>;
  guest: pulumi.Input<string>;
  name: pulumi.Input<string>;
  keep: pulumi.Input<number>;
  provisioned: pulumi.Input<pulumi.Input<string>[]>;
}

export class LifecycleSnapshot extends pulumi.dynamic.Resource {
  declare readonly snapshots: pulumi.Output<string[]>;

  constructor(name: string, args: LifecycleSnapshotArgs, opts: pulumi.CustomResourceOptions) {
    super(
      lifecycleSnapshotProvider,
      name,
      {
        ...args,
        api: pulumi.secret(args.api),
        log: { stack: pulumi.getStack(), resource: name },
        snapshots: undefined,
        inSync: undefined,
      },
      { ...opts, additionalSecretOutputs: ["api"] },
      "phoenix",
      "LifecycleSnapshot",
    );
  }
}
