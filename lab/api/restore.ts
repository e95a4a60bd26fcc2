// `pct restore`: POST /nodes/{node}/lxc with restore=1 and a backup as ostemplate (task vzrestore). As
// pve-container's create_vm and LXC/Create.pm do it: the backed-up config recovered from ./etc/vzdump/pct.conf, its
// disk layout re-created on `storage`, the archive extracted into the new volumes, the backed-up config merged under
// the given parameters (never its rootfs, mpN, unusedN, snapshots, parent, lock or template; raw lxc.* only for
// root@pam), and with force=1 an existing stopped, unprotected container replaced: its volumes go once the new ones
// hold the archive, and a failure leaves it as it was.
import type { Identity } from "./auth";
import { type ApiContext, LABEL, checkVmidUnused, loadConfig, lockedTask } from "./context";
import { fail } from "./errors";
import { isMountKey, mountKind, ownedVolumes, parseMountPoint, printMountPoint } from "../pve/lxc-config";
import { type ConfigFile, type PveConfig, formatSize, parseConfigFile } from "../pve/pve-config";
import { allocateVolume, findVolume, getStorage } from "./storage-ops";
import { parseVolid } from "../pve/volumes";
import type { TaskLog } from "../pve/tasks";

/** Keys the restored config never takes from the backup. */
const NOT_RESTORED = /^(digest|rootfs|mp\d+|unused\d+|parent|lock|template|snapstate|snaptime)$/;

export async function restoreContainer(
  ctx: ApiContext,
  identity: Identity,
  params: Record<string, string>,
  options: PveConfig,
): Promise<string> {
  const vmid = Number(params.vmid);
  const archive = params.ostemplate!;
  const storage = params.storage ?? "local";
  const existing = await ctx.backend.readConfig("lxc", vmid);
  if (!(existing && params.force === "1")) await checkVmidUnused(ctx, vmid);
  else {
    if ((await ctx.backend.runtime("lxc", vmid)).status === "running") throw fail("can't overwrite running container");
    if (existing.config.protection === "1") throw fail(`unable to restore CT ${vmid} - protection mode enabled`);
  }
  const v = parseVolid(archive);
  if (!v) throw fail(`unable to parse volume ID '${archive}'`);
  await getStorage(ctx, v.storage, "backup");
  if (!(await findVolume(ctx, archive))) throw fail(`volume '${archive}' does not exist`);
  await getStorage(ctx, storage, "rootdir");
  return lockedTask(ctx, identity, "vzrestore", vmid, "create", async (log) => {
    const allocated: string[] = [];
    try {
      log(`recovering backed-up configuration from '${archive}'`);
      const backed = parseConfigFile(await ctx.backend.readArchiveConfig(archive));
      const conf = mergeConfig(backed, options, params, identity);
      await allocateLayout(ctx, vmid, backed.config, options, storage, conf, allocated, log);
      log(`restoring '${archive}' now..`);
      await ctx.backend.extractContainerArchive({ archive, vmid, config: conf }, log);
      const lxc = identity.isRoot ? backed.lxc : [];
      if (!identity.isRoot && backed.lxc.length) log("skipping raw lxc.* keys of the backup: only root@pam may restore them");
      await ctx.backend.writeConfig("lxc", vmid, { config: conf, lxc, sections: {} } satisfies ConfigFile);
      if (existing)
        for (const { volid } of ownedVolumes(existing.config))
          if (!allocated.includes(volid)) {
            log(`destroying old volume ${volid}`);
            await ctx.backend.destroyVolume(volid, log).catch((e: Error) => log(`unable to remove old volume: ${e.message}`));
          }
    } catch (e) {
      for (const volid of allocated) await ctx.backend.destroyVolume(volid, log).catch(() => {});
      if (existing) await ctx.backend.writeConfig("lxc", vmid, existing);
      else await ctx.backend.deleteConfig("lxc", vmid).catch(() => {});
      throw new Error(`unable to restore CT ${vmid} - ${(e as Error).message}`);
    }
    if (params.start === "1") {
      log(`starting ${LABEL.lxc} ${vmid}`);
      await ctx.backend.startGuest("lxc", vmid, (await loadConfig(ctx, "lxc", vmid)).config, log);
    }
  });
}

/** The backed-up config under the given options: what is never restored dropped, unprivileged kept unless given. */
function mergeConfig(backed: ConfigFile, options: PveConfig, params: Record<string, string>, identity: Identity): PveConfig {
  const conf: PveConfig = {};
  for (const [k, val] of Object.entries(backed.config)) if (!NOT_RESTORED.test(k)) conf[k] = val;
  for (const [k, val] of Object.entries(options)) if (!isMountKey(k)) conf[k] = val;
  if (params.unique === "1")
    for (const k of Object.keys(conf).filter((x) => /^net\d+$/.test(x))) conf[k] = conf[k]!.replace(/(^|,)hwaddr=[^,]*/, "");
  // bind and device mount points come back only for root@pam
  for (const k of Object.keys(backed.config).filter((x) => /^mp\d+$/.test(x))) {
    const mp = parseMountPoint(k, backed.config[k]!);
    if (mountKind(mp.volume!) !== "volume" && identity.isRoot && options[k] === undefined) conf[k] = backed.config[k]!;
  }
  return conf;
}

/** rootfs and volume mount points: the given ones, else the backup's sizes re-created on `storage`. */
async function allocateLayout(
  ctx: ApiContext,
  vmid: number,
  backed: PveConfig,
  options: PveConfig,
  storage: string,
  conf: PveConfig,
  allocated: string[],
  log: TaskLog,
): Promise<void> {
  const keys = [...new Set([...Object.keys(backed), ...Object.keys(options)])]
    .filter(isMountKey)
    .sort((a, b) => (a === "rootfs" ? -1 : b === "rootfs" ? 1 : a.localeCompare(b, "en", { numeric: true })));
  for (const key of keys) {
    const given = options[key] !== undefined ? parseMountPoint(key, options[key]!) : undefined;
    const old = backed[key] !== undefined ? parseMountPoint(key, backed[key]!) : undefined;
    if (!given && old && mountKind(old.volume!) !== "volume") continue;
    const mp = { ...(old ?? {}), ...(given ?? {}) };
    if (given?.volume && !/^[^:]+:\d+(\.\d+)?$/.test(given.volume)) {
      conf[key] = printMountPoint(key, mp); // an existing volume or a bind mount, as given
      continue;
    }
    const spec = given?.volume && /^[^:]+:\d+(\.\d+)?$/.test(given.volume) ? given.volume.split(":") : undefined;
    const target = spec?.[0] ?? storage;
    const bytes = spec ? Math.round(Number(spec[1]) * 1024 ** 3) : Number(old?.size ?? 4 * 1024 ** 3);
    const volid = await allocateVolume(ctx, target, vmid, "rootdir", bytes, log);
    allocated.push(volid);
    mp.volume = volid;
    mp.size = String(bytes);
    conf[key] = printMountPoint(key, mp);
    log(`${key}: ${volid} (${formatSize(bytes)})`);
  }
}
