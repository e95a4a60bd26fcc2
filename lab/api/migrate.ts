// Offline and restart-mode migration of a guest between the lab's nodes, as PVE::LXC::Migrate and PVE::QemuMigrate
// do it for local volumes: checks first (target, running state, snapshots, linked clones, target storages), the
// container shut down in restart mode, each volume sent from the source node's storage and received on the target's,
// the config moved to the target node, the source's volumes removed, and the container started again on the target.
// A failure before the config moved leaves the guest where it was (received copies removed, restarted on the source).
// An HA-managed guest's migration is a request to HA, which the lab, running no CRM or LRM, carries out itself.
import type { Identity } from "./auth";
import { type ApiContext, LABEL, checkLock, clusterNodes, findGuest, loadConfig, lockedTask } from "./context";
import { fail, paramError } from "./errors";
import { HA_TYPE } from "./ha-stack";
import type { GuestType, StorageInfo } from "../pve/backend";
import type { ConfigFile } from "../pve/pve-config";
import { type TaskLog, hms, logStamp } from "../pve/tasks";
import { parseVolid, volumeOwner } from "../pve/volumes";

/** pve-targetstorage: one storage id for all, `1` for the same ids, or `source:target` pairs (a bare id: the default). */
export interface StorageMap {
  default?: string;
  entries: Record<string, string>;
}

export function parseStorageMap(text: string | undefined): StorageMap {
  const map: StorageMap = { entries: {} };
  if (text === undefined || text === "1") return map;
  for (const part of text.split(/[,;\s]+/).filter(Boolean)) {
    const m = /^(?:([a-z][a-z0-9\-_.]*[a-z0-9]):)?([a-z][a-z0-9\-_.]*[a-z0-9])$/i.exec(part);
    if (!m) throw paramError({ "target-storage": `failed to parse storage map: invalid format - '${part}'` });
    if (m[1]) map.entries[m[1]] = m[2]!;
    else if (map.default) throw paramError({ "target-storage": "failed to parse storage map: default target already set" });
    else map.default = m[2]!;
  }
  return map;
}

const DISK_KEY = /^(rootfs|mp\d+|unused\d+|virtio\d+|scsi\d+|sata\d+|ide\d+|efidisk0|tpmstate0)$/;

/** The config's volumes this guest owns (not ISO images, bind mounts or another guest's), by config key. */
function guestVolumes(config: Record<string, string>, vmid: number): { key: string; volid: string }[] {
  const out: { key: string; volid: string }[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (!DISK_KEY.test(key)) continue;
    const volid = value.split(",")[0]!.replace(/^(volume|file)=/, "");
    const v = parseVolid(volid);
    if (v && volumeOwner(v.volname) === vmid) out.push({ key, volid });
  }
  return out;
}

/** How the migration log names the guest it starts again. */
const GUEST: Record<GuestType, string> = { lxc: "container", qemu: "VM" };

/** HH:MM:SS of milliseconds. */
const duration = (ms: number) => hms(Math.floor(ms / 1000));

export interface MigrateRequest {
  type: GuestType;
  vmid: number;
  target: string;
  online: boolean;
  /** Restart mode: a running guest shut down, migrated offline, started on the target (pct's; for a VM, the lab's LRM's). */
  restart: boolean;
  timeout: number;
  storageMap: StorageMap;
  /** Asked by the HA stack (rpcenv type 'ha'): done directly even when the guest is HA-managed. */
  byHa?: boolean;
}

/** The API call's checks before its task (Proxmox's migrate_vm), then the `vzmigrate`/`qmigrate` task's UPID. */
export async function migrateGuest(ctx: ApiContext, identity: Identity, req: MigrateRequest): Promise<string> {
  const { type, vmid, target } = req;
  if (target === ctx.node) throw paramError({ target: "target is local node." });
  const dst = clusterNodes(ctx).find((n) => n.node === target);
  if (!dst) throw fail(`no such cluster node '${target}'`);
  await loadConfig(ctx, type, vmid);
  const running = (await ctx.backend.runtime(type, vmid)).status === "running";
  if (running && type === "lxc" && !req.online && !req.restart)
    throw fail("can't migrate running container without --online or --restart");
  if (running && type === "qemu" && !req.online && !req.restart) throw fail("can't migrate running VM without --online");
  const storages = await dst.backend.listStorage();
  for (const sid of [req.storageMap.default, ...Object.values(req.storageMap.entries)])
    if (sid && !storages.some((s) => s.id === sid)) throw fail(`storage '${sid}' is not available on node '${target}'`);
  if (!req.byHa && ctx.ha?.managed(type, vmid)) return requestHaMigration(ctx, identity, req);
  return lockedTask(ctx, identity, type === "lxc" ? "vzmigrate" : "qmigrate", vmid, "migrate", (log) =>
    migrate(ctx, dst, req, storages, log),
  );
}

