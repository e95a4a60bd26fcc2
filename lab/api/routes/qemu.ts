// /nodes/{node}/qemu: VMs as API objects — create, clone (new MACs, smbios uuid, vmgenid, disks
// copied or linked, cloud-init drive re-made), config read/update (PUT sync, POST as a task),
// resize, move_disk, start/stop/shutdown/reboot, convert to template, destroy, and the guest agent's
// network interfaces (the addresses cloud-init was given). The backend keeps configs and volumes.
import { runtimeStatus } from "../guest-status";
import { randomUUID } from "node:crypto";
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
import { uriUnescape } from "../request";
import { validateSshPublicKeys } from "../ssh-keys";
import { fail, paramError, modifiedConfig } from "../errors";
import { NODE, VMID } from "../../pve/lxc-schema";
import {
  type ConfigFile,
  type PveConfig,
  canonicalDescription,
  configDigest,
  normalizeTags,
  parsePropertyString,
  printPropertyString,
  splitList,
} from "../../pve/pve-config";
import {
  DRIVE_FORMAT,
  DRIVE_KEY,
  AGENT_FORMAT,
  QEMU_CLONE,
  QEMU_CREATE,
  QEMU_NUMBERED,
  QEMU_UPDATE,
  QEMU_UPDATE_ASYNC,
  parseQemuNet,
  printQemuNet,
  qemuJsonValue,
  qemuOption,
} from "../../pve/qemu-schema";
import type { Route } from "../router";
import { propertyFormat } from "../../pve/schema";
import {
  allocateCloudInit,
  allocateVolume,
  cloneVolume,
  findVolume,
  getStorage,
  makeBase,
  supportsLinkedClone,
} from "../storage-ops";
import type { TaskLog } from "../../pve/tasks";
import { parseNewVolumeSpec, parseVolid } from "../../pve/volumes";
import { parseSize } from "../../pve/pve-config";

const BASE = { node: NODE, vmid: VMID };
const bool = { type: "boolean", optional: true } as const;
const DRIVE = propertyFormat(DRIVE_FORMAT);
const NOT_OPTIONS = new Set([
  "node",
  "vmid",
  "delete",
  "revert",
  "digest",
  "skiplock",
  "force",
  "background_delay",
  "pool",
  "storage",
  "start",
  "unique",
  "archive",
  "bwlimit",
  "live-restore",
]);

function isTemplate(c: PveConfig): boolean {
  return c.template === "1";
}

function parseDrive(value: string): Record<string, string> {
  return parsePropertyString(value, DRIVE);
}

function printDrive(d: Record<string, string>): string {
  return printPropertyString(d, DRIVE);
}

function isVolumeDrive(d: Record<string, string>): boolean {
  return !!parseVolid(d.file ?? "") && d.file !== "none" && !(d.media === "cdrom" && /:iso\//.test(d.file!));
}

function agentEnabled(c: PveConfig): boolean {
  if (!c.agent) return false;
  try {
    return parsePropertyString(c.agent, propertyFormat(AGENT_FORMAT)).enabled === "1";
  } catch {
    return false;
  }
}

function storedValue(ctx: ApiContext, key: string, value: string): string {
  const s = qemuOption(key);
  if (s?.type === "boolean") return /^(1|true|yes|on)$/i.test(value) ? "1" : "0";
  if (/^net\d+$/.test(key)) {
    const net = parseQemuNet(value);
    net.macaddr ??= randomMac(ctx.macPrefix);
    return printQemuNet(net);
  }
  if (key === "tags") return normalizeTags(value);
  // qemu-server keeps the description without the final newline (containers keep it)
  if (key === "description") return canonicalDescription(value).replace(/\n$/, "");
  if (key === "cipassword") return `$5$lab$${Buffer.from(value).toString("base64url")}`;
  return value;
}

function configJson(ctx: ApiContext, vmid: number, file: ConfigFile): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(file.config)) out[k] = k === "cipassword" ? "**********" : qemuJsonValue(k, v);
  const lock = ctx.locks.get(vmid);
  if (lock) out.lock = lock;
  out.digest = configDigest(file);
  return out;
}

