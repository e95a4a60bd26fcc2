// What `phoenix adopt` makes of a running node: its guests matched to the definition by vmid, its datasets by name,
// its PCI mappings by id, and the adoption record that follows (definition/adoption.ts). Pure: the node as read
// through its API and SSH, the plan, the previous record and what the stack already holds.
import type { AdoptedGuest, AdoptionRecord, Observed } from "../definition/adoption";
import { keepPaths, mountKey } from "./adoption";
import type { Plan, PlannedMachine } from "./types";

/** A guest as the node's API shows it: its vmid, type and config (GET /nodes/{node}/{lxc|qemu}/{vmid}/config). */
export interface LiveGuest {
  vmid: number;
  node: string;
  type: "lxc" | "vm";
  name: string;
  /** A Proxmox template (template: 1). */
  template: boolean;
  config: Record<string, unknown>;
}

export interface LiveNode {
  node: string;
  guests: LiveGuest[];
  /** `zfs list -H -o name` over the node's SSH; undefined when the definition gives no SSH to it. */
  datasets?: string[];
}

export type GuestMatch =
  | { status: "in-stack"; machine: PlannedMachine }
  | { status: "adopt"; machine: PlannedMachine; live: LiveGuest; observed: Observed; keep: { path: string; why: string }[] }
  | { status: "missing"; machine: PlannedMachine }
  | { status: "conflict"; machine: PlannedMachine; live: LiveGuest; why: string };

export interface AdoptMatch {
  record: AdoptionRecord;
  guests: GuestMatch[];
  /** Guests on the nodes the definition does not name: left alone. */
  unmanaged: LiveGuest[];
  datasets: { name: string; node: string; status: "in-stack" | "exists" | "missing" | "unknown" }[];
  pciMappings: { id: string; status: "exists" | "missing" }[];
}

/** GiB in a Proxmox size (4G, 512M, 1T, bytes). */
export function gibOf(size: string | undefined): number | undefined {
  const m = size === undefined ? null : /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(size);
  if (!m) return undefined;
  const exp = { "": -3, K: -2, M: -1, G: 0, T: 1 }[m[2] as "" | "K" | "M" | "G" | "T"];
  return Number(m[1]) * 1024 ** exp;
}

