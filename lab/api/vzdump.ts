// vzdump as Proxmox runs it (pve-manager PVE/VZDump.pm, pve-container PVE/VZDump/LXC.pm), for containers: one
// worker for the whole job holding the node's global vzdump lock, and per guest the `backup` lock, the mode (a guest
// that is not running is backed up in stop mode; snapshot mode needs every included volume to snapshot, else it falls
// back to suspend), a temporary `vzdump` snapshot, the archive on a storage with backup content, notes, protection,
// pruning, the per-guest log beside the archive, and the job failing with "job errors" when a guest failed.
import { type PruneOptions, archiveName, parseArchiveName, pruneMarks, renderNotes } from "../pve/backup";
import { type PveConfig, printConfigFile } from "../pve/pve-config";
import { type TaskLog, hms as duration, logStamp as stamp } from "../pve/tasks";
import { type ApiContext, loadConfig } from "./context";
import { canSnapshot, createSnapshot, deleteSnapshot, snapshotVolumes } from "./snapshots";
import { mountKind, parseMountPoint } from "../pve/lxc-config";

export type BackupMode = "snapshot" | "suspend" | "stop";

export interface VzdumpJob {
  /** Guests to back up, in order; ids with no guest fail visibly ("unable to find VM"). */
  vmids: number[];
  storage: string;
  mode: BackupMode;
  compress?: string;
  remove: boolean;
  prune: PruneOptions;
  notesTemplate?: string;
  protected: boolean;
  stdexcludes: boolean;
  excludePaths: string[];
  /** Minutes to wait for a clean shutdown in stop mode. */
  stopwait: number;
  /** What the task log names the job: `vzdump 200 --mode snapshot …`. */
  cmdline: string;
}

/** The node's global vzdump lock (/var/run/vzdump.lock): one job at a time, the others wait for it. */
const globalLock = new WeakMap<ApiContext, { tail: Promise<void>; holders: number }>();

/** PVE::VZDump::format_size. */
function formatSize(bytes: number): string {
  const kb = bytes / 1024;
  if (kb < 1024) return `${Math.round(kb)}KB`;
  const mb = kb / 1024;
  if (mb < 1024) return `${Math.round(mb)}MB`;
  return `${(mb / 1024).toFixed(2)}GB`;
}

/** Runs a whole job; throws "job errors" when a guest failed, or the storage problem when none could start. */
export async function runVzdump(ctx: ApiContext, job: VzdumpJob, log: TaskLog): Promise<void> {
  const lock = globalLock.get(ctx) ?? { tail: Promise.resolve(), holders: 0 };
  globalLock.set(ctx, lock);
  const before = lock.tail;
  let release!: () => void;
  lock.tail = before.then(() => new Promise<void>((r) => (release = r)));
  const waited = lock.holders++ > 0;
  if (waited) log("INFO: trying to get global lock - waiting...");
  await before;
  if (waited) log("INFO: got global lock");
  try {
    await checkStorage(ctx, job.storage);
    log(`INFO: starting new backup job: ${job.cmdline}`);
    let errors = 0;
    for (const vmid of job.vmids) if (!(await backupGuest(ctx, job, vmid, log))) errors++;
    log(errors ? "INFO: Backup job finished with errors" : "INFO: Backup job finished successfully");
    if (errors) throw new Error("job errors");
  } finally {
    lock.holders--;
    release();
  }
}

async function checkStorage(ctx: ApiContext, id: string): Promise<void> {
  const s = (await ctx.backend.listStorage()).find((x) => x.id === id);
  const why = !s
    ? `storage '${id}' does not exist`
    : !s.content.includes("backup")
      ? `can't use storage '${id}' for backups - wrong content type`
      : undefined;
  if (why) throw new Error(`could not get storage information for '${id}': ${why}`);
}

/** One guest's backup; its messages go to the task log and (with time stamps) to the log beside the archive. */
async function backupGuest(ctx: ApiContext, job: VzdumpJob, vmid: number, taskLog: TaskLog): Promise<boolean> {
  const guestLog: string[] = [];
  const info = (msg: string, toGuestLog = true) => {
    for (const line of msg.split("\n")) {
      taskLog(`INFO: ${line}`);
      if (toGuestLog) guestLog.push(`${stamp()} INFO: ${line}`);
    }
  };
  const start = Math.floor(Date.now() / 1000);
  const type = (await ctx.backend.listGuests()).find((g) => g.vmid === vmid)?.type;
  const at = new Date();
  const filename = type ? archiveName(type, vmid, at, job.compress) : undefined;
  let ok = false;
  try {
    if (!type) throw new Error(`unable to find VM '${vmid}'`);
    info(`Starting Backup of VM ${vmid} (${type})`);
    info(`Backup started at ${stamp()}`, false);
    if (type === "qemu")
      throw new Error("the lab cannot write VMA archives (Proxmox's VM backup format): VM backups are not implemented here");
    await backupContainer(ctx, job, vmid, filename!, info);
    info(`Finished Backup of VM ${vmid} (${duration(Math.floor(Date.now() / 1000) - start)})`);
    info(`Backup finished at ${stamp()}`, false);
    ok = true;
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).trim();
    taskLog(`ERROR: Backup of VM ${vmid} failed - ${msg}`);
    guestLog.push(`${stamp()} ERROR: Backup of VM ${vmid} failed - ${msg}`);
    info(`Failed at ${stamp()}`, false);
  }
  if (filename)
    await ctx.backend
      .writeDumpFile(job.storage, `${parseArchiveName(filename)!.logName}.log`, `${guestLog.join("\n")}\n`)
      .catch(() => {});
  return ok;
}

