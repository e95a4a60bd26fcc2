// GET /nodes/{node}/qemu/{vmid}/migrate and /nodes/{node}/lxc/{vmid}/migrate (qemu-server's and, from PVE 9,
// pve-container's migrate_vm_precondition): what a client such as the web UI's migrate dialog asks before migrating a
// guest, computed from the lab's state the way Proxmox computes it. `target` is taken and, as in Proxmox, not used.
import { type ApiContext, checkLock, clusterNodes, loadConfig } from "./context";
import { notImplemented } from "./errors";
import { HA_TYPE } from "./ha-stack";
import { type MotionInfo, motionInfo } from "./ha-motion";
import { MappingStore } from "./pci-mappings";
import { driveVolids, localDisks, localResources, storageConfig } from "./qemu-local-resources";
import type { GuestType } from "../pve/backend";
import type { PveConfig } from "../pve/pve-config";
import { parseVolid } from "../pve/volumes";

/** The cluster's storage config as Proxmox's storage.cfg would hold it: each storage id, shared or not, on which nodes. */
async function clusterStorage(ctx: ApiContext): Promise<Map<string, { shared: boolean; nodes: Set<string> }>> {
  const out = new Map<string, { shared: boolean; nodes: Set<string> }>();
  // this node first: its own view of a storage decides `shared`
  for (const node of [ctx, ...clusterNodes(ctx).filter((n) => n !== ctx)])
    for (const s of await node.backend.listStorage()) {
      const entry = out.get(s.id) ?? { shared: !!s.shared, nodes: new Set<string>() };
      entry.nodes.add(node.node);
      out.set(s.id, entry);
    }
  return out;
}

/**
 * check_local_storage_availability: for each node, the storages of the VM's current drives (unused volumes and
 * snapshots aside) it cannot reach. Proxmox reads that from storage.cfg (`disable`, a `nodes` list); the lab's nodes
 * each have their own storages, so a storage a node lacks is one whose `nodes` leave it out. Every node has an entry.
 */
function unavailableStorages(
  config: PveConfig,
  storage: Map<string, { nodes: Set<string> }>,
  nodes: string[],
): Record<string, { unavailable_storages?: string[] }> {
  const missing = new Map<string, Set<string>>(nodes.map((n) => [n, new Set<string>()]));
  for (const volid of driveVolids(config)) {
    const v = parseVolid(volid);
    if (!v) continue;
    const s = storageConfig(storage, v.storage);
    for (const node of nodes) if (!s.nodes.has(node)) missing.get(node)!.add(v.storage);
  }
  return Object.fromEntries(
    nodes.map((n) => [n, missing.get(n)!.size ? { unavailable_storages: [...missing.get(n)!].sort() } : {}]),
  );
}

const pve8 = (ctx: ApiContext) => ctx.version.version.startsWith("8.");

/** The guest's config (Proxmox's "does not exist" failure otherwise), its lock checked, and whether it runs. */
async function guest(ctx: ApiContext, type: GuestType, vmid: number) {
  const file = await loadConfig(ctx, type, vmid);
  checkLock(ctx, type, vmid, file);
  const running = (await ctx.backend.runtime(type, vmid)).status === "running";
  return { file, running };
}

/** HA's view (PVE 9), for an HA-managed guest only (which alone gets `dependent-ha-resources`). */
async function haMotion(ctx: ApiContext, type: GuestType, vmid: number): Promise<MotionInfo | undefined> {
  const ha = ctx.ha;
  if (pve8(ctx) || !ha?.managed(type, vmid)) return undefined;
  return motionInfo(ctx, ha, `${HA_TYPE[type]}:${vmid}`);
}

/** The cluster's nodes but this one, in their order. */
const otherNodes = (ctx: ApiContext) =>
  clusterNodes(ctx)
    .map((n) => n.node)
    .filter((n) => n !== ctx.node);

/**
 * A VM's preconditions. Not derived: the running VM's `clipboard=vnc` check against its QEMU machine version (later
 * 9.x releases let machines from 10.1 migrate with it; the lab keeps no machine version, so it reports it as PVE 8.4
 * and 9.0 do).
 * `has-dbus-vmstate` (PVE 9) is 0 where Proxmox always says 1: the lab has no dbus-vmstate helper to carry conntrack
 * state, and migrates no running VM anyway.
 */
export async function vmPrecondition(ctx: ApiContext, vmid: number, pciMappings: string): Promise<unknown> {
  const { file, running } = await guest(ctx, "qemu", vmid);
  const nodes = clusterNodes(ctx).map((n) => n.node);
  const mappings = new MappingStore(pciMappings).all();
  const resources = localResources(file.config, running, mappings, nodes, pve8(ctx));
  if (running && /(?:^|,)clipboard=vnc(?:,|$)/.test(file.config.vga ?? "")) resources.local.push("clipboard=vnc");
  const storage = await clusterStorage(ctx);
  const byNode: Record<string, Record<string, unknown>> = unavailableStorages(file.config, storage, nodes);
  const motion = await haMotion(ctx, "qemu", vmid);
  const allowed: string[] = [];
  const notAllowed: Record<string, Record<string, unknown>> = {};
  for (const node of otherNodes(ctx)) {
    // as Proxmox: every other node is a key of not_allowed_nodes, with an empty object when nothing stops it
    const entry = (notAllowed[node] = byNode[node]!);
    if (resources.missing[node]!.length) entry["unavailable-resources"] = resources.missing[node];
    if (motion?.blocking[node]) entry["blocking-ha-resources"] = motion.blocking[node];
    if (!Object.keys(entry).length) allowed.push(node);
  }
  return {
    running: running ? 1 : 0,
    ...(motion ? { "dependent-ha-resources": motion.dependent } : {}),
    allowed_nodes: allowed,
    not_allowed_nodes: notAllowed,
    local_disks: localDisks(file, storage, pve8(ctx)),
    local_resources: resources.local,
    "mapped-resources": Object.keys(resources.mapped).sort(),
    "mapped-resource-info": resources.mapped,
    ...(pve8(ctx) ? {} : { "has-dbus-vmstate": 0 }),
  };
}

/** A container's preconditions (PVE 9 only; an 8.x lab answers as for any route it does not serve): HA's alone. */
export async function ctPrecondition(ctx: ApiContext, vmid: number, method: string, path: string): Promise<unknown> {
  if (pve8(ctx)) throw notImplemented(method, path);
  const { running } = await guest(ctx, "lxc", vmid);
  const motion = await haMotion(ctx, "lxc", vmid);
  const others = otherNodes(ctx);
  const notAllowed: Record<string, unknown> = {};
  for (const node of others) if (motion?.blocking[node]) notAllowed[node] = { "blocking-ha-resources": motion.blocking[node] };
  return {
    running: running ? 1 : 0,
    "allowed-nodes": others.filter((n) => !notAllowed[n]),
    "not-allowed-nodes": notAllowed,
    ...(motion ? { "dependent-ha-resources": motion.dependent } : {}),
  };
}
