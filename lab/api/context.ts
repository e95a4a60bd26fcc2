// State and helpers the route modules share: the node's name, the backend, running tasks, guest locks,
// and Proxmox's standard failures (missing config, locked guest, vmid in use, unknown node).
import type { HaStack } from "./ha-stack";
import { randomBytes } from "node:crypto";
import type { Identity } from "./auth";
import type { GuestType, LabBackend } from "../pve/backend";
import { fail, paramError } from "./errors";
import type { ConfigFile } from "../pve/pve-config";
import type { TaskLog, TaskManager } from "../pve/tasks";

export interface ApiContext {
  node: string;
  backend: LabBackend;
  tasks: TaskManager;
  /** vmid → lock name (create, clone, disk, …) while a task holds it; shown by status/current and config. */
  locks: Map<number, string>;
  /** Prefix of generated MAC addresses (Proxmox's default OUI). */
  macPrefix: string;
  version: { version: string; release: string; repoid: string };
  /** Every node of the lab's cluster, this one included (absent: a lone node). Their `locks` map is one, shared. */
  cluster?: ApiContext[];
  /** The cluster's HA configuration, as guests' removal and migration consult it (absent: no HA, as in unit labs). */
  ha?: HaStack;
}

/** The nodes of the cluster this node belongs to, this one included, in their order (node ids 1, 2, …). */
export function clusterNodes(ctx: ApiContext): ApiContext[] {
  return ctx.cluster ?? [ctx];
}

/** The node that holds a guest of this vmid, and its type; undefined when no node has one. */
export async function findGuest(ctx: ApiContext, vmid: number): Promise<{ node: ApiContext; type: GuestType } | undefined> {
  for (const node of clusterNodes(ctx)) {
    const g = (await node.backend.listGuests()).find((x) => x.vmid === vmid);
    if (g) return { node, type: g.type };
  }
  return undefined;
}

export const LABEL: Record<GuestType, string> = { lxc: "CT", qemu: "VM" };
const DIR: Record<GuestType, string> = { lxc: "lxc", qemu: "qemu-server" };

export function requireNode(ctx: ApiContext, node: string): void {
  if (node !== ctx.node)
    throw fail(`hostname lookup '${node}' failed - failed to get address info for: ${node}: Name or service not known`);
}

export function configPath(ctx: ApiContext, type: GuestType, vmid: number): string {
  return `nodes/${ctx.node}/${DIR[type]}/${vmid}.conf`;
}

/** The config of a guest of this type; Proxmox's "does not exist" failure otherwise. */
export async function loadConfig(ctx: ApiContext, type: GuestType, vmid: number): Promise<ConfigFile> {
  const file = await ctx.backend.readConfig(type, vmid);
  if (!file) throw fail(`Configuration file '${configPath(ctx, type, vmid)}' does not exist`);
  return file;
}

/** Proxmox's check_lock: a task's lock, or a `lock:` line in the config (a backup, say, run by someone else). */
export function checkLock(ctx: ApiContext, type: GuestType, vmid: number, file?: ConfigFile): void {
  const lock = ctx.locks.get(vmid) ?? file?.config.lock;
  if (lock) throw fail(`${type === "lxc" ? "CT" : "VM"} is locked (${lock})`);
}

/** Reads a guest's config, lets `change` edit it and writes it back, all under the guest's config lock. */
export async function changeConfig(
  ctx: ApiContext,
  type: GuestType,
  vmid: number,
  change: (file: ConfigFile) => Promise<void> | void,
): Promise<void> {
  await ctx.backend.lockConfig(type, vmid, async () => {
    const file = await loadConfig(ctx, type, vmid);
    await change(file);
    await ctx.backend.writeConfig(type, vmid, file);
  });
}

/** A vmid is free when no guest of either type has it on any node of the cluster. */
export async function checkVmidUnused(ctx: ApiContext, vmid: number): Promise<void> {
  const existing = await findGuest(ctx, vmid);
  if (existing || ctx.locks.has(vmid))
    throw fail(`${existing ? LABEL[existing.type] : "CT"} ${vmid} already exists on node '${existing?.node.node ?? ctx.node}'`);
}

/** Runs a task holding a guest's lock; the lock goes away when the work ends, however it ends. */
export function lockedTask(
  ctx: ApiContext,
  identity: Identity,
  type: string,
  vmid: number,
  lock: string | undefined,
  work: (log: TaskLog) => Promise<void>,
  /** The UPID's id when it is not the locked guest's (a clone's task carries its source vmid). */
  taskId = String(vmid),
): string {
  // checks before this point awaited; another request may have taken the guest meanwhile
  const held = ctx.locks.get(vmid);
  if (lock && held) throw fail(`can't lock guest ${vmid} - it is locked (${held})`);
  if (lock) ctx.locks.set(vmid, lock);
  return ctx.tasks.start(type, taskId, identity.authid, async (log) => {
    try {
      await work(log);
    } finally {
      if (lock && ctx.locks.get(vmid) === lock) ctx.locks.delete(vmid);
    }
  });
}

/** Proxmox's root-only parameters (skiplock, …): 400 for anyone but root@pam itself, tokens of root included. */
export function rootOnly(identity: Identity, params: Record<string, string>, names: string[]): void {
  const used = names.filter((n) => params[n] !== undefined && params[n] !== "0");
  if (used.length && !identity.isRoot)
    throw paramError(Object.fromEntries(used.map((n) => [n, "Only root may use this option."])));
}

/** The bridges a guest's NICs name that the node does not have (starting it fails like Proxmox's network hook). */
export async function missingBridges(ctx: ApiContext, config: Record<string, string>): Promise<string[]> {
  const have = new Set((await ctx.backend.listNetwork()).filter((n) => n.type === "bridge").map((n) => n.iface));
  const named = Object.entries(config)
    .filter(([k]) => /^net\d+$/.test(k))
    .map(([, v]) => /(?:^|,)bridge=([^,]+)/.exec(v)?.[1])
    .filter((b): b is string => !!b);
  return [...new Set(named)].filter((b) => !have.has(b));
}

export function randomMac(prefix: string): string {
  const bytes = [...randomBytes(3)].map((b) => b.toString(16).toUpperCase().padStart(2, "0"));
  return `${prefix}:${bytes.join(":")}`;
}