const ROOT: Identity = { authid: "root@pam", isRoot: true };

/**
 * An HA-managed guest's migration is a request to the HA stack (`ha-manager migrate`, without the call's target
 * storages): the `hamigrate` task only queues it, and the lab then carries it out (carryOutHaRequest).
 */
function requestHaMigration(ctx: ApiContext, identity: Identity, req: MigrateRequest): string {
  const { type, vmid, target } = req;
  return ctx.tasks.start("hamigrate", String(vmid), identity.authid, async (log) => {
    log(`Requesting HA migration for ${LABEL[type]} ${vmid} to node ${target}`);
    carryOutHaRequest(ctx, "migrate", vmid, target);
  });
}

/** The shutdown timeout the LRM gives a guest it moves (PVE::HA::Resources::PVECT and PVEVM's shutdown default). */
const LRM_SHUTDOWN_TIMEOUT = 60;

/**
 * A `migrate` or `relocate` request to HA, carried out once the caller has its answer. The lab has no CRM/LRM, so it
 * does what the LRM does on the guest's node (whichever lab node holds it), as root@pam: migrate moves a running VM
 * online (which the lab refuses: the guest stays where it was) and a running container in restart mode (PVECT shuts
 * it down and migrates it offline, then it is started on the target); relocate shuts the guest down, migrates it
 * offline and starts it on the target; a stopped guest is migrated offline. As the CRM does, a request for the node
 * the guest is on, or for no node of the cluster, is ignored; any failure leaves the guest where it was.
 */
export function carryOutHaRequest(ctx: ApiContext, cmd: "migrate" | "relocate", vmid: number, target: string): void {
  setImmediate(() => {
    void lrmMove(ctx, cmd, vmid, target).catch(() => undefined); // the LRM's own log: the guest's status shows it
  });
}

async function lrmMove(ctx: ApiContext, cmd: "migrate" | "relocate", vmid: number, target: string): Promise<void> {
  const found = await findGuest(ctx, vmid);
  if (!found || found.node.node === target || !clusterNodes(ctx).some((n) => n.node === target)) return;
  const { node, type } = found;
  const running = (await node.backend.runtime(type, vmid)).status === "running";
  const online = cmd === "migrate" && type === "qemu" && running;
  const sid = `${HA_TYPE[type]}:${vmid}`;
  node.ha?.motions.set(sid, { cmd, node: node.node, target });
  try {
    const upid = await migrateGuest(node, ROOT, {
      type,
      vmid,
      target,
      online,
      restart: running && !online,
      timeout: LRM_SHUTDOWN_TIMEOUT,
      storageMap: { entries: {} },
      byHa: true,
    });
    await node.tasks.wait(upid);
  } finally {
    node.ha?.motions.delete(sid);
  }
}

/** Migration log lines as AbstractMigrate prints them: the local time first, ERROR:/WARN: for those levels. */
function migrationLog(log: TaskLog) {
  return {
    info: (m: string) => log(`${logStamp()} ${m}`),
    warn: (m: string) => log(`${logStamp()} WARN: ${m}`),
    err: (m: string) => log(`${logStamp()} ERROR: ${m}`),
  };
}
type MigrationLog = ReturnType<typeof migrationLog>;

/** Where each volume goes on the target: a storage that cannot take it stops the migration, a volume it cannot move too. */
async function planVolumes(
  ctx: ApiContext,
  req: MigrateRequest,
  file: ConfigFile,
  targetStorages: StorageInfo[],
  say: MigrationLog,
): Promise<{ key: string; volid: string; target: string }[]> {
  const sources = await ctx.backend.listStorage();
  const content = req.type === "lxc" ? "rootdir" : "images";
  const plan: { key: string; volid: string; target: string }[] = [];
  let refused = false;
  for (const { key, volid } of guestVolumes(file.config, req.vmid)) {
    const v = parseVolid(volid)!;
    const sid = req.storageMap.entries[v.storage] ?? req.storageMap.default ?? v.storage;
    const from = sources.find((s) => s.id === v.storage);
    const to = targetStorages.find((s) => s.id === sid);
    if (!to) throw new Error(`storage '${sid}' is not available on node '${req.target}'`);
    if (!to.content.includes(content))
      throw new Error(`${volid}: content type '${content}' is not available on storage '${sid}'`);
    const problem = v.volname.includes("/")
      ? `clone of '${v.volname.split("/")[0]}'`
      : from && from.type !== to.type
        ? `the lab moves volumes between storages of one type only (${from.type} to ${to.type})`
        : undefined;
    if (problem) {
      say.warn(`can't migrate local volume '${volid}': ${problem}`);
      refused = true;
    } else plan.push({ key, volid, target: `${sid}:${v.volname}` });
  }
  if (refused) throw new Error(`can't migrate ${LABEL[req.type]} - check log`);
  return plan;
}

