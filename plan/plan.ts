// The plan: a pure function from a validated definition to what must exist and in which order.
import { formatIp, isHostAddress, parseCidr, parseIp } from "../definition/ipv4";
import { type Effective, type Index, type Machine, idMapOf } from "../definition/resolve";
import { hostIdOf, idMapLine, rawIdMaps } from "../definition/idmap";
import { type Definition, FEATURE_DEFAULTS, FEATURE_ORDER, type FeatureName, type SecretRef } from "../definition/schema";
import { dependencyOrder, prerequisites } from "../definition/graph";
import { poolFor, poolsOf } from "../definition/pools";
import type { ValidDefinition } from "../definition/valid";
import { gpuBudgets } from "../definition/gpu-budget";
import { cudaArchListFor } from "../definition/gpu-models";
import { ollamaModelName, vllmImageOf } from "../definition/serving";
import { hostGpuAddresses, lxcGpuDevices, nodeGpuMappings, nodeVfio, vmHostPci } from "./gpu";
import { type Pool, type Request, allocate } from "./ip-allocation";
import { nodeBackup, planBackupJob } from "./backup";
import { planApps } from "./apps";
import { portainerRegistrations } from "./portainer";
import { planFirewall } from "./firewall";
import { planDns, resolveThroughDns } from "./dns";
import { planGateway } from "./gateway";
import { planHa } from "./ha";
import { placementSpecs } from "./placement";
import { placedIndex } from "../definition/placement-input";
import type { PlannedFeature, PlannedInterface, PlannedMachine, PlannedMount, Plan, Source, Transport } from "./types";

export type * from "./types";
export type * from "./backup";

export interface PlanOptions {
  /** Addresses allocated by earlier runs (the lock file). */
  previousAllocations?: Readonly<Record<string, string>>;
  /** Guest → node from earlier runs (the lock file): guests without a node stay there while it takes them. */
  previousPlacements?: Readonly<Record<string, string>>;
}

export class PlanError extends Error {}

/** The plan of a definition that passed validation (validate/: loadDefinition, validated). */
export function buildPlan(def: ValidDefinition, opts: PlanOptions = {}): Plan {
  const { ix, placement } = placedIndex(def, opts.previousPlacements);
  if (placement.unplaced.length > 0)
    throw new PlanError(`no node takes ${placement.unplaced.map((u) => u.guest).join(", ")} (phoenix validate says why)`);
  const allocations = allocateAddresses(ix, opts.previousAllocations ?? {});
  const { order } = dependencyOrder(ix);
  const machines = order.map((n) => planMachine(ix, ix.byName.get(n)!, allocations));
  const apps = planApps(def.apps, machines);
  const gateway = planGateway(ix, machines, apps);
  const dns = planDns(ix, machines, gateway);
  const firewall = planFirewall(ix, machines, gateway, dns);
  const ha = planHa(haGuests(ix, machines));
  return {
    nodes: def.nodes.map((n) => ({
      name: n.name,
      ...(n.api ? { api: n.api } : {}),
      ...(n.ssh ? { ssh: n.ssh } : {}),
      datasets: n.zfs.datasets,
      gpuMappings: nodeGpuMappings(n),
      apparmorProfiles: n.apparmorProfiles,
      ...(n.nvidia
        ? {
            nvidiaDriver: {
              version: n.nvidia.driverVersion,
              installOnHost: n.nvidia.installOnHost,
              ...(n.nvidia.runfileSha256 ? { runfileSha256: n.nvidia.runfileSha256.toLowerCase() } : {}),
              ...(n.nvidia.timeout !== undefined ? { timeout: n.nvidia.timeout } : {}),
            },
          }
        : {}),
      ...nodeGpuSteps(ix, n),
      ...(nodeBackup(n) ? { backup: nodeBackup(n)! } : {}),
      backupJobs: n.backupJobs.map((j) => planBackupJob(ix, n, j)),
    })),
    baseTemplates: [...ix.bases.values()].map(({ t }) => ({
      name: t.name,
      type: t.type,
      node: ix.nodeOf(t.node)!.name,
      ...(t.vmid !== undefined ? { vmid: t.vmid } : {}),
      ...(t.os ? { os: t.os } : {}),
      source: t.source,
    })),
    // Guests resolve through the DNS server (network.dns.useInGuests).
    machines: resolveThroughDns(ix, machines, dns),
    portainer: portainerRegistrations(machines),
    apps,
    allocations: Object.fromEntries([...allocations].sort(([a], [b]) => (a < b ? -1 : 1))),
    sshKeys: def.access.sshKeys,
    ...(def.access.sshPrivateKey ? { sshPrivateKey: def.access.sshPrivateKey } : {}),
    secrets: secretNames(def),
    gpuBudgets: gpuBudgets(ix).filter((b) => b.shares.length > 0),
    ...(firewall ? { firewall } : {}),
    ...(dns ? { dns } : {}),
    ...(gateway ? { gateway } : {}),
    ...(ha ? { ha } : {}),
    placements: placementSpecs(placement),
  };
}

