// phoenix_lxc_configs.json and phoenix_vm_configs.json → templates and guests.
import type { DefinitionInput } from "../../definition/schema";
import type { HostSettings } from "./hypervisor";
import { hostAccessOptions } from "../../definition/lxc-options";
import type { Reader, Warnings } from "./reader";
import { OLLAMA_VERSION } from "../../definition/serving";
import { readIdMaps, readOwner } from "./idmaps";

type TemplateInput = DefinitionInput["templates"] extends (infer T)[] | undefined ? T : never;
type GuestInput = NonNullable<DefinitionInput["guests"]>[number];
type Machine = Record<string, unknown> & { vmid: number; name: string };

interface Entry {
  id: string;
  type: "lxc" | "vm";
  r: Reader;
  name: string;
  cloneFrom?: string;
}

export interface MachinesOut {
  templates: TemplateInput[];
  guests: GuestInput[];
  /** The original's docker_stacks lists: which stacks each guest runs (cli/import/stacks.ts makes them apps). */
  stackRefs: StackRef[];
  /** Each entry's reader and features, for the network services (cli/import/firewall.ts, routes.ts). */
  sources: MachineSource[];
}

export interface MachineSource {
  name: string;
  r: Reader;
  features: string[];
  template: boolean;
}

export interface StackRef {
  guest: string;
  where: string;
  stack: string;
  /** The environment an entry names ({ name, environment } entries, as the VM schema has them). */
  environment?: string;
}

const FEATURES_WITHOUT_EQUIVALENT = new Set(["base_setup", "step_cli", "step_ca", "llamacpp", "nfs_client"]);

/** A snapshot name the definition takes (a letter, then letters, digits, '-' and '_'; 24 characters at most). */
function snapshotPrefix(name: string): string {
  const n = name.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^[^A-Za-z]+/, "");
  return (n || "final-form").slice(0, 24);
}

/**
 * Lifecycle snapshots: the original's final-form (enable_lifecycle_snapshots, a VM's snapshots.post-features) becomes
 * snapshots.afterProvision with the newest one kept, as the original kept one.
 */
function readSnapshots(e: Entry, m: Machine, host: HostSettings, w: Warnings): void {
  const r = e.r;
  const lifecycle = r.bool("enable_lifecycle_snapshots") === true;
  const vmSnaps = e.type === "vm" ? r.obj("snapshots") : undefined;
  const post = vmSnaps?.str("post-features");
  vmSnaps?.unmapped(
    "pre-features",
    "only the snapshot after provisioning is taken",
    "take one before features by hand if needed",
  );
  if (lifecycle && e.type === "lxc")
    w.add(
      r.where("enable_lifecycle_snapshots"),
      "the pre-configured snapshot (before features) has no equivalent; final-form is taken",
    );
  if (!lifecycle && post === undefined) return;
  const disk = (m.disk as { storage?: string } | undefined)?.storage;
  const type = host.node.storage?.find((s) => s.id === disk)?.type;
  if (e.type === "lxc" && disk !== undefined && type !== undefined && !["zfspool", "lvmthin", "btrfs"].includes(type)) {
    w.add(
      r.where(lifecycle ? "enable_lifecycle_snapshots" : "snapshots"),
      `not mapped: the guest's disk is on storage '${disk}' (${type}), where Proxmox cannot snapshot a container`,
      "move its disk to a zfspool storage, then set snapshots.afterProvision",
    );
    return;
  }
  m.snapshots = { afterProvision: true, keep: 1, name: snapshotPrefix(post ?? "final-form") };
}