/** A volume property string (rootfs, mpN, virtio0, …) → its volume and options. */
function volumeOf(value: unknown): { volume: string; options: Record<string, string> } | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  const [volume, ...rest] = value.split(",");
  const options: Record<string, string> = {};
  for (const kv of rest) {
    const i = kv.indexOf("=");
    if (i > 0) options[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return { volume: volume!.startsWith("volume=") ? volume!.slice(7) : volume!, options };
}

const VM_DISK = /^(virtio|scsi|sata|ide)\d+$/;

/** What a running guest is where Proxmox cannot change it in place. */
export function observedOf(g: LiveGuest): Observed {
  const c = g.config;
  if (g.type === "lxc") {
    const root = volumeOf(c.rootfs);
    const mounts = Object.keys(c)
      .filter((k) => /^mp\d+$/.test(k))
      .flatMap((k) => {
        const mp = volumeOf(c[k]);
        return mp && mp.options.mp ? [mountKey(mp.volume, mp.options.mp)] : [];
      })
      .sort();
    const size = gibOf(root?.options.size);
    return {
      unprivileged: String(c.unprivileged ?? "0") === "1",
      ...(root && root.volume.includes(":") ? { diskStorage: root.volume.split(":")[0]! } : {}),
      ...(size !== undefined ? { diskSize: size } : {}),
      mounts,
    };
  }
  const disk = Object.keys(c)
    .filter((k) => VM_DISK.test(k) && !String(c[k]).includes("media=cdrom") && !String(c[k]).includes("cloudinit"))
    .sort()
    .map((k) => volumeOf(c[k]))[0];
  const size = gibOf(disk?.options.size);
  return {
    ...(disk && disk.volume.includes(":") ? { diskStorage: disk.volume.split(":")[0]! } : {}),
    ...(size !== undefined ? { diskSize: size } : {}),
  };
}

const WHY: Record<string, string> = {
  unprivileged: "Proxmox cannot change a container's privilege mode: it is fixed when the container is made",
  "disk.datastoreId": "the root disk lives on another storage (moving it is a new container to the provider)",
  "disk.size": "the root disk is larger than the definition says, and Proxmox never shrinks a disk",
  mountPoints: "its mount points differ, and the provider replaces a container whose mount points are added or removed",
};

function conflict(m: PlannedMachine, g: LiveGuest): string | undefined {
  if (g.type !== m.type)
    return `vmid ${m.vmid} on ${g.node} is a ${g.type === "lxc" ? "container" : "VM"}, the definition makes it a ${m.type === "lxc" ? "container" : "VM"}`;
  if (g.template && m.kind === "guest")
    return `vmid ${m.vmid} on ${g.node} is a Proxmox template, the definition makes it a guest`;
  return undefined;
}

function vmGpuMappings(plan: Pick<Plan, "machines" | "nodes">): string[] {
  const used = new Set(plan.machines.filter((m) => m.type === "vm").flatMap((m) => m.gpus.map((g) => `${m.node}/${g}`)));
  return plan.nodes.flatMap((n) => n.gpuMappings.filter((g) => used.has(`${n.name}/${g.index}`)).map((g) => g.id));
}

/**
 * The node matched to the plan. Guests the stack already holds stay as they are; guests that run and are not in the
 * stack are adopted (a new record entry; an existing one is kept); `rebuild` marks adopted guests for rebuilding.
 */
export function matchLive(
  plan: Pick<Plan, "machines" | "nodes" | "baseTemplates">,
  live: LiveNode[],
  previous: AdoptionRecord,
  inState: ReadonlySet<string>,
  livePciMappings: readonly string[] = [],
  rebuild: ReadonlySet<string> = new Set(),
  datasetsInState: ReadonlySet<string> = new Set(),
): AdoptMatch {
  const byVmid = new Map(live.flatMap((n) => n.guests.map((g) => [`${n.node}/${g.vmid}`, g] as const)));
  const planned = new Set(plan.machines.map((m) => `${m.node}/${m.vmid}`));
  for (const t of plan.baseTemplates) if (t.vmid !== undefined) planned.add(`${t.node}/${t.vmid}`);
  const guests: GuestMatch[] = [];
  const entries: Record<string, AdoptedGuest> = {};
  for (const m of plan.machines) {
    const g = byVmid.get(`${m.node}/${m.vmid}`);
    const kept = previous.guests[m.name];
    if (kept && (g || inState.has(m.name))) entries[m.name] = { ...kept, rebuild: kept.rebuild || rebuild.has(m.name) };
    if (inState.has(m.name)) guests.push({ status: "in-stack", machine: m });
    else if (!g) guests.push({ status: "missing", machine: m });
    else {
      const why = conflict(m, g);
      if (why) {
        guests.push({ status: "conflict", machine: m, live: g, why });
        delete entries[m.name];
        continue;
      }
      const observed = observedOf(g);
      const keep = kept ? kept.keep : keepPaths(m, observed);
      entries[m.name] ??= {
        vmid: m.vmid,
        node: m.node,
        type: m.type,
        kind: m.kind,
        observed,
        keep,
        rebuild: rebuild.has(m.name),
      };
      guests.push({ status: "adopt", machine: m, live: g, observed, keep: keep.map((path) => ({ path, why: WHY[path] ?? "" })) });
    }
  }
  const unmanaged = live.flatMap((n) => n.guests).filter((g) => !planned.has(`${g.node}/${g.vmid}`));
  const datasets = plan.nodes.flatMap((n) => {
    const found = live.find((l) => l.node === n.name)?.datasets;
    const status = (name: string) =>
      datasetsInState.has(name)
        ? ("in-stack" as const)
        : found === undefined
          ? ("unknown" as const)
          : found.includes(name)
            ? ("exists" as const)
            : ("missing" as const);
    return n.datasets.map((d) => ({ name: d.name, node: n.name, status: status(d.name) }));
  });
  const mappings = vmGpuMappings(plan);
  const pciMappings = mappings.map((id) => ({
    id,
    status: livePciMappings.includes(id) ? ("exists" as const) : ("missing" as const),
  }));
  const record: AdoptionRecord = {
    version: 1,
    guests: entries,
    pciMappings: [
      ...new Set([
        ...previous.pciMappings.filter((id) => mappings.includes(id)),
        ...pciMappings.filter((p) => p.status === "exists").map((p) => p.id),
      ]),
    ].sort(),
  };
  return { record, guests, unmanaged, datasets, pciMappings };
}

/** Proxmox's own defaults behind provider properties an import leaves out when a container holds them. */
const RUNNING_LXC: Record<string, (c: Record<string, unknown>) => unknown> = {
  "cpu.cores": (c) => Number(c.cores ?? 1),
  "cpu.architecture": (c) => String(c.arch ?? "amd64"),
  "memory.dedicated": (c) => Number(c.memory ?? 512),
  "memory.swap": (c) => Number(c.swap ?? 512),
};

/**
 * Whether the program's value for a property path is what the container already runs with: an import leaves
 * properties out that hold Proxmox's defaults, and the up then records them, changing nothing on the node.
 */
export function sameAsRunning(path: string, value: unknown, g: Pick<LiveGuest, "type" | "config">): boolean {
  if (g.type !== "lxc") return false;
  if (value !== null && typeof value === "object" && !Array.isArray(value))
    return Object.entries(value).every(([k, v]) => sameAsRunning(`${path}.${k}`, v, g));
  const read = RUNNING_LXC[path];
  return read !== undefined && read(g.config) === value;
}
