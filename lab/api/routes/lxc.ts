// /nodes/{node}/lxc: create from an OS template, clone, config read/update, resize, start/stop/
// shutdown/reboot, status, interfaces, convert to template, destroy — with Proxmox's checks, stored
// encodings, locks and worker tasks. The backend keeps configs and volumes and runs containers.
import { runtimeStatus } from "../guest-status";
import type { Identity } from "../auth";
import {
  type ApiContext,
  changeConfig,
  checkLock,
  checkVmidUnused,
  loadConfig,
  lockedTask,
  missingBridges,
  randomMac,
  requireNode,
  rootOnly,
} from "../context";
import { validateSshPublicKeys } from "../ssh-keys";
import { fail, paramError, modifiedConfig } from "../errors";
import {
  LXC_CLONE,
  LXC_CREATE,
  LXC_NUMBERED,
  LXC_RESIZE,
  LXC_UPDATE,
  NODE,
  VMID,
  jsonValue,
  lxcOption,
} from "../../pve/lxc-schema";
import {
  freeIndex,
  isMountKey,
  mountKind,
  ownedVolumes,
  parseMountPoint,
  printMountPoint,
  storedValue,
} from "../../pve/lxc-config";
import { checkContainerConfigPermissions } from "../permissions";
import { type ConfigFile, type PveConfig, configDigest, parseSize, splitList } from "../../pve/pve-config";
import type { Route } from "../router";
import { allocateVolume, cloneVolume, findVolume, getStorage, makeBase, supportsLinkedClone } from "../storage-ops";
import type { TaskLog } from "../../pve/tasks";
import { restoreContainer } from "../restore";
import { isSnapshotSection } from "../snapshots";
import { parseNewVolumeSpec, parseVolid } from "../../pve/volumes";

const BASE = { node: NODE, vmid: VMID };
const bool = { type: "boolean", optional: true } as const;
const CREATE_ONLY = new Set([
  "node",
  "vmid",
  "ostemplate",
  "password",
  "ssh-public-keys",
  "storage",
  "pool",
  "force",
  "restore",
  "unique",
  "start",
  "ignore-unpack-errors",
  "bwlimit",
]);

/** Keys of the source's config (or snapshot) a clone does not take. */
const NOT_CLONED = new Set(["template", "lock", "parent", "snaptime", "snapstate", "vmstate"]);

/** rootfs, then mp0, mp1, … (Proxmox's valid_volume_keys order). */
function mountOrder(key: string): number {
  return key === "rootfs" ? -1 : Number(key.slice(2));
}

function isTemplate(config: PveConfig): boolean {
  return config.template === "1";
}

export function configJson(ctx: ApiContext, vmid: number, file: ConfigFile): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(file.config)) out[k] = jsonValue(lxcOption(k), v);
  const lock = ctx.locks.get(vmid);
  if (lock) out.lock = lock;
  if (file.lxc.length) out.lxc = file.lxc;
  out.digest = configDigest(file);
  return out;
}

async function isRunning(ctx: ApiContext, vmid: number): Promise<boolean> {
  return (await ctx.backend.runtime("lxc", vmid)).status === "running";
}

/** Options to set, normalized; mount points that ask for a new volume (`storage:size`) are allocated by `allocate`. */
function normalizeOptions(ctx: ApiContext, params: Record<string, string>): PveConfig {
  const out: PveConfig = Object.create(null);
  for (const [k, v] of Object.entries(params)) {
    if (CREATE_ONLY.has(k) || k === "delete" || k === "revert" || k === "digest") continue;
    out[k] = storedValue(k, v, () => randomMac(ctx.macPrefix));
  }
  return out;
}

