// Container snapshots as Proxmox takes them (pve-guest-common's AbstractConfig, pve-container's LXC/Config.pm): a
// `[name]` section holding the then-current config with snaptime and description (snapstate while it is being made
// or removed), the current config's `parent` pointing at the newest, a storage snapshot of every volume (the guest
// frozen around them while it runs), rollback only to a volume's most recent snapshot (ZFS), the guest stopped first.
import type { ConfigFile, PveConfig } from "../pve/pve-config";
import type { TaskLog } from "../pve/tasks";
import { type ApiContext, checkLock, loadConfig } from "./context";
import { fail } from "./errors";
import { isMountKey, mountKind, parseMountPoint } from "../pve/lxc-config";
import { parseVolid } from "../pve/volumes";

/** Storage types whose volumes Proxmox can snapshot (has_feature 'snapshot'), of those the lab knows. */
const SNAPSHOT_STORAGES = new Set(["zfspool", "zfs", "lvmthin", "rbd", "btrfs"]);

export const RESERVED_SNAPSHOT_NAMES = ["current", "vzdump"];

/** rootfs and the volume mount points of a config (bind and device mounts are not snapshotted). */
export function snapshotVolumes(config: PveConfig): { key: string; volid: string; path: string }[] {
  return Object.keys(config)
    .filter(isMountKey)
    .map((key) => {
      const mp = parseMountPoint(key, config[key]!);
      return { key, volid: mp.volume!, path: key === "rootfs" ? "/" : mp.mp! };
    })
    .filter((v) => mountKind(v.volid) === "volume");
}

/** Whether every volume can be snapshotted (vzdump's snapshot mode asks the same). */
export async function canSnapshot(ctx: ApiContext, config: PveConfig): Promise<boolean> {
  const storages = await ctx.backend.listStorage();
  return snapshotVolumes(config).every((v) => {
    const s = storages.find((x) => x.id === parseVolid(v.volid)?.storage);
    return s !== undefined && SNAPSHOT_STORAGES.has(s.type);
  });
}

/** The config a snapshot section keeps: everything but snapshots, state, lock, digest, description and unusedN. */
function snapshotCopy(config: PveConfig): PveConfig {
  const out: PveConfig = {};
  for (const [k, v] of Object.entries(config))
    if (!["snapstate", "snaptime", "lock", "digest", "description"].includes(k) && !/^unused\d+$/.test(k)) out[k] = v;
  return out;
}

function unusedVolumes(config: PveConfig): string[] {
  return Object.keys(config)
    .filter((k) => /^unused\d+$/.test(k))
    .map((k) => config[k]!);
}

export function isSnapshotSection(name: string): boolean {
  return name !== "pending" && name !== "pve:pending";
}

async function running(ctx: ApiContext, vmid: number): Promise<boolean> {
  return (await ctx.backend.runtime("lxc", vmid)).status === "running";
}

/** Checks that make a create fail before its worker starts. */
export async function checkSnapshotCreate(ctx: ApiContext, vmid: number, name: string, internal = false): Promise<ConfigFile> {
  const file = await loadConfig(ctx, "lxc", vmid);
  if (!internal && RESERVED_SNAPSHOT_NAMES.includes(name)) throw fail(`unable to use snapshot name '${name}' (reserved name)`);
  if (file.config.template === "1") throw fail("you can't take a snapshot if it's a template");
  if (file.sections[name]) throw fail(`snapshot name '${name}' already used`);
  if (!internal) checkLock(ctx, "lxc", vmid);
  if (!(await canSnapshot(ctx, file.config))) throw fail("snapshot feature is not available");
  return file;
}

