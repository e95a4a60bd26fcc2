// The backup before a deletion: a resource per guest that depends on the guest's container or VM and is replaced
// with it, so Pulumi deletes it first whenever the guest is deleted or replaced (a golden template rebuilt, a node,
// storage or privilege change, a destroy). Its delete backs the guest up with vzdump through the node's API (snapshot
// mode where the volumes allow it, as Proxmox decides), waits for the task, checks the archive is listed on the
// storage, keeps the newest N such backups and FAILS when the backup fails, with the reason: then nothing is deleted.
import * as pulumi from "@pulumi/pulumi";
import { type LogTarget, openRunLog } from "../engine/log";
import { type PveApi, isMissing, pveSession, taskFailure } from "../engine/pve-api";
import { plainState } from "../engine/state";
import { guardNotes, isGuardBackup } from "../../definition/backup-notes";

export { GUARD_NOTES } from "../../definition/backup-notes";

export interface BackupGuardInputs {
  api: PveApi;
  node: string;
  type: "lxc" | "qemu";
  vmid: number;
  guest: string;
  /** False: the guest is deleted without a backup (backupBeforeReplace: false). */
  enabled: boolean;
  /** The node's backup storage; none makes a deletion stop with the way out. */
  storage?: string;
  mode: "snapshot" | "suspend" | "stop";
  /** vzdump's compress: zstd, gzip, lzo or 0. */
  compress: string;
  /** Backups of this kind kept for the guest, newest first. */
  keep: number;
  log?: LogTarget;
}

export type BackupGuardOutputs = BackupGuardInputs;

/**
 * What replaces the guard (with its guest): another guest or type. Another node alone is in place: a guest migrated
 * there keeps its data, and one replaced there replaces its guard anyway (its vmid comes from the guest's container).
 */
export function diffGuard(olds: BackupGuardOutputs, news: BackupGuardInputs): pulumi.dynamic.DiffResult {
  const replaces = (["vmid", "type"] as const).filter((k) => olds[k] !== news[k]);
  const changed = (["node", "enabled", "storage", "mode", "compress", "keep", "guest"] as const).some((k) => olds[k] !== news[k]);
  const apiChanged = JSON.stringify(olds.api) !== JSON.stringify(news.api);
  return { changes: replaces.length > 0 || changed || apiChanged, replaces, deleteBeforeReplace: true };
}

function label(i: BackupGuardInputs): string {
  return `${i.guest} (${i.type === "lxc" ? "CT" : "VM"} ${i.vmid} on node '${i.node}')`;
}

/** The way out, said with every refusal. */
function wayOut(i: BackupGuardInputs): string {
  return (
    `nothing was deleted. Fix what stopped the backup (the backup storage is nodes[].backup.storage of node '${i.node}': it ` +
    `needs backup content and room for the guest), or set backupBeforeReplace: false on '${i.guest}' and run up once ` +
    "before the change that deletes it"
  );
}

/** Checks, when the guard is made or changed, that the storage it will back up to is there and holds backups. */
async function checkStorage(i: BackupGuardInputs): Promise<void> {
  if (!i.enabled || !i.storage) return;
  const s = await pveSession(i.api);
  const status = await s
    .call<{ content?: string }>("GET", `nodes/${i.node}/storage/${encodeURIComponent(i.storage)}/status`)
    .catch((e: Error) => {
      throw new Error(`backup storage '${i.storage}' of node '${i.node}' cannot be used: ${e.message}`);
    });
  if (
    !String(status.content ?? "")
      .split(",")
      .includes("backup")
  )
    throw new Error(
      `backup storage '${i.storage}' of node '${i.node}' does not hold backup content (it holds ${status.content})`,
    );
}