/** Proxmox's prepare: the guest's state, what the lab cannot move; a guest in restart mode is shut down. */
async function prepare(ctx: ApiContext, req: MigrateRequest, file: ConfigFile, say: MigrationLog): Promise<boolean> {
  const { type, vmid } = req;
  checkLock({ ...ctx, locks: new Map() }, type, vmid, file);
  const running = (await ctx.backend.runtime(type, vmid)).status === "running";
  if (running && type === "lxc" && req.online) throw new Error("lxc live migration is currently not implemented");
  if (running && type === "lxc" && !req.restart) throw new Error("running container can only be migrated in restart mode");
  if (running && type === "qemu" && !req.restart)
    throw new Error("the lab cannot live-migrate a VM (no QEMU migration stream between its nodes): shut it down first");
  if (Object.keys(file.sections).length) throw new Error(`the lab does not migrate snapshots: ${LABEL[type]} ${vmid} has some`);
  if (running) {
    say.info(`shutdown ${LABEL[type]} ${vmid}`);
    await ctx.backend.shutdownGuest(type, vmid, { timeout: req.timeout, forceStop: true }, say.info);
  }
  return running;
}

async function migrate(
  ctx: ApiContext,
  dst: ApiContext,
  req: MigrateRequest,
  storages: StorageInfo[],
  log: TaskLog,
): Promise<void> {
  const { type, vmid } = req;
  const say = migrationLog(log);
  const began = Date.now();
  let problems = false;
  try {
    const file = await loadConfig(ctx, type, vmid);
    const stopped = await prepare(ctx, req, file, say);
    const received: string[] = [];
    let plan: { key: string; volid: string; target: string }[] = [];
    let moving: ConfigFile;
    try {
      say.info(`starting migration of ${LABEL[type]} ${vmid} to node '${dst.node}' (127.0.0.1)`);
      plan = await planVolumes(ctx, req, file, storages, say);
      for (const v of plan) say.info(`found local volume '${v.volid}' (in current VM config)`);
      for (const v of plan) {
        const send = await ctx.backend.sendVolume(v.volid, say.info);
        await dst.backend.receiveVolume(v.target, vmid, send, say.info);
        received.push(v.target);
        say.info(`volume '${v.volid}' is '${v.target}' on the target`);
      }
      const config = { ...file.config };
      for (const v of plan) config[v.key] = config[v.key]!.replace(v.volid, v.target);
      moving = { ...file, config };
      await dst.backend.writeConfig(type, vmid, moving);
      await ctx.backend.deleteConfig(type, vmid, { migrated: true });
    } catch (e) {
      say.err(e instanceof Error ? e.message : String(e));
      for (const volid of received) await dst.backend.destroyVolume(volid, say.info).catch(() => undefined);
      say.info("start final cleanup");
      if (stopped) {
        say.info(`start ${GUEST[type]} on source node`);
        await ctx.backend.startGuest(type, vmid, file.config, say.info);
      }
      throw e;
    }
    // the guest is now the target node's: what fails from here is a problem, not an abort
    for (const v of plan)
      await ctx.backend.destroyVolume(v.volid, say.info).catch((e: Error) => {
        say.err(`removing local copy of '${v.volid}' failed - ${e.message}`);
        problems = true;
      });
    say.info("start final cleanup");
    if (stopped) {
      say.info(`start ${GUEST[type]} on target node`);
      await dst.backend.startGuest(type, vmid, moving.config, say.info).catch((e: Error) => {
        say.err(e.message);
        problems = true;
      });
    }
  } catch (e) {
    say.err(`migration aborted (duration ${duration(Date.now() - began)}): ${e instanceof Error ? e.message : String(e)}`);
    throw new Error("migration aborted");
  }
  if (problems) {
    say.err(`migration finished with problems (duration ${duration(Date.now() - began)})`);
    throw new Error("migration problems");
  }
  say.info(`migration finished successfully (duration ${duration(Date.now() - began)})`);
}