export async function createSnapshot(
  ctx: ApiContext,
  vmid: number,
  name: string,
  description: string | undefined,
  log: TaskLog,
  internal = false,
): Promise<void> {
  const file = await checkSnapshotCreate(ctx, vmid, name, internal);
  const section: PveConfig = {
    ...snapshotCopy(file.config),
    snapstate: "prepare",
    snaptime: String(Math.floor(Date.now() / 1000)),
  };
  if (description) section.description = description;
  file.sections[name] = section;
  await ctx.backend.writeConfig("lxc", vmid, file);
  const volumes = snapshotVolumes(file.config);
  const freeze = (await running(ctx, vmid)) && (volumes.length > 1 || !internal);
  try {
    if (freeze) await ctx.backend.freezeGuest("lxc", vmid);
    try {
      for (const v of volumes) await ctx.backend.volumeSnapshot(v.volid, name, log);
    } finally {
      if (freeze) await ctx.backend.thawGuest("lxc", vmid);
    }
  } catch (e) {
    for (const v of volumes) await ctx.backend.volumeSnapshotDelete(v.volid, name, log).catch(() => {});
    const now = await loadConfig(ctx, "lxc", vmid);
    delete now.sections[name];
    await ctx.backend.writeConfig("lxc", vmid, now);
    throw e;
  }
  const done = await loadConfig(ctx, "lxc", vmid);
  delete done.sections[name]!.snapstate;
  done.config.parent = name;
  await ctx.backend.writeConfig("lxc", vmid, done);
}

export async function deleteSnapshot(ctx: ApiContext, vmid: number, name: string, force: boolean, log: TaskLog): Promise<void> {
  const file = await loadConfig(ctx, "lxc", vmid);
  const snap = file.sections[name];
  if (!snap || !isSnapshotSection(name)) throw fail(`snapshot '${name}' does not exist`);
  snap.snapstate = "delete";
  await ctx.backend.writeConfig("lxc", vmid, file);
  for (const v of snapshotVolumes(snap)) {
    try {
      await ctx.backend.volumeSnapshotDelete(v.volid, name, log);
    } catch (e) {
      if (!force) throw e;
      log(`${(e as Error).message}`);
    }
  }
  const now = await loadConfig(ctx, "lxc", vmid);
  const parent = now.sections[name]?.parent;
  delete now.sections[name];
  for (const cfg of [now.config, ...Object.values(now.sections)])
    if (cfg.parent === name) {
      if (parent) cfg.parent = parent;
      else delete cfg.parent;
    }
  await ctx.backend.writeConfig("lxc", vmid, now);
}

/** Checks made before the rollback's worker starts. */
export async function checkRollback(ctx: ApiContext, vmid: number, name: string, locked = false): Promise<PveConfig> {
  const file = await loadConfig(ctx, "lxc", vmid);
  if (file.config.template === "1") throw fail("you can't rollback if vm is a template");
  const snap = file.sections[name];
  if (!snap || !isSnapshotSection(name)) throw fail(`snapshot '${name}' does not exist`);
  if (snap.snapstate) throw fail(`unable to rollback to incomplete snapshot (snapstate = ${snap.snapstate})`);
  if (!locked) checkLock(ctx, "lxc", vmid);
  for (const v of snapshotVolumes(snap)) {
    const snaps = await ctx.backend.volumeSnapshots(v.volid);
    if (!snaps.includes(name)) throw fail(`snapshot '${name}' does not exist on volume '${v.volid}'`);
    if (snaps[snaps.length - 1] !== name)
      throw fail(`can't rollback, '${name}' is not most recent snapshot on '${parseVolid(v.volid)?.volname ?? v.volid}'`);
  }
  return snap;
}

/** Rolls back; `locked` when the caller holds the guest's rollback lock. */
export async function rollbackSnapshot(ctx: ApiContext, vmid: number, name: string, log: TaskLog, locked = false): Promise<void> {
  const snap = await checkRollback(ctx, vmid, name, locked);
  if (await running(ctx, vmid)) {
    log(`stopping CT ${vmid}`);
    await ctx.backend.stopGuest("lxc", vmid, log);
  }
  for (const v of snapshotVolumes(snap)) await ctx.backend.volumeSnapshotRollback(v.volid, name, log);
  const file = await loadConfig(ctx, "lxc", vmid);
  const restored: PveConfig = { ...snapshotCopy(snap), parent: name };
  if (file.config.description !== undefined) restored.description = file.config.description;
  // volumes the snapshot does not know stay with the container, unused, as Proxmox keeps them
  const kept = new Set(snapshotVolumes(restored).map((v) => v.volid));
  let n = 0;
  for (const v of [...snapshotVolumes(file.config).map((x) => x.volid), ...unusedVolumes(file.config)])
    if (!kept.has(v)) {
      while (restored[`unused${n}`] !== undefined) n++;
      restored[`unused${n}`] = v;
      kept.add(v);
    }
  await ctx.backend.writeConfig("lxc", vmid, { config: restored, lxc: file.lxc, sections: file.sections });
}