/** Allocates `storage:size` mount points and prints every mount point in Proxmox's form. */
async function allocateMounts(
  ctx: ApiContext,
  vmid: number,
  conf: PveConfig,
  keys: string[],
  log: TaskLog,
  allocated: string[],
): Promise<void> {
  for (const key of keys) {
    const mp = parseMountPoint(key, conf[key]!);
    const spec = parseNewVolumeSpec(mp.volume!);
    if (spec) {
      const volid = await allocateVolume(ctx, spec.storage, vmid, "rootdir", spec.bytes, log);
      allocated.push(volid);
      mp.volume = volid;
      mp.size = String(spec.bytes);
    } else if (mountKind(mp.volume!) === "volume") {
      const vol = await findVolume(ctx, mp.volume!);
      if (!vol) throw fail(`volume '${mp.volume}' does not exist`);
      if (mp.size === undefined) mp.size = String(vol.size);
    }
    conf[key] = printMountPoint(key, mp);
  }
}

/**
 * Before forking, as create_vm does: every storage a volume mount point allocates on (and `storage` when no rootfs is
 * given) must exist and hold container directories, else a 400 on `storage`.
 */
async function checkContainerStorages(ctx: ApiContext, params: Record<string, string>): Promise<void> {
  const ids = Object.keys(params)
    .filter(isMountKey)
    .map((k) => parseMountPoint(k, params[k]!).volume!)
    .filter((v) => mountKind(v) === "volume")
    .map((v) => parseVolid(v)?.storage ?? v.split(":")[0]!);
  if (params.rootfs === undefined) ids.push(params.storage ?? "local");
  for (const id of new Set(ids)) {
    const s = await getStorage(ctx, id);
    if (!s.content.includes("rootdir")) throw paramError({ storage: `storage '${id}' does not support container directories` });
  }
}

function guestName(config: PveConfig, vmid: number): string {
  return config.hostname ?? `CT${vmid}`;
}

async function listContainers(ctx: ApiContext): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const g of await ctx.backend.listGuests()) {
    if (g.type !== "lxc") continue;
    const file = await ctx.backend.readConfig("lxc", g.vmid);
    if (!file) continue;
    out.push(await statusJson(ctx, g.vmid, file.config));
  }
  return out;
}

async function statusJson(ctx: ApiContext, vmid: number, config: PveConfig): Promise<Record<string, unknown>> {
  const rt = await ctx.backend.runtime("lxc", vmid);
  const rootfs = config.rootfs ? parseMountPoint("rootfs", config.rootfs) : {};
  const mib = 1024 * 1024;
  const out: Record<string, unknown> = {
    vmid,
    name: guestName(config, vmid),
    type: "lxc",
    ...runtimeStatus(rt),
    cpus: Number(config.cores ?? 1),
    maxmem: Number(config.memory ?? 512) * mib,
    maxswap: Number(config.swap ?? 512) * mib,
    swap: 0,
    maxdisk: Number(rootfs.size ?? 0),
  };
  const lock = ctx.locks.get(vmid);
  if (lock) out.lock = lock;
  if (config.tags) out.tags = config.tags;
  if (isTemplate(config)) out.template = 1;
  return out;
}

/** Whether the release the API answers as creates containers unprivileged by default (9.0 and later). */
export function unprivilegedByDefault(version: string): boolean {
  return Number(version.split(".")[0]) >= 9;
}

function vmidOf(params: Record<string, string>): number {
  return Number(params.vmid);
}

// ---------------------------------------------------------------------------------------------