type Info = (msg: string, toGuestLog?: boolean) => void;

/** What the chosen mode did to the guest, to be undone when the archive is written (or failed). */
interface Prepared {
  mode: BackupMode;
  snapshotTaken: boolean;
  restart: boolean;
  frozen: boolean;
}

/** The mode vzdump ends up with, and what it does first: a temporary snapshot, a shutdown, or a freeze. */
async function prepare(ctx: ApiContext, job: VzdumpJob, vmid: number, running: boolean, config: PveConfig, info: Info) {
  const log: TaskLog = (line) => info(line);
  const p: Prepared = { mode: running ? job.mode : "stop", snapshotTaken: false, restart: false, frozen: false };
  if (p.mode === "snapshot" && !(await canSnapshot(ctx, config))) {
    info("mode failure - some volumes do not support snapshots");
    info("trying 'suspend' mode instead");
    p.mode = "suspend";
  }
  info(`backup mode: ${p.mode}`);
  info("ionice priority: 7");
  if (p.mode === "snapshot") {
    const stale = (await loadConfig(ctx, "lxc", vmid)).sections.vzdump;
    const leftovers = [];
    for (const v of snapshotVolumes(config))
      if ((await ctx.backend.volumeSnapshots(v.volid)).includes("vzdump")) leftovers.push(v.volid);
    if (stale || leftovers.length) {
      info("found old vzdump snapshot (force removal)");
      if (stale) await deleteSnapshot(ctx, vmid, "vzdump", true, log);
      // the lab's own leftover: a storage snapshot whose config section is gone (its removal was cut short)
      for (const volid of leftovers) await ctx.backend.volumeSnapshotDelete(volid, "vzdump", log);
    }
    info("create storage snapshot 'vzdump'");
    await createSnapshot(ctx, vmid, "vzdump", "vzdump backup snapshot", log, true);
    p.snapshotTaken = true;
  } else if (p.mode === "stop" && running) {
    info("stopping virtual guest");
    await ctx.backend.shutdownGuest("lxc", vmid, { timeout: job.stopwait * 60, forceStop: true }, log);
    p.restart = true;
  } else if (p.mode === "suspend") {
    info("suspending guest (the lab freezes it for the whole archive)");
    await ctx.backend.freezeGuest("lxc", vmid);
    p.frozen = true;
  }
  return p;
}

/** Undoes what prepare did: thaw, unlock, drop the temporary snapshot, start a guest that was stopped. */
async function cleanup(ctx: ApiContext, vmid: number, p: Prepared, info: Info): Promise<void> {
  const log: TaskLog = (line) => info(line);
  if (p.frozen) {
    info("resuming guest");
    await ctx.backend.thawGuest("lxc", vmid).catch(() => {});
  }
  ctx.locks.delete(vmid);
  if (p.snapshotTaken) {
    info("cleanup temporary 'vzdump' snapshot");
    await deleteSnapshot(ctx, vmid, "vzdump", true, log).catch((e: Error) => info(`unable to remove snapshot: ${e.message}`));
  }
  if (p.restart) {
    info("restarting vm");
    const since = Date.now();
    await ctx.backend.startGuest("lxc", vmid, (await loadConfig(ctx, "lxc", vmid)).config, log);
    info(`guest is online again after ${Math.max(1, Math.round((Date.now() - since) / 1000))} seconds`);
  }
}