/** The guests as the HA planner reads them: on their planned node, with their `ha` and `spread`. */
function haGuests(ix: Index, machines: readonly PlannedMachine[]) {
  return machines.flatMap((m) => {
    const d = ix.byName.get(m.name)?.def;
    if (m.kind !== "guest" || !d || !("template" in d)) return [];
    return [{ name: m.name, vmid: m.vmid, type: m.type, node: m.node, ha: d.ha, spread: d.spread }];
  });
}

/** The node's own GPU steps: the boot unit for /dev/nvidia* and VFIO for the GPUs its VMs take. */
function nodeGpuSteps(ix: Index, n: Definition["nodes"][number]) {
  const vmGpus = new Set<number>();
  for (const m of ix.machines) {
    const e = ix.effective(m);
    if (m.kind === "guest" && m.type === "vm" && e.node === n) e.gpus.forEach((g) => vmGpus.add(g));
  }
  const vfio = nodeVfio(n, vmGpus);
  const init = n.nvidia && (n.nvidia.bootInit ?? n.nvidia.installOnHost);
  return {
    ...(init
      ? {
          gpuInit: {
            gpus: n.gpus
              .filter((g) => !vmGpus.has(g.index))
              .map((g) => ({ index: g.index, ...(g.pci ? { pci: g.pci.length === 7 ? `0000:${g.pci}` : g.pci } : {}) })),
            persistence: vmGpus.size === 0 ? ("all" as const) : hostGpuAddresses(n, vmGpus),
          },
        }
      : {}),
    ...(vfio ? { vfio } : {}),
  };
}

function allocateAddresses(ix: Index, previous: Readonly<Record<string, string>>): Map<string, string> {
  const bridges = new Map(ix.def.network.bridges.map((b) => [b.name, b]));
  const reservedBy = new Map<string, Set<number>>();
  for (const m of ix.machines)
    for (const nic of m.def.network) {
      const c = parseCidr(nic.ip);
      if (!c) continue;
      const set = reservedBy.get(nic.bridge) ?? new Set<number>();
      set.add(c.address);
      reservedBy.set(nic.bridge, set);
    }
  const pools = new Map<string, Pool>();
  const prefix = new Map<string, number>();
  for (const p of poolsOf(ix.def.network.bridges)) {
    const b = bridges.get(p.bridge)!;
    const net = parseCidr(b.subnet)!;
    prefix.set(p.bridge, net.prefix);
    const reserved = new Set(reservedBy.get(p.bridge) ?? []);
    const gw = b.gateway !== undefined ? parseIp(b.gateway) : undefined;
    if (gw !== undefined) reserved.add(gw);
    for (let a = p.first; a <= p.last; a++) if (!isHostAddress(net, a)) reserved.add(a);
    pools.set(`${p.bridge}/${p.name}`, { id: `${p.bridge}/${p.name}`, space: p.bridge, first: p.first, last: p.last, reserved });
  }
  const requests: Request[] = [];
  const poolList = poolsOf(ix.def.network.bridges);
  for (const m of ix.machines)
    for (const nic of m.def.network) {
      if (nic.ip !== "auto") continue;
      const p = poolFor(poolList, nic.bridge, nic.pool)!;
      requests.push({ key: `${m.name}/${nic.name}`, pool: pools.get(`${p.bridge}/${p.name}`)!, vmid: m.vmid });
    }
  const prev = new Map<string, number>();
  for (const [k, v] of Object.entries(previous)) {
    const c = parseCidr(v) ?? (parseIp(v) !== undefined ? parseCidr(`${v}/32`) : undefined);
    if (c) prev.set(k, c.address);
  }
  const { addresses, unserved } = allocate(requests, prev);
  if (unserved.length > 0) throw new PlanError(`no free address for ${unserved.join(", ")}`);
  const bridgeOf = new Map(requests.map((r) => [r.key, r.pool.id.split("/")[0]!]));
  return new Map([...addresses].map(([k, a]) => [k, `${formatIp(a)}/${prefix.get(bridgeOf.get(k)!)}`]));
}