async function create(ctx: ApiContext, identity: Identity, params: Record<string, string>): Promise<string> {
  if (params.restore === "1") {
    const options = normalizeOptions(ctx, params);
    checkContainerConfigPermissions(identity, undefined, options, [], options.unprivileged === "1");
    return restoreContainer(ctx, identity, params, options);
  }
  const vmid = vmidOf(params);
  const storage = params.storage ?? "local";
  const options = normalizeOptions(ctx, params);
  options.rootfs ??= `${storage}:4`;
  // pve-container 6.0.6 (PVE 9.0): a container created without `unprivileged` is unprivileged; 8.x made it privileged.
  if (options.unprivileged === undefined && params.restore !== "1" && unprivilegedByDefault(ctx.version.version))
    options.unprivileged = "1";
  const unprivileged = options.unprivileged === "1";
  if (params["ssh-public-keys"] !== undefined) validateSshPublicKeys(params["ssh-public-keys"]);
  checkContainerConfigPermissions(identity, undefined, options, [], unprivileged);
  await checkContainerStorages(ctx, params);
  const ostemplate = params.ostemplate!;
  if (!ostemplate.startsWith("/")) {
    const v = parseVolid(ostemplate);
    if (!v) throw paramError({ ostemplate: `unable to parse volume ID '${ostemplate}'` });
    await getStorage(ctx, v.storage, "vztmpl");
  }
  await checkVmidUnused(ctx, vmid);
  return lockedTask(ctx, identity, "vzcreate", vmid, "create", async (log) => {
    const allocated: string[] = [];
    try {
      if (!(await findVolume(ctx, ostemplate))) throw new Error(`can't find file '${ostemplate}'`);
      const conf: PveConfig = { ...options };
      conf.arch ??= "amd64";
      conf.ostype ??= /debian/.test(ostemplate)
        ? "debian"
        : /ubuntu/.test(ostemplate)
          ? "ubuntu"
          : /alpine/.test(ostemplate)
            ? "alpine"
            : "unmanaged";
      conf.hostname ??= `CT${vmid}`;
      conf.memory ??= "512";
      conf.swap ??= "512";
      const mounts = Object.keys(conf)
        .filter(isMountKey)
        .sort((a, b) => (a === "rootfs" ? -1 : b === "rootfs" ? 1 : a.localeCompare(b, "en", { numeric: true })));
      await allocateMounts(ctx, vmid, conf, mounts, log, allocated);
      log(`extracting archive '${ostemplate}'`);
      await ctx.backend.setupContainer(
        {
          vmid,
          config: conf,
          ostemplate,
          ...(params.password ? { password: params.password } : {}),
          ...(params["ssh-public-keys"] ? { sshPublicKeys: params["ssh-public-keys"] } : {}),
        },
        log,
      );
      await ctx.backend.lockConfig("lxc", vmid, () =>
        ctx.backend.writeConfig("lxc", vmid, { config: conf, lxc: [], sections: {} }),
      );
    } catch (e) {
      for (const volid of allocated) await ctx.backend.destroyVolume(volid, log).catch(() => {});
      await ctx.backend.deleteConfig("lxc", vmid).catch(() => {});
      throw e;
    }
    if (params.start === "1") {
      log(`starting CT ${vmid}`);
      await ctx.backend.startGuest("lxc", vmid, (await loadConfig(ctx, "lxc", vmid)).config, log);
    }
  });
}

async function update(ctx: ApiContext, identity: Identity, params: Record<string, string>): Promise<null> {
  const vmid = vmidOf(params);
  const deletes = splitList(params.delete);
  const reverts = splitList(params.revert);
  const options = normalizeOptions(ctx, params);
  if (!Object.keys(options).length && !deletes.length && !reverts.length) throw fail("no options specified");
  for (const opt of deletes) {
    if (options[opt] !== undefined) throw paramError({ delete: `you can't use '-${opt}' and -delete ${opt}' at the same time` });
    if (reverts.includes(opt))
      throw paramError({ delete: `you can't use '-delete ${opt}' and '-revert ${opt}' at the same time` });
  }
  for (const opt of deletes) if (!lxcOption(opt)) throw paramError({ delete: `unknown option '${opt}'` });
  for (const opt of reverts) if (!lxcOption(opt)) throw paramError({ revert: `unknown option '${opt}'` });
  // Read, checked, changed and written under the config lock, as Proxmox's update_pct_config runs in lock_config.
  await ctx.backend.lockConfig("lxc", vmid, () => applyUpdate(ctx, identity, vmid, params, options, deletes));
  return null;
}