async function statusJson(ctx: ApiContext, vmid: number, c: PveConfig): Promise<Record<string, unknown>> {
  const rt = await ctx.backend.runtime("qemu", vmid);
  let maxdisk = 0;
  for (const [k, v] of Object.entries(c))
    if (DRIVE_KEY.test(k) && !/^(efidisk|tpmstate)/.test(k)) {
      const d = parseDrive(v);
      if (d.media !== "cdrom" && d.size) {
        maxdisk = Number(d.size);
        break;
      }
    }
  const out: Record<string, unknown> = {
    vmid,
    name: c.name ?? `VM${vmid}`,
    ...runtimeStatus(rt),
    qmpstatus: rt.status,
    cpus: Number(c.cores ?? 1) * Number(c.sockets ?? 1),
    maxmem: Number((c.memory ?? "512").replace(/^current=/, "").split(",")[0]) * 1024 * 1024,
    maxdisk,
    ...(agentEnabled(c) ? { agent: 1 } : {}),
    ...(c.tags ? { tags: c.tags } : {}),
    ...(isTemplate(c) ? { template: 1 } : {}),
  };
  const lock = ctx.locks.get(vmid);
  if (lock) out.lock = lock;
  return out;
}

/** Allocates drives given as `storage:size` (GiB) or `storage:cloudinit`, prints every drive canonically. */
async function applyDrives(ctx: ApiContext, vmid: number, conf: PveConfig, keys: string[], log: TaskLog): Promise<void> {
  for (const key of keys) {
    const d = parseDrive(conf[key]!);
    const file = d.file!;
    const cloudinit = /^([a-z][a-z0-9\-_.]*[a-z0-9]):cloudinit$/i.exec(file);
    const spec = parseNewVolumeSpec(file);
    if (cloudinit) {
      d.file = await allocateCloudInit(ctx, cloudinit[1]!, vmid, log);
      d.media = "cdrom";
      d.size = String(4 * 1024 * 1024);
      delete d.format;
    } else if (spec && !/^(efidisk|tpmstate)/.test(key)) {
      d.file = await allocateVolume(ctx, spec.storage, vmid, "images", spec.bytes, log, d.format);
      d.size = String(spec.bytes);
      delete d.format;
    } else if (spec) {
      const bytes = key.startsWith("efidisk") ? 4 * 1024 * 1024 : 4 * 1024 * 1024;
      d.file = await allocateVolume(ctx, spec.storage, vmid, "images", bytes, log, d.format);
      d.size = String(bytes);
    } else if (isVolumeDrive(d) && d.media !== "cdrom") {
      const vol = await findVolume(ctx, file);
      if (!vol) throw fail(`volume '${file}' does not exist`);
      d.size = String(vol.size);
    }
    delete d["import-from"];
    conf[key] = printDrive(d);
  }
}

function options(ctx: ApiContext, params: Record<string, string>): PveConfig {
  const out: PveConfig = Object.create(null);
  for (const [k, v] of Object.entries(params)) if (!NOT_OPTIONS.has(k)) out[k] = storedValue(ctx, k, v);
  return out;
}

async function applyUpdate(
  ctx: ApiContext,
  identity: Identity,
  vmid: number,
  params: Record<string, string>,
  log: TaskLog,
): Promise<void> {
  const file = await loadConfig(ctx, "qemu", vmid);
  if (params.digest && params.digest !== configDigest(file)) throw modifiedConfig();
  const conf = file.config;
  const deletes = splitList(params.delete);
  const opts = options(ctx, params);
  if (opts.arch !== undefined && !identity.isRoot) throw fail("only root can set 'arch' config");
  for (const opt of deletes) {
    const old = Object.hasOwn(conf, opt) ? conf[opt] : undefined;
    if (old === undefined) continue;
    if (conf.protection === "1" && DRIVE_KEY.test(opt)) throw fail(`can't remove drive '${opt}' - protection mode enabled`);
    delete conf[opt];
    if (DRIVE_KEY.test(opt)) {
      const d = parseDrive(old);
      if (!isVolumeDrive(d)) continue;
      if (/-cloudinit/.test(d.file!) || /^(efidisk|tpmstate)/.test(opt)) await ctx.backend.destroyVolume(d.file!, log);
      else {
        let i = 0;
        while (conf[`unused${i}`] !== undefined) i++;
        conf[`unused${i}`] = d.file!;
      }
    }
  }
  const driveKeys = Object.keys(opts).filter((k) => DRIVE_KEY.test(k));
  for (const key of driveKeys) {
    if (!conf[key]) continue;
    const next = parseDrive(opts[key]!);
    const old = parseDrive(conf[key]!);
    if (next.file === old.file && next.size !== undefined && old.size !== undefined && Number(next.size) !== Number(old.size))
      throw fail(`disk '${key}': changing the size through the config is not possible, use the resize API`);
  }
  Object.assign(conf, opts);
  await applyDrives(ctx, vmid, conf, driveKeys, log);
  await ctx.backend.writeConfig("qemu", vmid, file);
}