function planMachine(ix: Index, m: Machine, allocations: Map<string, string>): PlannedMachine {
  const eff = ix.effective(m);
  const d = m.def;
  const node = eff.node!;
  const bridges = new Map(ix.def.network.bridges.map((b) => [b.name, b]));
  const network: PlannedInterface[] = d.network.map((nic) => {
    const gateway = nic.ip === "dhcp" ? undefined : (nic.gateway ?? bridges.get(nic.bridge)?.gateway);
    return {
      name: nic.name,
      bridge: nic.bridge,
      ip: nic.ip === "auto" ? allocations.get(`${m.name}/${nic.name}`)! : nic.ip,
      ...(gateway ? { gateway } : {}),
      ...(nic.mac ? { mac: nic.mac.toUpperCase() } : {}),
      ...(nic.vlan !== undefined ? { vlan: nic.vlan } : {}),
      ...(nic.firewall !== undefined ? { firewall: nic.firewall } : {}),
      allocated: nic.ip === "auto",
    };
  });
  const datasets = new Map(node.zfs.datasets.map((ds) => [ds.name, ds]));
  const idMap = m.type === "lxc" ? idMapOf(eff) : undefined;
  const mountPoints: PlannedMount[] = d.mountPoints.map((mp, k) => {
    let source = mp.hostPath ?? "";
    if (mp.dataset !== undefined) {
      const mountpoint = datasets.get(mp.dataset)?.properties["mountpoint"];
      source =
        (typeof mountpoint === "string" && mountpoint.startsWith("/") ? mountpoint : `/${mp.dataset}`) +
        (mp.subdir ? `/${mp.subdir}` : "");
    }
    return {
      id: `mp${k}`,
      source,
      ...(mp.dataset ? { dataset: mp.dataset } : {}),
      path: mp.path,
      readOnly: mp.readOnly,
      backup: mp.backup,
      ...(mp.owner
        ? {
            owner: {
              ...mp.owner,
              // Validation holds a custom map to cover 0–65535, so every owner is mapped.
              hostUid: hostIdOf(idMap, "uid", mp.owner.uid)!,
              hostGid: hostIdOf(idMap, "gid", mp.owner.gid)!,
            },
          }
        : {}),
    };
  });
  const diskDataset = node.storage.find((s) => s.id === d.disk?.storage && s.type === "zfspool")?.pool;
  const needed = [
    ...(diskDataset && datasets.has(diskDataset) ? [diskDataset] : []),
    ...mountPoints.flatMap((mp) => (mp.dataset ? [mp.dataset] : [])),
  ];
  const transport: Transport = m.type === "lxc" ? "pct" : "ssh";
  const provisioners: PlannedFeature[] = FEATURE_ORDER.filter((f) => d.features[f] !== undefined).map((f) => ({
    feature: f,
    transport,
    settings: featureSettings(f, eff),
  }));
  const guest = m.kind === "guest" ? (d as Extract<Machine["def"], { template: string }>) : undefined;
  return {
    kind: m.kind,
    name: m.name,
    path: m.path,
    vmid: m.vmid,
    type: m.type,
    node: node.name,
    source: sourceOf(ix, m),
    depth: eff.chain.length - (eff.base ? 1 : 0),
    ...(d.cores !== undefined ? { cores: d.cores } : {}),
    ...(d.memory !== undefined ? { memory: d.memory } : {}),
    ...(d.swap !== undefined ? { swap: d.swap } : {}),
    ...(d.disk ? { disk: d.disk } : {}),
    network,
    nameservers: d.nameservers ?? bridges.get(d.network[0]?.bridge ?? "")?.dns ?? [],
    ...((d.searchDomain ?? ix.def.network.domain) ? { searchDomain: (d.searchDomain ?? ix.def.network.domain)! } : {}),
    unprivileged: m.type === "lxc" ? eff.unprivileged : false,
    nesting: m.type === "lxc" ? eff.nesting : false,
    keyctl: m.type === "lxc" ? (d.keyctl ?? (eff.nesting && eff.unprivileged && eff.features.docker !== undefined)) : false,
    gpus: [...eff.gpus].sort((a, b) => a - b),
    devices: m.type === "lxc" ? lxcGpuDevices(eff.gpus) : [],
    hostpci: m.type === "vm" ? vmHostPci(node.name, eff.gpus) : [],
    mountPoints,
    datasets: [...new Set(needed)],
    features: eff.features,
    provisioners,
    dependsOn: prerequisites(ix, m),
    startAtBoot: guest?.startAtBoot ?? false,
    ...(guest?.bootOrder !== undefined ? { bootOrder: guest.bootOrder } : {}),
    ...(guest?.bootDelay !== undefined ? { bootDelay: guest.bootDelay } : {}),
    lxcOptions: lxcLines(m, eff),
    healthChecks: d.healthChecks,
    timeouts: d.timeouts ?? {},
    ...(d.cloudInit ? { cloudInit: d.cloudInit } : {}),
    ...(d.description ? { description: d.description } : {}),
    tags: d.tags,
    backup: { beforeReplace: d.backupBeforeReplace, keep: d.backupRetention },
    ...(guest?.snapshots?.afterProvision ? { snapshots: { keep: guest.snapshots.keep, name: guest.snapshots.name } } : {}),
    protect: d.protect,
  };
}