async function applyUpdate(
  ctx: ApiContext,
  identity: Identity,
  vmid: number,
  params: Record<string, string>,
  options: PveConfig,
  deletes: string[],
): Promise<void> {
  const file = await loadConfig(ctx, "lxc", vmid);
  checkLock(ctx, "lxc", vmid, file);
  if (params.digest && params.digest !== configDigest(file)) throw modifiedConfig();
  const conf = file.config;
  checkContainerConfigPermissions(identity, conf, options, deletes, conf.unprivileged === "1");
  if (options.unprivileged !== undefined && options.unprivileged !== (conf.unprivileged ?? "0"))
    throw fail("unable to modify read-only option: 'unprivileged'");
  for (const opt of deletes) {
    if (opt === "hostname" || opt === "memory" || opt === "rootfs") throw fail(`unable to delete required option '${opt}'`);
    if (conf.protection === "1" && /^mp\d+$/.test(opt))
      throw fail(`can't remove CT ${vmid} drive '${opt}' - protection mode enabled`);
    const old = Object.hasOwn(conf, opt) ? conf[opt] : undefined;
    delete conf[opt];
    if (old !== undefined && /^mp\d+$/.test(opt)) {
      const volume = parseMountPoint(opt, old).volume!;
      if (mountKind(volume) === "volume") conf[`unused${freeIndex(conf, "unused")}`] = volume;
    }
  }
  const mountKeys = Object.keys(options).filter(isMountKey);
  for (const key of mountKeys) {
    const next = parseMountPoint(key, options[key]!);
    const old = conf[key] ? parseMountPoint(key, conf[key]!) : undefined;
    if (key === "rootfs" && old && next.volume !== old.volume && !parseNewVolumeSpec(next.volume!))
      throw fail(`unable to change rootfs volume (use 'pct move-volume')`);
    // an unchanged volume keeps its recorded size unless a new one is given
    if (old && next.volume === old.volume && next.size === undefined && old.size !== undefined) next.size = old.size;
    options[key] = printMountPoint(key, next);
  }
  Object.assign(conf, Object.fromEntries(Object.entries(options).filter(([k]) => !isMountKey(k))));
  const allocated: string[] = [];
  for (const key of mountKeys) conf[key] = options[key]!;
  await allocateMounts(ctx, vmid, conf, mountKeys, () => {}, allocated);
  await ctx.backend.writeConfig("lxc", vmid, file);
}

async function destroy(ctx: ApiContext, identity: Identity, params: Record<string, string>): Promise<string> {
  const vmid = vmidOf(params);
  const file = await loadConfig(ctx, "lxc", vmid);
  checkLock(ctx, "lxc", vmid, file);
  if (file.config.protection === "1") throw fail(`can't remove CT ${vmid} - protection mode enabled`);
  const purge = params.purge === "1";
  if (!purge && ctx.ha?.configured("lxc", vmid))
    throw fail(`unable to remove CT ${vmid} - used in HA resources and purge parameter not set.`);
  if (await isRunning(ctx, vmid)) throw fail(`unable to destroy CT ${vmid} - container is running`);
  return lockedTask(ctx, identity, "vzdestroy", vmid, "destroyed", async (log) => {
    for (const { volid } of ownedVolumes(file.config)) {
      log(`destroying volume ${volid}`);
      await ctx.backend.destroyVolume(volid, log);
    }
    await ctx.backend.lockConfig("lxc", vmid, () => ctx.backend.deleteConfig("lxc", vmid));
    if (purge) {
      log(`purging CT ${vmid} from related configurations..`);
      if (ctx.ha?.purge("lxc", vmid)) log(`NOTE: removed CT ${vmid} from HA resource configuration.`);
    }
  });
}