export function readMachines(lxc: Reader | undefined, vm: Reader | undefined, host: HostSettings, w: Warnings): MachinesOut {
  const entries: Entry[] = [];
  const usedNames = new Set<string>();
  const uniqueName = (raw: string, id: string) => {
    let n = raw.replace(/[^A-Za-z0-9.-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "") || `guest-${id}`;
    if (usedNames.has(n)) n = `${n}-${id}`;
    usedNames.add(n);
    return n;
  };

  if (lxc) {
    lxc.skip("$schema");
    const driver = lxc.str("nvidia_driver_version");
    if (driver && host.node.nvidia && host.node.nvidia.driverVersion !== driver)
      w.add(
        lxc.where("nvidia_driver_version"),
        `differs from the hypervisor file's ${host.node.nvidia.driverVersion}; the hypervisor file wins`,
      );
    if (driver && !host.node.nvidia) host.node.nvidia = { driverVersion: driver, installOnHost: false };
    lxc.unmapped("nvidia_repo_url", "the nvidia feature picks NVIDIA's repository for the guest's OS");
    lxc.unmapped("nvidia_runfile_url", "the nvidia feature picks its package source");
    const cts = lxc.obj("lxc_configs");
    for (const [id, r] of cts?.entries() ?? [])
      entries.push({
        id,
        type: "lxc",
        r,
        name: uniqueName(r.str("name") ?? `ct-${id}`, id),
        ...(r.has("clone_from_ctid") ? { cloneFrom: r.str("clone_from_ctid")! } : {}),
      });
  }
  let vmDefaults: Reader | undefined;
  if (vm) {
    vmDefaults = vm.obj("vm_defaults");
    // Read every default now so each counts as used even where no VM falls back on it.
    for (const k of ["template", "cores", "memory_mb", "disk_size_gb", "storage_pool", "network_bridge"]) vmDefaults?.raw(k);
    for (const r of vm.objs("vms")) {
      const id = r.str("vmid") ?? "";
      entries.push({
        id,
        type: "vm",
        r,
        name: uniqueName(r.str("name") ?? `vm-${id}`, id),
        ...(r.has("clone_from_vmid") ? { cloneFrom: r.str("clone_from_vmid")! } : {}),
      });
    }
  }
  const byId = new Map(entries.map((e) => [e.id, e]));
  const clonedFrom = new Set(entries.flatMap((e) => (e.cloneFrom ? [e.cloneFrom] : [])));
  const templates: TemplateInput[] = [];
  const guests: GuestInput[] = [];
  const stackRefs: StackRef[] = [];
  const sources: MachineSource[] = [];
  const bases = new Map<string, TemplateInput>();

  const baseFromFile = (path: string, where: string): string | undefined => {
    // "/fastData/shared-iso/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst"
    for (const [id, dir] of host.storagePath) {
      if (!path.startsWith(`${dir}/`)) continue;
      const file = path.slice(dir.length + 1).replace(/^template\/cache\//, "vztmpl/");
      const name = uniqueBaseName(
        file
          .split("/")
          .pop()!
          .replace(/_.*$/, "")
          .replace(/\.tar\.\w+$/, ""),
      );
      if (!bases.has(name)) bases.set(name, { name, type: "lxc", source: { storage: id, file } });
      return name;
    }
    w.add(
      where,
      `template file ${path} is on no storage declared by the hypervisor file`,
      "declare a base template for it by hand",
    );
    return undefined;
  };
  const uniqueBaseName = (n: string) => n.replace(/[^A-Za-z0-9.-]+/g, "-");

  for (const e of entries) {
    const r = e.r;
    const m: Machine = { vmid: Number(e.id), name: e.name };
    if (!Number.isInteger(m.vmid)) w.add(r.where(), `id '${e.id}' is not a number`, "fix the vmid by hand");
    if (e.type === "vm") m.type = "vm";
    r.skip("name", "vmid", "clone_from_ctid", "clone_from_vmid");

    let from: string | undefined;
    if (e.cloneFrom !== undefined) {
      const src = byId.get(e.cloneFrom);
      if (src) from = src.name;
      else {
        from = `missing-${e.cloneFrom}`;
        w.add(
          r.where(e.type === "lxc" ? "clone_from_ctid" : "clone_from_vmid"),
          `clones ${e.cloneFrom}, which is not in the input`,
          "add that container or point the clone at a template",
        );
      }
    }
    const markedTemplate = r.bool("is_template") === true;
    const isTemplate = clonedFrom.has(e.id) || (e.type === "lxc" && r.has("template_snapshot_name")) || markedTemplate;

    if (e.type === "vm" && r.has("template_image") && !e.cloneFrom) {
      // A cloud-image VM template is a base template in the definition.
      const image = r.str("template_image")!;
      const storage = [...host.storagePath.keys()].find((id) =>
        host.node.storage?.find((s) => s.id === id)?.content?.includes("iso" as never),
      );
      if (!storage)
        w.add(
          r.where("template_image"),
          "no storage with iso content to hold the image",
          "declare the base template's storage by hand",
        );
      bases.set(e.name, {
        name: e.name,
        type: "vm",
        vmid: m.vmid,
        source: { storage: storage ?? "local", file: `iso/${image}` },
      });
      r.unmapped("template_snapshot_name", "VM base templates are cloned as templates, without a snapshot");
      r.unmapped("network_config", "base templates have no network of their own; clones declare theirs");
      r.unmapped("user_config", "clones carry cloudInit.user");
      sources.push({ name: e.name, r, features: r.strings("features"), template: true });
      continue;
    }
    if (!from && e.type === "lxc") {
      const file = r.str("template");
      if (file) from = baseFromFile(file, r.where("template"));
    } else r.unmapped("template", "a clone's source is its clone_from_ctid");
    if (!from && e.type === "vm") {
      const t = vmDefaults?.str("template");
      w.add(
        r.where(),
        `VM has neither clone_from_vmid nor template_image${t ? ` (vm_defaults.template is '${t}')` : ""}`,
        "set its template by hand",
      );
    }

    const defaults =
      e.type === "lxc" ? host.lxcDefaults : { cores: vmDefaults?.num("cores"), memory: vmDefaults?.num("memory_mb") };
    const cores = r.num("cores") ?? defaults.cores;
    const memory = r.num("memory_mb") ?? defaults.memory;
    if (cores !== undefined) m.cores = cores;
    if (memory !== undefined) m.memory = memory;
    const swap = r.num("swap_mb");
    if (swap !== undefined) m.swap = swap;
    const storage = r.str("storage_pool") ?? (e.type === "vm" ? vmDefaults?.str("storage_pool") : undefined);
    const size =
      r.num(e.type === "lxc" ? "storage_size_gb" : "disk_size_gb") ??
      (e.type === "vm" ? vmDefaults?.num("disk_size_gb") : undefined);
    if (storage && size) m.disk = { storage, size };

    readNetwork(e, m, host, vmDefaults, w);
    readGpus(e, m, byId, w);
    readFeatures(e, m, host, entries, w);
    readMounts(e, m, host, w);

    const user = e.type === "vm" ? r.obj("user_config") : undefined;
    const username = user?.str("username");
    if (username) m.cloudInit = { user: username };
    if (e.type === "lxc") {
      const unpriv = r.bool("unprivileged");
      if (unpriv !== undefined) m.unprivileged = unpriv;
      for (const opt of r.strings("pct_options")) {
        const [k, v] = opt.split("=");
        if ((k === "nesting" || k === "keyctl") && (v === "1" || v === "0")) m[k] = v === "1";
        else w.add(r.where("pct_options"), `pct option '${opt}' has no equivalent`, "set it by hand if it matters");
      }
      if (m.nesting === undefined && host.lxcDefaults.nesting && !e.cloneFrom) m.nesting = true;
      const opts = r.strings("lxc_options");
      if (opts.length) m.lxcOptions = opts;
      // Copied as they are, never allowed on the operator's behalf: validation refuses them until a reason is given.
      const reaching = hostAccessOptions(opts);
      if (reaching.length > 0)
        w.add(
          r.where("lxc_options"),
          `${reaching.map((o) => `'${opts[o.index]}'`).join(", ")} give${reaching.length === 1 ? "s" : ""} the container ${[...new Set(reaching.map((o) => o.access))].join(" and ")}`,
          "remove it, or set allowHostAccess: { reason: … } on the guest (validation refuses it until then)",
        );
      r.unmapped("apparmor_manages_nesting", "nesting is set explicitly with nesting: true");
      const idMaps = readIdMaps(r, host, w);
      if (idMaps) m.idMaps = idMaps;
    }
    const deps = r.strings("dependencies").map((d) => {
      const t = byId.get(d);
      if (!t) w.add(r.where("dependencies"), `depends on ${d}, which is not in the input; dropped`);
      return t?.name;
    });
    if (deps.some(Boolean)) m.dependsOn = deps.filter((x): x is string => x !== undefined);
    const hc = r.obj("health_check");
    if (hc) {
      const command = hc.str("command");
      if (command)
        m.healthChecks = [
          {
            name: "health",
            command,
            ...(hc.has("retries") ? { retries: hc.num("retries") } : {}),
            ...(hc.has("interval") ? { interval: hc.num("interval") } : {}),
          },
        ];
    }
    r.unmapped("tests", "test scripts are not run by the definition", "declare healthChecks instead");
    r.unmapped("ports", "guests have their own addresses; port forwards are not managed");
    r.unmapped("trigger_sync_on_completion", "no equivalent");
    if (!isTemplate) readSnapshots(e, m, host, w);
    else
      r.unmapped(
        "enable_lifecycle_snapshots",
        "a golden template is frozen with pct template, and Proxmox takes no snapshot of a template",
      );
    r.unmapped("bootstrap_ca_url", "step-ca is not a feature yet");
    r.unmapped("volumes", "NFS volumes in VMs are not managed yet");
    readStackRefs(r, e.name, stackRefs, w);
    r.unmapped(
      "dns_records",
      "network.dns names each guest and exposed service itself; other records are not managed",
      "serve other records from another DNS server",
    );
    r.unmapped("portainer_environment_name", "agents register under their guest name");
    r.unmapped("portainer_agent_hostname", "agents are reached at their guest address");

    sources.push({ name: e.name, r, features: r.strings("features"), template: isTemplate });
    if (isTemplate) {
      const snap = r.str("template_snapshot_name");
      if (r.bool("start_at_boot")) w.add(r.where("start_at_boot"), "templates do not start at boot; ignored");
      r.skip("boot_order", "boot_delay", "start_at_boot");
      templates.push({
        ...m,
        parent: from ?? "unknown",
        ...(snap ? { snapshot: snap.replace(/[^A-Za-z0-9_-]/g, "-") } : {}),
      } as TemplateInput);
    } else {
      const start = r.bool("start_at_boot");
      const order = r.num("boot_order");
      const delay = r.num("boot_delay");
      if (start !== undefined) m.startAtBoot = start;
      if (order !== undefined) m.bootOrder = order;
      if (delay !== undefined) m.bootDelay = delay;
      r.unmapped("template_snapshot_name", "nothing clones this guest");
      guests.push({ ...m, template: from ?? "unknown" } as GuestInput);
    }
  }
  return { templates: [...bases.values(), ...templates], guests, stackRefs, sources };
}

function readNetwork(e: Entry, m: Machine, host: HostSettings, vmDefaults: Reader | undefined, w: Warnings) {
  const n = e.r.obj("network_config");
  if (!n) return;
  const ip = n.str("ip");
  const nic: Record<string, unknown> = {
    name: n.str("name") ?? "eth0",
    bridge: n.str("bridge") ?? (e.type === "vm" ? vmDefaults?.str("network_bridge") : undefined) ?? host.bridge.name,
    ip: ip === undefined ? "dhcp" : ip,
  };
  if (ip && ip !== "dhcp" && !ip.includes("/")) nic.ip = `${ip}/${host.bridge.subnet.split("/")[1]}`;
  const gw = n.str("gw");
  if (gw && gw !== host.bridge.gateway) nic.gateway = gw;
  const mac = e.r.str("mac_address");
  if (mac) nic.mac = mac;
  const ns = [...n.strings("nameservers"), ...n.strings("nameserver")].flatMap((s) => s.split(/[\s,]+/)).filter(Boolean);
  if (ns.length > 0 && ns.join(",") !== (host.bridge.dns ?? []).join(",")) m.nameservers = ns;
  m.network = [nic];
  if (!host.bridge.subnet) w.add(n.where(), "no bridge subnet known");
}

function readGpus(e: Entry, m: Machine, byId: Map<string, Entry>, w: Warnings) {
  const g = e.r.str("gpu_assignment");
  if (g === undefined) return;
  const list = g.trim().toLowerCase() === "none" || g.trim() === "" ? [] : g.split(",").map((s) => Number(s.trim()));
  if (list.some((x) => !Number.isInteger(x) || x < 0)) {
    w.add(e.r.where("gpu_assignment"), `'${g}' is neither "none" nor a list of GPU indexes; ignored`);
    return;
  }
  // "none" only needs saying when the template passes GPUs through; otherwise it is the default.
  const parentHasGpus = (() => {
    let p = e.cloneFrom ? byId.get(e.cloneFrom) : undefined;
    for (let i = 0; p && i < 20; i++) {
      const pg = p.r.value["gpu_assignment"];
      if (typeof pg === "string" && pg.trim().toLowerCase() !== "none" && pg.trim() !== "") return true;
      p = p.cloneFrom ? byId.get(p.cloneFrom) : undefined;
    }
    return false;
  })();
  if (list.length > 0 || parentHasGpus) m.gpus = list;
}

function readFeatures(e: Entry, m: Machine, host: HostSettings, entries: Entry[], w: Warnings) {
  const r = e.r;
  const features: Record<string, unknown> = {};
  for (const f of r.strings("features")) {
    if (f === "nvidia") features.nvidia = host.cudaVersion ? { cudaVersion: host.cudaVersion } : true;
    else if (f === "docker") features.docker = true;
    else if (f === "vllm") {
      /* from vllm_engine_config below */
    } else if (f === "ollama") {
      // The original ran install.sh (the newest release) and a unit on 0.0.0.0:11434, and pulled no model.
      features.ollama = {};
      w.add(
        r.where("features"),
        `mapped to features.ollama: Ollama ${OLLAMA_VERSION} on 0.0.0.0:11434 (the original installed whatever was newest and pulled no model)`,
        "list the models to keep pulled under features.ollama.models, and set gpuMemory if the GPU is shared",
      );
    } else if (f === "traefik" || f === "trusted_ca") {
      // The gateway (cli/import/routes.ts): Traefik's guest becomes gateway.guest, trusted_ca gateway.trustInGuests.
    } else if (FEATURES_WITHOUT_EQUIVALENT.has(f))
      w.add(r.where("features"), `feature '${f}' has no equivalent yet`, "use a custom script feature (features.script)");
    else w.add(r.where("features"), `unknown feature '${f}'`, "use a custom script feature (features.script)");
  }
  const vllmConfig = r.obj("vllm_engine_config");
  if (r.strings("features").includes("vllm") || vllmConfig) {
    // The original's install script pinned these for every vLLM container (its Blackwell GPUs needed them).
    features.vllm = { ...readVllm(vllmConfig, w), version: "0.10.2", torchIndex: "https://download.pytorch.org/whl/cu128" };
    w.add(
      r.where("features"),
      "vllm pinned as the original installed it: vllm==0.10.2 with torch's CUDA 12.8 build (TORCH_CUDA_ARCH_LIST comes from the GPUs' model)",
      "set nodes[].gpus[].model (e.g. RTX 5060 Ti) and memory, or vllm.cudaArchList",
    );
  }
  const app = r.str("application_script");
  if (app) {
    if (/vllm/.test(app) && features.vllm) w.add(r.where("application_script"), `${app} is replaced by the vllm feature`);
    else {
      features.script = { path: `scripts/${app}` };
      w.add(
        r.where("application_script"),
        `mapped to features.script.path scripts/${app}`,
        `copy ${app} next to the definition, under scripts/`,
      );
    }
  }
  const role = r.str("portainer_role");
  if (role && role !== "none") {
    if (role === "server" || role === "primary") {
      features.portainer = {
        role: "server",
        ...(host.portainer.serverImage ? { image: host.portainer.serverImage } : {}),
        ...(host.portainer.serverPort ? { port: host.portainer.serverPort } : {}),
        ...(host.portainer.adminPassword ? { adminPassword: host.portainer.adminPassword } : {}),
      };
    } else if (role === "agent") {
      const servers = entries.filter((x) => ["server", "primary"].includes(String(x.r.value["portainer_role"])));
      features.portainer = {
        role: "agent",
        ...(host.portainer.agentImage ? { image: host.portainer.agentImage } : {}),
        ...(host.portainer.agentPort ? { port: host.portainer.agentPort } : {}),
        ...(servers.length === 1 ? { server: servers[0]!.name } : {}),
      };
    } else w.add(r.where("portainer_role"), `role '${role}' has no equivalent (server or agent)`);
  }
  const profile = r.str("apparmor_profile");
  if (profile && e.type === "lxc") features.apparmor = { profile };
  else if (profile) w.add(r.where("apparmor_profile"), "AppArmor profiles apply to containers only");
  if (Object.keys(features).length > 0) m.features = features;
}

function readVllm(c: Reader | undefined, w: Warnings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const args: Record<string, unknown> = {};
  if (!c) return out;
  const known: Record<string, string> = {
    model: "model",
    trust_remote_code: "trustRemoteCode",
    dtype: "dtype",
    max_model_len: "maxModelLen",
    quantization: "quantization",
    gpu_memory_utilization: "gpuMemoryUtilization",
    tensor_parallel_size: "tensorParallelSize",
    host: "host",
    port: "port",
    served_model_name: "servedModelName",
  };
  for (const [, section] of c.entries())
    for (const key of Object.keys(section.value)) {
      const v = section.raw(key);
      if (v === undefined) continue;
      if (known[key]) out[known[key]!] = v;
      else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") args[key.replace(/_/g, "-")] = v;
      else w.add(section.where(key), "nested engine setting has no flag form; not mapped");
    }
  if (Object.keys(args).length) out.args = args;
  return out;
}

function readMounts(e: Entry, m: Machine, host: HostSettings, w: Warnings) {
  const r = e.r;
  const mounts: Record<string, unknown>[] = [];
  const datasets = (host.node.zfs?.datasets ?? []).map((d) => d.name);
  const toMount = (hostPath: string, path: string) => {
    // Paths under mount_point_base (/mnt/pve/<pool>/<dataset>/…) become dataset mounts.
    const base = host.mountPointBase.replace(/\/$/, "");
    if (hostPath.startsWith(`${base}/`)) {
      const rest = hostPath.slice(base.length + 1);
      const ds = datasets.filter((d) => rest === d || rest.startsWith(`${d}/`)).sort((a, b) => b.length - a.length)[0];
      if (ds) {
        const dataset = host.node.zfs!.datasets!.find((d) => d.name === ds)!;
        dataset.properties = { ...dataset.properties, mountpoint: `${base}/${ds}` };
        const subdir = rest.slice(ds.length + 1);
        return { dataset: ds, ...(subdir ? { subdir } : {}), path };
      }
    }
    return { hostPath, path };
  };
  for (const mp of r.objs("mount_points")) {
    const hp = mp.str("host_path");
    const cp = mp.str("container_path");
    const owner = readOwner(mp, w);
    if (hp && cp) mounts.push({ ...toMount(hp, cp), ...(owner ? { owner } : {}) });
  }
  for (const v of r.objs("zfs_volumes")) {
    const storage = v.str("pool") ?? "";
    const name = v.str("name");
    const mp = v.str("mount_point");
    const ds = host.storageDataset.get(storage);
    if (ds && mp) mounts.push({ dataset: ds, ...(name ? { subdir: name } : {}), path: mp });
    else w.add(v.where(), `volume on storage '${storage}' matches no dataset; not mapped`);
    v.skip("name", "pool", "mount_point");
    v.unmapped("size_gb", "mounted as a directory of the dataset; the dataset's quota bounds it");
  }
  for (const s of host.sharedMounts.get(e.id) ?? []) mounts.push(toMount(s.hostPath, s.path));
  if (mounts.length > 0) m.mountPoints = mounts;
}

/** docker_stacks: names (as the reference has them) or { name, environment } (as the VM schema says). */
function readStackRefs(r: Reader, guest: string, out: StackRef[], w: Warnings) {
  const raw = r.raw("docker_stacks");
  if (raw === undefined) return;
  if (!Array.isArray(raw)) return void w.add(r.where("docker_stacks"), "expected a list of stack names; ignored");
  raw.forEach((x, i) => {
    const where = `${r.where("docker_stacks")}[${i}]`;
    if (typeof x === "string") out.push({ guest, where, stack: x });
    else if (x && typeof x === "object" && !Array.isArray(x) && typeof x.name === "string")
      out.push({ guest, where, stack: x.name, ...(typeof x.environment === "string" ? { environment: x.environment } : {}) });
    else w.add(where, "expected a stack name or { name, environment }; ignored");
  });
}