function checkUpdate(params: Record<string, string>): void {
  const deletes = splitList(params.delete);
  for (const opt of deletes)
    if (params[opt] !== undefined) throw paramError({ delete: `you can't use '-${opt}' and -delete ${opt}' at the same time` });
  for (const opt of deletes) if (opt !== "cdrom" && !qemuOption(opt)) throw paramError({ delete: `unknown option '${opt}'` });
  if (params.sshkeys !== undefined) validateSshPublicKeys(uriUnescape(params.sshkeys));
  const opts = Object.keys(params).filter((k) => !NOT_OPTIONS.has(k));
  if (!opts.length && !deletes.length && !params.revert) throw fail("no options specified");
}

async function create(ctx: ApiContext, identity: Identity, p: Record<string, string>): Promise<string> {
  const vmid = Number(p.vmid);
  if (p.sshkeys !== undefined) validateSshPublicKeys(uriUnescape(p.sshkeys));
  await checkVmidUnused(ctx, vmid);
  const conf = options(ctx, p);
  return lockedTask(ctx, identity, "qmcreate", vmid, "create", async (log) => {
    conf.smbios1 ??= `uuid=${randomUUID()}`;
    conf.vmgenid ??= randomUUID();
    conf.meta ??= `creation-qemu=9.2.0,ctime=${Math.floor(Date.now() / 1000)}`;
    await applyDrives(
      ctx,
      vmid,
      conf,
      Object.keys(conf).filter((k) => DRIVE_KEY.test(k)),
      log,
    );
    await ctx.backend.writeConfig("qemu", vmid, { config: conf, lxc: [], sections: {} });
    if (p.start === "1") await ctx.backend.startGuest("qemu", vmid, conf, log);
  });
}

async function clone(ctx: ApiContext, identity: Identity, p: Record<string, string>): Promise<string> {
  const vmid = Number(p.vmid);
  const newid = Number(p.newid);
  if (p.target && p.target !== ctx.node) throw fail(`Target node '${p.target}' does not exist`);
  const file = await loadConfig(ctx, "qemu", vmid);
  const source = file.config;
  const full = p.full !== undefined ? p.full === "1" : !isTemplate(source);
  if (!full && p.storage) throw fail("parameter 'storage' not allowed for linked clones");
  if (!full && !isTemplate(source)) throw fail("Linked clone feature is not available for a VM that is not a template");
  if (p.snapname) throw fail(`snapshot '${p.snapname}' does not exist`);
  checkLock(ctx, "qemu", vmid);
  await checkVmidUnused(ctx, newid);
  if (p.storage) await getStorage(ctx, p.storage, "images");
  const drives = Object.keys(source).filter((k) => DRIVE_KEY.test(k));
  if (!full)
    for (const k of drives) {
      const d = parseDrive(source[k]!);
      if (isVolumeDrive(d) && !/-cloudinit/.test(d.file!) && !(await supportsLinkedClone(ctx, d.file!)))
        throw fail(`Linked clone feature is not available for drive '${k}'`);
    }
  return lockedTask(
    ctx,
    identity,
    "qmclone",
    newid,
    "clone",
    async (log) => {
      const conf: PveConfig = {};
      for (const [k, v] of Object.entries(source))
        if (
          !["template", "lock", "parent", "snaptime", "vmstate", "runningmachine", "runningcpu"].includes(k) &&
          !/^unused\d+$/.test(k)
        )
          conf[k] = v;
      for (const k of Object.keys(conf)) {
        if (/^net\d+$/.test(k)) {
          const net = parseQemuNet(conf[k]!);
          net.macaddr = randomMac(ctx.macPrefix);
          conf[k] = printQemuNet(net);
        }
      }
      conf.name = p.name ?? `Copy-of-VM-${source.name ?? vmid}`;
      if (p.description) conf.description = storedValue(ctx, "description", p.description);
      conf.smbios1 = (conf.smbios1 ?? "")
        .split(",")
        .filter((x) => x && !x.startsWith("uuid="))
        .concat(`uuid=${randomUUID()}`)
        .join(",");
      if (conf.vmgenid) conf.vmgenid = randomUUID();
      const created: string[] = [];
      try {
        for (const k of drives) {
          const d = parseDrive(conf[k]!);
          if (!isVolumeDrive(d)) continue;
          if (/-cloudinit/.test(d.file!)) {
            d.file = await allocateCloudInit(ctx, p.storage ?? parseVolid(d.file!)!.storage, newid, log);
          } else {
            d.file = await cloneVolume(
              ctx,
              d.file!,
              newid,
              "images",
              { linked: !full, ...(p.storage ? { targetStorage: p.storage } : {}) },
              log,
            );
          }
          created.push(d.file);
          conf[k] = printDrive(d);
        }
        await ctx.backend.writeConfig("qemu", newid, { config: conf, lxc: [], sections: {} });
      } catch (e) {
        for (const v of created) await ctx.backend.destroyVolume(v, log).catch(() => {});
        throw e;
      }
    },
    String(vmid),
  );
}