async function clone(ctx: ApiContext, identity: Identity, params: Record<string, string>): Promise<string> {
  const vmid = vmidOf(params);
  const newid = Number(params.newid);
  if (params.target && params.target !== ctx.node) throw fail(`Target node '${params.target}' does not exist`);
  const file = await loadConfig(ctx, "lxc", vmid);
  const full = params.full !== undefined ? params.full === "1" : !isTemplate(file.config);
  if (!full && params.storage) throw fail("parameter 'storage' not allowed for linked clones");
  const snapname = params.snapname;
  const snapshot = snapname && isSnapshotSection(snapname) ? file.sections[snapname] : undefined;
  if (snapname && !snapshot) throw fail(`snapshot '${snapname}' does not exist`);
  // a snapshot's config and volumes as they were then: what a full clone of a running container is made from
  const source = snapshot ?? file.config;
  if (full && !snapname && (await isRunning(ctx, vmid)))
    throw fail("Full clone of a running container is only possible from a snapshot");
  checkLock(ctx, "lxc", vmid, file);
  await checkVmidUnused(ctx, newid);
  // rootfs first, then mp0, mp1, …: the rootfs of the clone is disk-0, as create numbers them
  const volumes = ownedVolumes(source)
    .filter((v) => isMountKey(v.key))
    .sort((a, b) => mountOrder(a.key) - mountOrder(b.key));
  if (!full)
    for (const v of volumes)
      if (!(await supportsLinkedClone(ctx, v.volid))) throw fail(`Linked clone feature for '${v.volid}' is not available`);
  if (full && params.storage) await getStorage(ctx, params.storage, "rootdir");
  return lockedTask(
    ctx,
    identity,
    "vzclone",
    newid,
    "create",
    async (log) => {
      const conf: PveConfig = {};
      for (const [k, v] of Object.entries(source)) if (!NOT_CLONED.has(k) && !/^unused\d+$/.test(k)) conf[k] = v;
      for (const k of Object.keys(conf))
        if (/^net\d+$/.test(k))
          conf[k] = storedValue(k, conf[k]!.replace(/(^|,)hwaddr=[^,]*/, ""), () => randomMac(ctx.macPrefix));
      if (params.hostname) conf.hostname = params.hostname;
      if (params.description) conf.description = storedValue("description", params.description, () => "");
      const created: string[] = [];
      try {
        for (const { key, volid } of volumes) {
          const mp = parseMountPoint(key, conf[key]!);
          mp.volume = await cloneVolume(
            ctx,
            volid,
            newid,
            "rootdir",
            {
              linked: !full,
              ...(params.storage ? { targetStorage: params.storage } : {}),
              ...(snapname ? { snapshot: snapname } : {}),
            },
            log,
          );
          created.push(mp.volume);
          conf[key] = printMountPoint(key, mp);
        }
        await ctx.backend.lockConfig("lxc", newid, () =>
          ctx.backend.writeConfig("lxc", newid, { config: conf, lxc: [...file.lxc], sections: {} }),
        );
      } catch (e) {
        for (const v of created) await ctx.backend.destroyVolume(v, log).catch(() => {});
        throw e;
      }
    },
    String(vmid),
  );
}

async function resize(ctx: ApiContext, identity: Identity, params: Record<string, string>): Promise<string | null> {
  const vmid = vmidOf(params);
  const file = await loadConfig(ctx, "lxc", vmid);
  checkLock(ctx, "lxc", vmid, file);
  const disk = params.disk!;
  if (!file.config[disk]) throw fail(`unable to parse config entry '${disk}'`);
  const mp = parseMountPoint(disk, file.config[disk]!);
  if (mountKind(mp.volume!) !== "volume") throw fail(`you can't resize a ${mountKind(mp.volume!)} mount point`);
  const vol = await findVolume(ctx, mp.volume!);
  if (!vol) throw fail(`volume '${mp.volume}' does not exist`);
  const ext = params.size!.startsWith("+");
  const delta = parseSize(params.size!.replace(/^\+/, ""))!;
  const newSize = ext ? vol.size + delta : delta;
  if (newSize < vol.size) throw fail("unable to shrink disk size");
  if (newSize === vol.size) return null;
  return lockedTask(ctx, identity, "resize", vmid, "disk", async (log) => {
    log(`resizing ${disk} (${mp.volume}) to ${newSize} bytes`);
    await ctx.backend.resizeVolume(mp.volume!, newSize, log);
    await changeConfig(ctx, "lxc", vmid, (current) => {
      const now = parseMountPoint(disk, current.config[disk]!);
      now.size = String(newSize);
      current.config[disk] = printMountPoint(disk, now);
    });
  });
}