async function backupContainer(ctx: ApiContext, job: VzdumpJob, vmid: number, filename: string, info: Info): Promise<void> {
  const { backend } = ctx;
  const file = await loadConfig(ctx, "lxc", vmid);
  await checkBackupLimit(ctx, job, vmid);
  const running = (await backend.runtime("lxc", vmid)).status === "running";
  info(`status = ${running ? "running" : "stopped"}`);
  const held = ctx.locks.get(vmid);
  if (held) throw new Error(`CT is locked (${held})`);
  ctx.locks.set(vmid, "backup");
  const hostname = file.config.hostname ?? `CT${vmid}`;
  let prepared: Prepared = { mode: "stop", snapshotTaken: false, restart: false, frozen: false };
  try {
    info(`CT Name: ${hostname}`);
    const volumes = includedVolumes(file.config, info);
    prepared = await prepare(ctx, job, vmid, running, file.config, info);
    const storage = (await backend.listStorage()).find((s) => s.id === job.storage)!;
    info(`creating vzdump archive '${storage.path ?? `/mnt/pve/${storage.id}`}/dump/${filename}'`);
    const { size } = await backend.writeContainerArchive(
      {
        vmid,
        storage: job.storage,
        filename,
        ...(job.compress ? { compress: job.compress } : {}),
        config: archivedConfig(file),
        firewall: "",
        volumes: volumes.map((v) => ({ ...v, ...(prepared.snapshotTaken ? { snapshot: "vzdump" } : {}) })),
        excludes: [
          ...(job.stdexcludes ? ["./tmp/?*", "./var/tmp/?*", "./var/run/?*.pid"] : []),
          ...job.excludePaths.map((p) => (p.startsWith("/") ? `.${p}` : p)),
        ],
      },
      (line) => info(line),
    );
    info(`archive file size: ${formatSize(size)}`);
    await finishArchive(ctx, job, vmid, filename, hostname, info);
  } finally {
    await cleanup(ctx, vmid, prepared, info);
  }
}

/** rootfs, and volume mount points with backup=1; what is left out is said, as vzdump says it. */
function includedVolumes(config: Record<string, string>, info: (msg: string) => void) {
  const out: { volid: string; path: string }[] = [];
  for (const v of snapshotVolumes(config)) {
    const mp = parseMountPoint(v.key, config[v.key]!);
    if (v.key !== "rootfs" && mp.backup !== "1") {
      info(`excluding volume mount point ${v.key} ('${v.path}') from backup (disabled)`);
      continue;
    }
    info(`including mount point ${v.key} ('${v.path}') in backup`);
    out.push({ volid: v.volid, path: v.path });
  }
  for (const key of Object.keys(config).filter((k) => /^mp\d+$/.test(k))) {
    const mp = parseMountPoint(key, config[key]!);
    const kind = mountKind(mp.volume!);
    if (kind !== "volume") info(`excluding ${kind} mount point ${key} ('${mp.mp}') from backup (not a volume)`);
  }
  return out;
}

/** The config that goes into the archive: without lock, snapshots, parent and pending. */
function archivedConfig(file: { config: Record<string, string>; lxc: [string, string][] }): string {
  const { lock: _l, parent: _p, snapstate: _s, snaptime: _t, ...config } = file.config;
  return printConfigFile({ config, lxc: file.lxc, sections: {} });
}

/** With remove=0 and a retention limit, vzdump refuses to exceed it rather than prune. */
async function checkBackupLimit(ctx: ApiContext, job: VzdumpJob, vmid: number): Promise<void> {
  if (job.remove || job.prune["keep-all"]) return;
  const limit = Object.entries(job.prune).reduce((a, [k, v]) => a + (k === "keep-all" ? 0 : (v ?? 0)), 0);
  if (!limit) return;
  const count = (await ctx.backend.listContent(job.storage)).filter(
    (v) => v.content === "backup" && v.vmid === vmid && v.subtype === "lxc" && !v.protected,
  ).length;
  if (count >= limit)
    throw new Error(
      `There is a max backup limit of ${limit} enforced by the target storage or the vzdump parameters. Either increase the limit or delete old backups.`,
    );
}

async function finishArchive(
  ctx: ApiContext,
  job: VzdumpJob,
  vmid: number,
  filename: string,
  hostname: string,
  info: (msg: string) => void,
): Promise<void> {
  const volid = `${job.storage}:backup/${filename}`;
  if (job.notesTemplate) {
    info("adding notes to backup");
    const notes = renderNotes(job.notesTemplate, { cluster: "standalone node", guestname: hostname, node: ctx.node, vmid });
    await ctx.backend.setBackupAttributes(volid, { notes });
  }
  if (job.protected) {
    info("marking backup as protected");
    await ctx.backend.setBackupAttributes(volid, { protected: true });
  }
  if (!job.remove) return;
  const keep = Object.entries(job.prune)
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(", ");
  info(`prune older backups with retention: ${keep}`);
  const group = (await ctx.backend.listContent(job.storage)).filter(
    (v) => v.content === "backup" && v.vmid === vmid && v.subtype === "lxc",
  );
  const marks = pruneMarks(
    group.map((v) => ({ volid: v.volid, ctime: v.ctime ?? 0, ...(v.protected ? { protected: true } : {}) })),
    job.prune,
  );
  let pruned = 0;
  for (const [old, mark] of marks)
    if (mark === "remove") {
      info(`removing backup '${old}'`);
      await ctx.backend.deleteContent(old);
      pruned++;
    }
  info(`pruned ${pruned} backup(s)${pruned > 0 ? " not covered by keep-retention policy" : ""}`);
}