async function resize(ctx: ApiContext, identity: Identity, p: Record<string, string>): Promise<string> {
  const vmid = Number(p.vmid);
  const file = await loadConfig(ctx, "qemu", vmid);
  if (p.skiplock !== "1") checkLock(ctx, "qemu", vmid);
  const key = p.disk!;
  if (!file.config[key]) throw fail(`disk '${key}' does not exist`);
  const d = parseDrive(file.config[key]!);
  if (d.media === "cdrom") throw fail("you can't resize a cdrom");
  if (isTemplate(file.config)) throw fail("you can't resize a disk of a template");
  const vol = await findVolume(ctx, d.file!);
  if (!vol) throw fail(`volume '${d.file}' does not exist`);
  const ext = p.size!.startsWith("+");
  const amount = parseSize(p.size!.replace(/^\+/, ""))!;
  const newSize = ext ? vol.size + amount : amount;
  if (newSize < vol.size) throw fail(`shrinking disks is not supported`);
  return lockedTask(ctx, identity, "resize", vmid, undefined, async (log) => {
    if (newSize !== vol.size) await ctx.backend.resizeVolume(d.file!, newSize, log);
    await changeConfig(ctx, "qemu", vmid, (current) => {
      const now = parseDrive(current.config[key]!);
      now.size = String(newSize);
      current.config[key] = printDrive(now);
    });
  });
}

async function moveDisk(ctx: ApiContext, identity: Identity, p: Record<string, string>): Promise<string> {
  const vmid = Number(p.vmid);
  const file = await loadConfig(ctx, "qemu", vmid);
  checkLock(ctx, "qemu", vmid);
  const key = p.disk!;
  if (!file.config[key]) throw fail(`disk '${key}' does not exist`);
  const d = parseDrive(file.config[key]!);
  const src = parseVolid(d.file!);
  if (!src) throw fail(`disk '${key}' has no volume`);
  // the lab moves disks between storages only (no target-vmid)
  if (!p.storage) throw fail("either set storage or target-vmid, but not both");
  if (src.storage === p.storage && !p.format) throw fail("you can't move to the same storage with same format");
  await getStorage(ctx, p.storage!, "images");
  return lockedTask(ctx, identity, "qmmove", vmid, "disk", async (log) => {
    const target = await cloneVolume(ctx, d.file!, vmid, "images", { linked: false, targetStorage: p.storage! }, log);
    let old = "";
    await changeConfig(ctx, "qemu", vmid, (current) => {
      const now = parseDrive(current.config[key]!);
      old = now.file!;
      now.file = target;
      current.config[key] = printDrive(now);
      if (p.delete !== "1") {
        let i = 0;
        while (current.config[`unused${i}`] !== undefined) i++;
        current.config[`unused${i}`] = old;
      }
    });
    if (p.delete === "1") await ctx.backend.destroyVolume(old, log);
  });
}