async function template(ctx: ApiContext, identity: Identity, params: Record<string, string>): Promise<null> {
  const vmid = vmidOf(params);
  const file = await loadConfig(ctx, "lxc", vmid);
  checkLock(ctx, "lxc", vmid, file);
  if (Object.keys(file.sections).some((s) => s !== "pending"))
    throw fail("unable to create template, because CT contains snapshots");
  if (isTemplate(file.config)) throw fail("you can't convert a template to a template");
  if (await isRunning(ctx, vmid)) throw fail("you can't convert a CT to template if the CT is running");
  // Proxmox forks the worker but answers null, not its UPID
  lockedTask(ctx, identity, "vztemplate", vmid, "disk", async (log) => {
    await changeConfig(ctx, "lxc", vmid, async (current) => {
      for (const { key, volid } of ownedVolumes(current.config).filter((v) => isMountKey(v.key))) {
        const mp = parseMountPoint(key, current.config[key]!);
        mp.volume = await makeBase(ctx, volid, log);
        current.config[key] = printMountPoint(key, mp);
      }
      current.config.template = "1";
    });
  });
  return null;
}

async function start(ctx: ApiContext, identity: Identity, vmid: number, skiplock: boolean): Promise<string> {
  if (await isRunning(ctx, vmid)) throw fail(`CT ${vmid} already running`);
  return lockedTask(ctx, identity, "vzstart", vmid, undefined, async (log) => {
    const file = await loadConfig(ctx, "lxc", vmid);
    if (!skiplock) checkLock(ctx, "lxc", vmid, file);
    if (isTemplate(file.config)) throw new Error("you can't start a CT if it's a template");
    for (const bridge of await missingBridges(ctx, file.config)) {
      log(`bridge '${bridge}' does not exist`);
      throw new Error(`startup for container '${vmid}' failed`);
    }
    await ctx.backend.startGuest("lxc", vmid, file.config, log);
  });
}

async function power(
  ctx: ApiContext,
  identity: Identity,
  action: "start" | "stop" | "shutdown" | "reboot",
  params: Record<string, string>,
): Promise<string> {
  const vmid = vmidOf(params);
  rootOnly(identity, params, ["skiplock"]);
  // start checks only that it is not running before forking; the config, lock and template are the task's
  if (action === "start") return start(ctx, identity, vmid, params.skiplock === "1");
  await loadConfig(ctx, "lxc", vmid);
  if (params.skiplock !== "1") checkLock(ctx, "lxc", vmid);
  if (!(await isRunning(ctx, vmid))) throw fail(`CT ${vmid} not running`);
  const b = ctx.backend;
  const work: Record<Exclude<typeof action, "start">, (log: TaskLog) => Promise<void>> = {
    stop: (log) => b.stopGuest("lxc", vmid, log),
    shutdown: (log) =>
      b.shutdownGuest("lxc", vmid, { timeout: Number(params.timeout ?? 60), forceStop: params.forceStop === "1" }, log),
    reboot: async (log) => b.rebootGuest("lxc", vmid, (await loadConfig(ctx, "lxc", vmid)).config, log),
  };
  return lockedTask(ctx, identity, `vz${action}`, vmid, undefined, work[action]);
}

/** PVE::LXC::get_interfaces: nothing (null) when the container has no running process, whether or not it exists. */
async function interfaces(ctx: ApiContext, params: Record<string, string>): Promise<unknown[] | null> {
  const vmid = vmidOf(params);
  if (!(await isRunning(ctx, vmid))) return null;
  const file = await loadConfig(ctx, "lxc", vmid);
  return (await ctx.backend.interfaces("lxc", vmid, file.config)).map((i) => {
    const v4 = i.addresses.find((a) => a.family === "inet");
    const v6 = i.addresses.find((a) => a.family === "inet6");
    return {
      name: i.name,
      hwaddr: i.hwaddr,
      ...(v4 ? { inet: `${v4.address}/${v4.prefix}` } : {}),
      ...(v6 ? { inet6: `${v6.address}/${v6.prefix}` } : {}),
      "hardware-address": i.hwaddr,
      "ip-addresses": i.addresses.map((a) => ({ "ip-address": a.address, "ip-address-type": a.family, prefix: a.prefix })),
    };
  });
}

// ---------------------------------------------------------------------------------------------