/** The definition's raw lines, then custom idMaps (own or a template's) as lxc.idmap lines unless written raw here. */
function lxcLines(m: Machine, eff: Effective): string[] {
  const own = m.def.lxcOptions;
  if (m.type !== "lxc" || !eff.idMaps || rawIdMaps(own).entries.length > 0) return own;
  return [...own, ...eff.idMaps.map(idMapLine)];
}

function sourceOf(ix: Index, m: Machine): Source {
  const golden = ix.byName.get(m.from);
  if (golden && golden.kind === "template")
    return { kind: "clone", template: golden.name, vmid: golden.vmid, snapshot: (golden.def as { snapshot: string }).snapshot };
  const base = ix.bases.get(m.from)!.t;
  if (base.type === "vm") return { kind: "clone", template: base.name, vmid: base.vmid!, snapshot: "" };
  const s = base.source;
  return "url" in s
    ? {
        kind: "create",
        template: base.name,
        storage: s.storage,
        url: s.url,
        checksum: s.checksum,
        ...(s.file ? { file: s.file } : {}),
      }
    : { kind: "create", template: base.name, storage: s.storage, file: s.file };
}

/** Feature settings with their defaults, including those that depend on the machine (vLLM's tensor parallel size). */
function featureSettings(f: FeatureName, eff: Effective): unknown {
  const v = eff.features[f];
  const settings: Record<string, unknown> = { ...FEATURE_DEFAULTS[f], ...(typeof v === "object" ? v : {}) };
  const models = [...eff.gpus].sort((a, b) => a - b).map((g) => eff.node?.gpus.find((x) => x.index === g)?.model);
  if (f === "vllm" && eff.features.vllm) {
    const v = eff.features.vllm;
    const arch = v.cudaArchList ?? cudaArchListFor(models);
    return {
      ...settings,
      tensorParallelSize: v.tensorParallelSize ?? Math.max(1, eff.gpus.length),
      servedModelName: v.servedModelName ?? v.model,
      // A pinned release runs its own image unless one is named.
      ...(v.install === "container" && v.version !== undefined ? { image: vllmImageOf(v) } : {}),
      ...(arch !== undefined ? { cudaArchList: arch } : {}),
    };
  }
  if (f === "ollama" && eff.features.ollama) return ollamaSettings(settings, eff);
  if (f === "nvidia") return { ...settings, driverVersion: eff.node?.nvidia?.driverVersion };
  return settings;
}

/**
 * Ollama's GPUs as CUDA sees them inside the guest (ordinals among the guest's GPUs, in PCI order) and the memory
 * it leaves to others on each: OLLAMA_GPU_OVERHEAD, the GPU's memory minus its budget (the smallest GPU's).
 */
function ollamaSettings(settings: Record<string, unknown>, eff: Effective): Record<string, unknown> {
  const o = eff.features.ollama!;
  const guestGpus = [...eff.gpus].sort((a, b) => a - b);
  const used = guestGpus.filter((g) => (o.gpus ?? guestGpus).includes(g));
  const memory = used.map((g) => eff.node?.gpus.find((x) => x.index === g)?.memory);
  const overhead =
    o.gpuMemory !== undefined && used.length > 0 && memory.every((m) => m !== undefined)
      ? Math.max(0, Math.round((Math.min(...(memory as number[])) - o.gpuMemory) * 2 ** 30))
      : undefined;
  return {
    ...settings,
    models: [...new Set((o.models ?? []).map(ollamaModelName))],
    // None (ollama.gpus: []) keeps Ollama on the CPU although the guest has GPUs.
    ...(guestGpus.length > 0 ? { cudaDevices: used.map((g) => guestGpus.indexOf(g)) } : {}),
    ...(overhead !== undefined ? { gpuOverheadBytes: overhead } : {}),
  };
}

function secretNames(def: Definition): string[] {
  const names = new Set<string>();
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === "secret" && typeof (v as SecretRef).secret === "string")
        names.add((v as SecretRef).secret);
      else Object.values(v).forEach(walk);
    }
  };
  walk(def);
  return [...names].sort();
}