async function start(ctx: ApiContext, vmid: number, p: Record<string, string>, log: TaskLog): Promise<void> {
  const file = await loadConfig(ctx, "qemu", vmid);
  if (p.skiplock !== "1") checkLock(ctx, "qemu", vmid, file);
  if (isTemplate(file.config)) throw new Error("you can't start a vm if it's a template");
  if ((await ctx.backend.runtime("qemu", vmid)).status === "running") throw new Error(`VM ${vmid} already running`);
  const pcie = Object.entries(file.config).some(([k, v]) => /^hostpci\d+$/.test(k) && /(^|,)pcie=1/.test(v));
  if (pcie && !/q35/.test(file.config.machine ?? "")) throw new Error("q35 machine model is not enabled");
  for (const bridge of await missingBridges(ctx, file.config)) {
    // qemu-server's pve-bridge script fails, and with it the QEMU process
    log(`bridge '${bridge}' does not exist`);
    throw new Error("start failed: QEMU exited with code 1");
  }
  await ctx.backend.startGuest("qemu", vmid, file.config, log);
}

async function power(
  ctx: ApiContext,
  identity: Identity,
  action: "start" | "stop" | "shutdown" | "reboot",
  p: Record<string, string>,
): Promise<string> {
  const vmid = Number(p.vmid);
  // vm_start runs in the task: a missing config, a lock, a template or a running VM fail the task, not the call
  if (action === "start") return lockedTask(ctx, identity, "qmstart", vmid, undefined, (log) => start(ctx, vmid, p, log));
  const file = await loadConfig(ctx, "qemu", vmid);
  if (p.skiplock !== "1") checkLock(ctx, "qemu", vmid);
  const running = (await ctx.backend.runtime("qemu", vmid)).status === "running";
  if (action !== "stop" && !running) throw fail(`VM ${vmid} not running`);
  const b = ctx.backend;
  const work: Record<Exclude<typeof action, "start">, (log: TaskLog) => Promise<void>> = {
    stop: async (log) => {
      if (running) await b.stopGuest("qemu", vmid, log);
    },
    shutdown: (log) => b.shutdownGuest("qemu", vmid, { timeout: Number(p.timeout ?? 180), forceStop: p.forceStop === "1" }, log),
    reboot: (log) => b.rebootGuest("qemu", vmid, file.config, log),
  };
  return lockedTask(ctx, identity, `qm${action}`, vmid, undefined, work[action]);
}

async function template(ctx: ApiContext, identity: Identity, p: Record<string, string>): Promise<string> {
  const vmid = Number(p.vmid);
  const file = await loadConfig(ctx, "qemu", vmid);
  checkLock(ctx, "qemu", vmid);
  if (isTemplate(file.config)) throw fail("you can't convert a template to a template");
  if ((await ctx.backend.runtime("qemu", vmid)).status === "running")
    throw fail("you can't convert a VM to template if VM is running");
  return lockedTask(ctx, identity, "qmtemplate", vmid, "template", async (log) => {
    await changeConfig(ctx, "qemu", vmid, async (current) => {
      for (const k of Object.keys(current.config).filter((x) => DRIVE_KEY.test(x))) {
        const d = parseDrive(current.config[k]!);
        if (!isVolumeDrive(d) || /-cloudinit/.test(d.file!) || d.media === "cdrom") continue;
        d.file = await makeBase(ctx, d.file!, log);
        current.config[k] = printDrive(d);
      }
      current.config.template = "1";
    });
  });
}