export function lxcRoutes(ctx: ApiContext): Route[] {
  const guard = (params: Record<string, string>) => requireNode(ctx, params.node!);
  const route = (
    method: Route["method"],
    path: string,
    schema: Route["schema"],
    handler: (p: Record<string, string>, id: Identity) => Promise<unknown>,
    patterns?: Route["patterns"],
  ): Route => ({
    method,
    path: `/nodes/{node}/lxc${path}`,
    schema,
    ...(patterns ? { patterns } : {}),
    handler: async (req) => {
      guard(req.params);
      return handler(req.params, req.identity);
    },
  });
  return [
    route("GET", "", { node: NODE }, () => listContainers(ctx)),
    route("POST", "", LXC_CREATE, (p, id) => create(ctx, id, p), LXC_NUMBERED),
    route("GET", "/{vmid}", BASE, async (p) => {
      await loadConfig(ctx, "lxc", vmidOf(p));
      return [
        "config",
        "status",
        "vncproxy",
        "termproxy",
        "vncwebsocket",
        "spiceproxy",
        "migrate",
        "clone",
        "resize",
        "move_volume",
        "pending",
        "feature",
        "template",
        "interfaces",
        "snapshot",
        "firewall",
        "rrd",
        "rrddata",
      ].map((subdir) => ({ subdir }));
    }),
    route("DELETE", "/{vmid}", { ...BASE, force: bool, purge: bool, "destroy-unreferenced-disks": bool }, (p, id) =>
      destroy(ctx, id, p),
    ),
    route(
      "GET",
      "/{vmid}/config",
      { ...BASE, current: bool, snapshot: { type: "string", format: "pve-configid", optional: true } },
      async (p) => {
        const file = await loadConfig(ctx, "lxc", vmidOf(p));
        if (p.snapshot) {
          const snap = file.sections[p.snapshot];
          if (!snap) throw fail(`snapshot '${p.snapshot}' does not exist`);
          return configJson(ctx, vmidOf(p), { config: snap, lxc: [], sections: {} });
        }
        return configJson(ctx, vmidOf(p), file);
      },
    ),
    route("PUT", "/{vmid}/config", LXC_UPDATE, (p, id) => update(ctx, id, p), LXC_NUMBERED),
    route("GET", "/{vmid}/status", BASE, async (p) => {
      await loadConfig(ctx, "lxc", vmidOf(p));
      return [
        { subdir: "current" },
        { subdir: "start" },
        { subdir: "stop" },
        { subdir: "shutdown" },
        { subdir: "reboot" },
        { subdir: "suspend" },
        { subdir: "resume" },
      ];
    }),
    route("GET", "/{vmid}/status/current", BASE, async (p) =>
      statusJson(ctx, vmidOf(p), (await loadConfig(ctx, "lxc", vmidOf(p))).config),
    ),
    route("POST", "/{vmid}/status/start", { ...BASE, skiplock: bool, debug: bool }, (p, id) => power(ctx, id, "start", p)),
    route("POST", "/{vmid}/status/stop", { ...BASE, skiplock: bool, "overrule-shutdown": bool }, (p, id) =>
      power(ctx, id, "stop", p),
    ),
    route(
      "POST",
      "/{vmid}/status/shutdown",
      { ...BASE, timeout: { type: "integer", minimum: 0, optional: true }, forceStop: bool },
      (p, id) => power(ctx, id, "shutdown", p),
    ),
    route("POST", "/{vmid}/status/reboot", { ...BASE, timeout: { type: "integer", minimum: 0, optional: true } }, (p, id) =>
      power(ctx, id, "reboot", p),
    ),
    route("POST", "/{vmid}/clone", LXC_CLONE, (p, id) => clone(ctx, id, p)),
    route("PUT", "/{vmid}/resize", LXC_RESIZE, (p, id) => resize(ctx, id, p)),
    route("POST", "/{vmid}/template", BASE, (p, id) => template(ctx, id, p)),
    route("GET", "/{vmid}/interfaces", BASE, (p) => interfaces(ctx, p)),
  ];
}