/** The backup itself: vzdump, wait, check it is listed, prune the older ones. Throws with the reason when it fails. */
export async function backupBeforeDelete(i: BackupGuardOutputs): Promise<string | undefined> {
  if (!i.enabled) return undefined;
  const log = openRunLog(i.log);
  const s = await pveSession(i.api);
  try {
    await s.call("GET", `nodes/${i.node}/${i.type}/${i.vmid}/status/current`);
  } catch (e) {
    if (isMissing(e)) {
      log.note(`${label(i)} is already gone: nothing to back up`);
      return undefined;
    }
    throw new Error(`backing up ${label(i)} before deleting it: ${(e as Error).message}; ${wayOut(i)}`);
  }
  if (!i.storage) throw new Error(`${label(i)} is about to be deleted, but node '${i.node}' has no backup storage; ${wayOut(i)}`);
  const t0 = Date.now();
  log.note(`backing up ${label(i)} to '${i.storage}' (mode ${i.mode}) before it is deleted`);
  const task = await s
    .task("POST", `nodes/${i.node}/vzdump`, {
      vmid: i.vmid,
      storage: i.storage,
      mode: i.mode,
      compress: i.compress,
      remove: 0,
      "notes-template": guardNotes(i.guest),
    })
    .catch((e: Error) => {
      throw new Error(`backing up ${label(i)} to '${i.storage}' failed: ${e.message}; ${wayOut(i)}`);
    });
  if (task.exitstatus !== "OK") {
    log.note(task.log.join("\n"));
    throw new Error(`backing up ${label(i)} to '${i.storage}' failed: ${taskFailure(task)}; ${wayOut(i)}`);
  }
  const listed = await s.call<{ volid: string; ctime?: number; notes?: string; protected?: number }[]>(
    "GET",
    `nodes/${i.node}/storage/${encodeURIComponent(i.storage)}/content`,
    { content: "backup", vmid: i.vmid },
  );
  const ours = listed
    .filter((b) => isGuardBackup(b.notes))
    .sort((a, b) => (b.ctime ?? 0) - (a.ctime ?? 0) || (a.volid < b.volid ? 1 : -1));
  const newest = ours[0];
  if (!newest || (newest.ctime ?? 0) < Math.floor(t0 / 1000) - 1)
    throw new Error(`vzdump of ${label(i)} ended OK but no new backup is listed on '${i.storage}'; ${wayOut(i)}`);
  log.note(`backup ${newest.volid} taken in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const old of ours.slice(i.keep).filter((b) => !b.protected)) {
    const del = await s.task(
      "DELETE",
      `nodes/${i.node}/storage/${encodeURIComponent(i.storage)}/content/${encodeURIComponent(old.volid)}`,
    );
    log.note(
      del.exitstatus === "OK"
        ? `removed older backup ${old.volid} (keeping ${i.keep})`
        : `could not remove ${old.volid}: ${del.exitstatus}`,
    );
  }
  return newest.volid;
}

export const backupGuardProvider: pulumi.dynamic.ResourceProvider<BackupGuardInputs, BackupGuardOutputs> = {
  async check(_olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (news.enabled && news.keep !== undefined && !(Number.isInteger(news.keep) && news.keep >= 1))
      failures.push({ property: "keep", reason: "keep at least one backup" });
    return { inputs: news, failures };
  },
  async diff(_id, olds, news) {
    return diffGuard(olds, news);
  },
  async create(inputs) {
    await checkStorage(inputs);
    return { id: `${inputs.node}/${inputs.vmid}`, outs: plainState(inputs) };
  },
  async update(_id, _olds, news) {
    await checkStorage(news);
    return { outs: plainState(news) };
  },
  async delete(_id, props) {
    await backupBeforeDelete(props);
  },
};

export interface BackupGuardArgs {
  api: pulumi.Input<PveApi>;
  node: pulumi.Input<string>;
  type: pulumi.Input<"lxc" | "qemu">;
  /** The guest's vmid as its container or VM reports it: the guard is replaced (deleted first) with the guest. */
  vmid: pulumi.Input<number>;
  guest: pulumi.Input<string>;
  enabled: pulumi.Input<boolean>;
  storage?: pulumi.Input<string>;
  mode: pulumi.Input<"snapshot" | "suspend" | "stop">;
  compress: pulumi.Input<string>;
  keep: pulumi.Input<number>;
}

/** A guest's backup before deletion (see the top of this file). */
export class BackupGuard extends pulumi.dynamic.Resource {
  constructor(name: string, args: BackupGuardArgs, opts: pulumi.CustomResourceOptions) {
    super(
      backupGuardProvider,
      name,
      { ...args, api: pulumi.secret(args.api), log: { stack: pulumi.getStack(), resource: name } },
      { ...opts, additionalSecretOutputs: ["api"] },
      "phoenix",
      "BackupGuard",
    );
  }
}