async function destroy(ctx: ApiContext, identity: Identity, p: Record<string, string>): Promise<string> {
  const vmid = Number(p.vmid);
  const file = await loadConfig(ctx, "qemu", vmid);
  if (p.skiplock !== "1") checkLock(ctx, "qemu", vmid);
  if (file.config.protection === "1") throw fail(`can't remove VM ${vmid} - protection mode enabled`);
  const purge = p.purge === "1";
  if (!purge && ctx.ha?.configured("qemu", vmid))
    throw fail(`unable to remove VM ${vmid} - used in HA resources and purge parameter not set.`);
  if ((await ctx.backend.runtime("qemu", vmid)).status === "running") throw fail(`VM ${vmid} is running - destroy failed`);
  return lockedTask(ctx, identity, "qmdestroy", vmid, "destroyed", async (log) => {
    for (const [k, v] of Object.entries(file.config)) {
      const volid = DRIVE_KEY.test(k)
        ? (() => {
            const d = parseDrive(v);
            return isVolumeDrive(d) ? d.file : undefined;
          })()
        : /^unused\d+$/.test(k)
          ? v
          : undefined;
      if (volid) await ctx.backend.destroyVolume(volid, log);
    }
    await ctx.backend.deleteConfig("qemu", vmid);
    if (purge && ctx.ha?.purge("qemu", vmid)) log(`NOTE: removed VM ${vmid} from HA resource configuration.`);
  });
}

async function agent(ctx: ApiContext, vmid: number): Promise<PveConfig> {
  const file = await loadConfig(ctx, "qemu", vmid);
  if ((await ctx.backend.runtime("qemu", vmid)).status !== "running") throw fail(`VM ${vmid} is not running`);
  if (!agentEnabled(file.config)) throw fail("No QEMU guest agent configured");
  return file.config;
}

export function qemuRoutes(ctx: ApiContext): Route[] {
  const route = (
    method: Route["method"],
    path: string,
    schema: Route["schema"],
    handler: (p: Record<string, string>, id: Identity) => Promise<unknown>,
    patterns?: Route["patterns"],
  ): Route => ({
    method,
    path: `/nodes/{node}/qemu${path}`,
    schema,
    ...(patterns ? { patterns } : {}),
    handler: async (req) => {
      requireNode(ctx, req.params.node!);
      rootOnly(req.identity, req.params, ["skiplock", "force-cpu"]);
      return handler(req.params, req.identity);
    },
  });
  return [
    route("GET", "", { node: NODE, full: bool }, async () => {
      const out = [];
      for (const g of await ctx.backend.listGuests()) {
        if (g.type !== "qemu") continue;
        const f = await ctx.backend.readConfig("qemu", g.vmid);
        if (f) out.push(await statusJson(ctx, g.vmid, f.config));
      }
      return out;
    }),
    route("POST", "", QEMU_CREATE, (p, id) => create(ctx, id, p), QEMU_NUMBERED),
    route("GET", "/{vmid}", BASE, async (p) => {
      await loadConfig(ctx, "qemu", Number(p.vmid));
      return [
        "config",
        "pending",
        "status",
        "unlink",
        "vncproxy",
        "termproxy",
        "migrate",
        "resize",
        "move",
        "rrd",
        "rrddata",
        "monitor",
        "agent",
        "snapshot",
        "spiceproxy",
        "sendkey",
        "firewall",
      ].map((subdir) => ({ subdir }));
    }),
    route("DELETE", "/{vmid}", { ...BASE, purge: bool, "destroy-unreferenced-disks": bool, skiplock: bool }, (p, id) =>
      destroy(ctx, id, p),
    ),
    route(
      "GET",
      "/{vmid}/config",
      { ...BASE, current: bool, snapshot: { type: "string", format: "pve-configid", optional: true } },
      async (p) => configJson(ctx, Number(p.vmid), await loadConfig(ctx, "qemu", Number(p.vmid))),
    ),
    route(
      "PUT",
      "/{vmid}/config",
      QEMU_UPDATE,
      async (p, id) => {
        checkUpdate(p);
        await loadConfig(ctx, "qemu", Number(p.vmid));
        if (p.skiplock !== "1") checkLock(ctx, "qemu", Number(p.vmid));
        await ctx.backend.lockConfig("qemu", Number(p.vmid), () => applyUpdate(ctx, id, Number(p.vmid), p, () => {}));
        return null;
      },
      QEMU_NUMBERED,
    ),
    route(
      "POST",
      "/{vmid}/config",
      QEMU_UPDATE_ASYNC,
      async (p, id) => {
        checkUpdate(p);
        await loadConfig(ctx, "qemu", Number(p.vmid));
        if (p.skiplock !== "1") checkLock(ctx, "qemu", Number(p.vmid));
        return lockedTask(ctx, id, "qmconfig", Number(p.vmid), undefined, (log) =>
          ctx.backend.lockConfig("qemu", Number(p.vmid), () => applyUpdate(ctx, id, Number(p.vmid), p, log)),
        );
      },
      QEMU_NUMBERED,
    ),
    route("PUT", "/{vmid}/cloudinit", BASE, async (p) => {
      await loadConfig(ctx, "qemu", Number(p.vmid));
      return null;
    }),
    route("GET", "/{vmid}/status/current", BASE, async (p) =>
      statusJson(ctx, Number(p.vmid), (await loadConfig(ctx, "qemu", Number(p.vmid))).config),
    ),
    route(
      "POST",
      "/{vmid}/status/start",
      {
        ...BASE,
        skiplock: bool,
        timeout: { type: "integer", minimum: 0, optional: true },
        machine: { type: "string", optional: true },
        "force-cpu": { type: "string", optional: true },
      },
      (p, id) => power(ctx, id, "start", p),
    ),
    route(
      "POST",
      "/{vmid}/status/stop",
      {
        ...BASE,
        skiplock: bool,
        timeout: { type: "integer", minimum: 0, optional: true },
        keepActive: bool,
        "overrule-shutdown": bool,
      },
      (p, id) => power(ctx, id, "stop", p),
    ),
    route(
      "POST",
      "/{vmid}/status/shutdown",
      { ...BASE, skiplock: bool, timeout: { type: "integer", minimum: 0, optional: true }, forceStop: bool, keepActive: bool },
      (p, id) => power(ctx, id, "shutdown", p),
    ),
    route("POST", "/{vmid}/status/reboot", { ...BASE, timeout: { type: "integer", minimum: 0, optional: true } }, (p, id) =>
      power(ctx, id, "reboot", p),
    ),
    route("POST", "/{vmid}/clone", QEMU_CLONE, (p, id) => clone(ctx, id, p)),
    route(
      "PUT",
      "/{vmid}/resize",
      {
        ...BASE,
        disk: { type: "string", pattern: "(ide|sata|scsi|virtio)\\d+|efidisk0|tpmstate0" },
        size: { type: "string", pattern: "\\+?\\d+(\\.\\d+)?[KMGT]?" },
        digest: { type: "string", maxLength: 40, optional: true },
        skiplock: bool,
      },
      (p, id) => resize(ctx, id, p),
    ),
    route(
      "POST",
      "/{vmid}/move_disk",
      {
        ...BASE,
        disk: { type: "string", pattern: "(ide|sata|scsi|virtio)\\d+|efidisk0|tpmstate0|unused\\d+" },
        storage: { type: "string", format: "pve-storage-id", optional: true },
        delete: bool,
        format: { type: "string", enum: ["raw", "qcow2", "vmdk"], optional: true },
        digest: { type: "string", maxLength: 40, optional: true },
        bwlimit: { type: "integer", minimum: 0, optional: true },
      },
      (p, id) => moveDisk(ctx, id, p),
    ),
    route("POST", "/{vmid}/template", { ...BASE, disk: { type: "string", optional: true } }, (p, id) => template(ctx, id, p)),
    route("POST", "/{vmid}/agent/ping", BASE, async (p) => {
      await agent(ctx, Number(p.vmid));
      return { result: {} };
    }),
    route("GET", "/{vmid}/agent/network-get-interfaces", BASE, async (p) => {
      const conf = await agent(ctx, Number(p.vmid));
      const ifaces = await ctx.backend.interfaces("qemu", Number(p.vmid), conf);
      return {
        result: ifaces.map((i) => ({
          name: i.name,
          "hardware-address": i.hwaddr,
          // the QEMU guest agent says ipv4/ipv6 (containers' interfaces say inet/inet6)
          "ip-addresses": i.addresses.map((a) => ({
            "ip-address": a.address,
            "ip-address-type": a.family === "inet" ? "ipv4" : "ipv6",
            prefix: a.prefix,
          })),
          statistics: {
            "rx-bytes": 0,
            "rx-dropped": 0,
            "rx-errs": 0,
            "rx-packets": 0,
            "tx-bytes": 0,
            "tx-dropped": 0,
            "tx-errs": 0,
            "tx-packets": 0,
          },
        })),
      };
    }),
  ];
}
