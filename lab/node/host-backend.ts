// The lab API's real backend: containers are real LXC containers (lab/host/lxc.ts) with their configs in
// <state>/pve/lxc/<vmid>.conf (what the node's `pct` reads), their volumes ZFS datasets on zfspool
// storages (linked clones are `zfs clone …@__base__`), templates extracted from the dir storage's
// template cache. QEMU VMs' configs and volumes are kept by a MemoryBackend; with a QemuRunner (lab up gives
// one when the definition has VM templates) they boot as QEMU processes from the lab's VM image.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type {
  ContainerArchive,
  ContainerSetup,
  DownloadRequest,
  GuestInterface,
  GuestRuntime,
  GuestType,
  LabBackend,
  NewVolume,
  NodeNetwork,
  StorageInfo,
  UrlMetadata,
  VolumeClone,
  VolumeInfo,
  VolumeSend,
} from "../pve/backend";
import { zfsReceive, zfsSend } from "./volume-migration";
import { MemoryBackend } from "../pve/memory-backend";
import type { ConfigFile, PveConfig } from "../pve/pve-config";
import type { TaskLog } from "../pve/tasks";
import { parseVolid, volumeOwner } from "../pve/volumes";
import { containerIdMap, usernsexecArgs } from "../pve/idmap";
import { shiftOwners } from "./archive-ids";
import { releaseViewsOf } from "../host/fuse-view";
import { Lxc, rootOwner } from "../host/lxc";
import { type QemuRunner, tapName } from "../host/qemu";
import { ok, run, runAsync } from "../host/run";
import { destroyDataset, listSnapshots, renameDataset } from "../host/zfs";
import { destroyViews, destroyVolumeSnapshot, isParked, linkedClones, openView, sweepViews } from "./snapshot-views";
import {
  type ArchiveHost,
  backupFile,
  extractArchive,
  listBackups,
  readConfigFromArchive,
  removeBackup,
  setAttributes,
  writeArchive,
} from "./host-backup";
import { containerSpec } from "./container-spec";
import { type DockerSnapshots, deleteDockerSnapshot, rollbackDocker, snapshotDocker } from "./docker-snapshots";
import { mountKind, parseMountPoint } from "../pve/lxc-config";
import { extractTemplate } from "./extract";
import { CONFIG_LOCK_TIMEOUT_MS, KeyedMutex, LXC_LOCK_DIR, lxcConfigLockFile } from "../pve/config-lock";
import { ConfigStore } from "../pve/config-store";
import { withFileLock } from "../host/flock";
import { type FirewallGuest, HostFirewall, type NodeTraffic, lxcPorts } from "./host-firewall";
import { firewallTable } from "../host/firewall-nft";
import { readLoggedPackets } from "../host/firewall-log";
import { pvefwLine } from "../pve/firewall-log";

/** A storage of the lab's node, as the definition declares it. */
export interface HostStorage {
  id: string;
  type: "dir" | "zfspool";
  content: string[];
  /** dir: the directory (templates in <path>/template/cache, ISOs in <path>/template/iso). */
  path?: string;
  /** zfspool: the dataset volumes live under. */
  pool?: string;
}

export interface HostBackendOptions {
  stateDir: string;
  storages: HostStorage[];
  aptProxy?: string;
  /** Runs VMs as QEMU processes; without it VMs are API objects only. */
  qemu?: QemuRunner;
  /** VM templates present from the start, as an admin imports a cloud image as a template on Proxmox. */
  vmTemplates?: VmTemplateSeed[];
  /** Where containers' config locks are flocked, as on a Proxmox node (LXC_LOCK_DIR); a test's sandbox elsewhere. */
  lockDir?: string;
  /**
   * The cluster's /etc/pve for what is cluster-wide (the firewall's files: cluster.fw, <vmid>.fw, nodes/<node>/host.fw),
   * shared by a lab's nodes as pmxcfs shares it; <stateDir>/pve when not given.
   */
  clusterDir?: string;
  /** The node whose own traffic with the lab's bridges the firewall filters (the lab's first node: this machine's). */
  nodeTraffic?: NodeTraffic;
}

export interface VmTemplateSeed {
  vmid: number;
  name: string;
  /** Storage of its disk (images content). */
  storage: string;
  bridge: string;
}

/** A cloud-init VM template's config, as Proxmox keeps one made from a cloud image. */
export function vmTemplateConfig(t: VmTemplateSeed): PveConfig {
  const hex = (n: number) => (n & 0xff).toString(16).toUpperCase().padStart(2, "0");
  return {
    name: t.name,
    memory: "1024",
    cores: "1",
    ostype: "l26",
    scsihw: "virtio-scsi-pci",
    virtio0: `${t.storage}:base-${t.vmid}-disk-0,size=3G`,
    ide2: `${t.storage}:vm-${t.vmid}-cloudinit,media=cdrom`,
    net0: `virtio=BC:24:11:${hex(t.vmid >> 16)}:${hex(t.vmid >> 8)}:${hex(t.vmid)},bridge=${t.bridge}`,
    boot: "order=virtio0",
    agent: "1",
    template: "1",
  };
}

const lastName = (volname: string) => volname.split("/").pop()!;

/** The mount points of a container config that are storage volumes (not rootfs, binds or devices), with their paths. */
function volumeMountPoints(config: PveConfig): { path: string; volid: string }[] {
  return Object.keys(config)
    .filter((k) => k === "rootfs" || /^mp\d+$/.test(k))
    .map((k) => {
      const mp = parseMountPoint(k, config[k]!);
      return { path: k === "rootfs" ? "/" : mp.mp!, volid: mp.volume! };
    })
    .filter((m) => m.path !== "/" && mountKind(m.volid) === "volume");
}

export class HostBackend implements LabBackend, ArchiveHost {
  readonly lxc: Lxc;
  /** QEMU VMs and their volumes (and VM images on any storage). */
  readonly vms: MemoryBackend;
  private readonly started = new Map<number, number>();
  /** <state>/pve, what /etc/pve links to: container configs in lxc/<vmid>.conf. */
  private readonly configs: ConfigStore;
  private readonly configLocks = new KeyedMutex();
  readonly firewall: HostFirewall;

  constructor(private readonly o: HostBackendOptions) {
    this.lxc = new Lxc(join(o.stateDir, "lxc"));
    mkdirSync(join(o.stateDir, "pve", "lxc"), { recursive: true });
    this.configs = new ConfigStore(join(o.stateDir, "pve"));
    this.firewall = new HostFirewall(
      o.clusterDir ?? join(o.stateDir, "pve"),
      () => this.firewallGuests(),
      firewallTable(o.stateDir),
      o.nodeTraffic,
    );
    this.vms = new MemoryBackend({
      storages: o.storages.map(({ id, type, content, path, pool }) => ({
        id,
        type,
        content,
        ...(path ? { path } : {}),
        ...(pool ? { pool } : {}),
      })),
      files: [],
      guests: (o.vmTemplates ?? []).map((t) => ({ type: "qemu" as const, vmid: t.vmid, config: vmTemplateConfig(t) })),
    });
  }

  private storage(id: string): HostStorage | undefined {
    return this.o.storages.find((s) => s.id === id);
  }

  /** The ZFS dataset of a container volume on a zfspool storage. */
  private dataset(volid: string): string | undefined {
    const v = parseVolid(volid);
    const s = v && this.storage(v.storage);
    return v && s?.type === "zfspool" && s.pool && /^(subvol|basevol)-/.test(lastName(v.volname))
      ? `${s.pool}/${lastName(v.volname)}`
      : undefined;
  }

  /** A container volume as a host directory: a dataset's mountpoint, or a directory on a dir storage. */
  volumePath(volid: string): string {
    const ds = this.dataset(volid);
    if (ds) return run("zfs", ["get", "-H", "-o", "value", "mountpoint", ds]).stdout.trim();
    const v = parseVolid(volid);
    const s = v && this.storage(v.storage);
    if (v && s?.type === "dir" && s.path) return join(s.path, "images", v.volname);
    throw new Error(`volume '${volid}' is not a container volume the lab holds`);
  }

  private isContainerVolume(volid: string): boolean {
    const v = parseVolid(volid);
    const s = v && this.storage(v.storage);
    if (!v || !s) return false;
    return s.type === "zfspool"
      ? this.dataset(volid) !== undefined
      : existsSync(join(s.path ?? "/nonexistent", "images", v.volname));
  }

  // --- firewall: files under <state>/pve (what /etc/pve links to), enforced on the bridge by host-firewall.ts

  async readFirewall(path: string): Promise<string | undefined> {
    return this.firewall.read(path);
  }

  async writeFirewall(path: string, text: string): Promise<void> {
    this.firewall.write(path, text);
    await Promise.all([this.firewall, ...this.firewallPeers].map((f) => f.apply()));
  }

  /** The packets this node's log rules handed to ulogd (host/firewall-log.ts), as pvefw-logger's lines. */
  async readFirewallLog(): Promise<string[]> {
    return readLoggedPackets(this.o.stateDir).map((r) => pvefwLine(r));
  }

  /** The cluster's other nodes, whose firewall a write here changes too (their guests' rules, the datacenter's). */
  private firewallPeers: HostFirewall[] = [];

  joinCluster(nodes: HostBackend[]): void {
    this.firewallPeers = nodes.filter((n) => n !== this).map((n) => n.firewall);
  }

  /** Every guest with its NICs' host devices: a running container's veths, a VM's taps. */
  private async firewallGuests(): Promise<FirewallGuest[]> {
    const out: FirewallGuest[] = [];
    for (const g of await this.listGuests()) {
      const config = (await this.readConfig(g.type, g.vmid))?.config;
      if (!config) continue;
      const ports =
        g.type === "lxc"
          ? this.lxc.exists(g.vmid) && this.lxc.state(g.vmid) === "running"
            ? lxcPorts(this.lxc.lxcPath, g.vmid, config)
            : {}
          : Object.fromEntries(
              Object.keys(config)
                .filter((k) => /^net\d+$/.test(k))
                .map((k) => [k, tapName(g.vmid, Number(k.slice(3)))]),
            );
      out.push({ vmid: g.vmid, type: g.type, config, ports });
    }
    return out;
  }

  // --- configs

  async listGuests() {
    const lxc = readdirSync(join(this.o.stateDir, "pve", "lxc"))
      .map((f) => /^(\d+)\.conf$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ vmid: Number(m[1]), type: "lxc" as const }));
    return [...lxc, ...(await this.vms.listGuests()).filter((g) => g.type === "qemu")];
  }

  async readConfig(type: GuestType, vmid: number): Promise<ConfigFile | undefined> {
    if (type === "qemu") return this.vms.readConfig(type, vmid);
    return this.configs.read("lxc", vmid);
  }

  /**
   * A container's config lock is flocked where Proxmox flocks it, so the node's scripts (apparmor's lxc lines) wait
   * for the lab's writers and the lab's for them.
   */
  async lockConfig<T>(type: GuestType, vmid: number, fn: () => Promise<T>): Promise<T> {
    if (type === "qemu") return this.vms.lockConfig(type, vmid, fn);
    const file = lxcConfigLockFile(this.o.lockDir ?? LXC_LOCK_DIR, vmid);
    return this.configLocks.run(String(vmid), () => withFileLock(file, CONFIG_LOCK_TIMEOUT_MS, fn));
  }

  async writeConfig(type: GuestType, vmid: number, file: ConfigFile): Promise<void> {
    await this.writeConfigOnly(type, vmid, file);
    // a NIC's firewall=1 may have changed
    await this.firewall.apply();
  }

  private async writeConfigOnly(type: GuestType, vmid: number, file: ConfigFile): Promise<void> {
    if (type === "qemu") return this.vms.writeConfig(type, vmid, file);
    this.configs.write("lxc", vmid, file);
    // Proxmox applies what it can to a running container at once; the rest takes effect at its next start.
    if (file.config.template !== "1" && this.lxc.exists(vmid)) {
      this.configure(vmid, file);
      if (this.lxc.state(vmid) === "running")
        run(
          "lxc-cgroup",
          [
            "-P",
            this.lxc.lxcPath,
            "-n",
            String(vmid),
            "memory.limit_in_bytes",
            String(Number(file.config.memory ?? 512) * 1024 * 1024),
          ],
          { allowFail: true },
        );
    }
  }

  async deleteConfig(type: GuestType, vmid: number, o: { migrated?: boolean } = {}): Promise<void> {
    // Proxmox removes the guest's firewall file with it; a migrated guest keeps it (the file is the cluster's)
    if (!o.migrated) this.firewall.delete(`firewall/${vmid}.fw`);
    if (type === "qemu") {
      await this.o.qemu?.destroy(vmid);
      await this.vms.deleteConfig(type, vmid);
    } else {
      this.lxc.remove(vmid);
      this.configs.delete("lxc", vmid);
    }
    await this.firewall.apply();
  }

  /**
   * A nesting container's /var/lib/docker on the host's disk (host/lxc.ts keeps it, and removes it with the container);
   * as of a snapshot, the copy taken with it (when there is one).
   */
  dockerDir(vmid: number, snapshot?: string): string {
    const copy = snapshot && !isParked(snapshot) ? join(this.lxc.dockerDir(vmid, true), snapshot) : undefined;
    return copy && existsSync(copy) ? copy : this.lxc.dockerDir(vmid);
  }

  /** Where a dir storage with backup content keeps its backups, as Proxmox does: <path>/dump. */
  dumpDir(storage: string): string | undefined {
    const s = this.storage(storage);
    return s?.type === "dir" && s.path && s.content.includes("backup") ? join(s.path, "dump") : undefined;
  }

  private configure(vmid: number, file: ConfigFile): void {
    const spec = containerSpec(vmid, file, (v) => this.volumePath(v), this.o.aptProxy, this.lxc.dockerDir(vmid));
    // The lab has no GPU: passed-through devices it does not have are left out (Proxmox would refuse to start).
    this.lxc.configure(spec);
  }

  // --- storage

  /** This machine's bridges (the lab's among them) with their IPv4 addresses, as the node's network. */
  async listNetwork(): Promise<NodeNetwork[]> {
    const out: NodeNetwork[] = [];
    for (const iface of readdirSync("/sys/class/net").sort()) {
      if (!existsSync(`/sys/class/net/${iface}/bridge`)) continue;
      const r = run("ip", ["-j", "-4", "addr", "show", "dev", iface], { allowFail: true });
      const addr = r.code === 0 ? (JSON.parse(r.stdout || "[]") as { addr_info?: { local: string; prefixlen: number }[] }[]) : [];
      const a = addr[0]?.addr_info?.[0];
      out.push({ iface, type: "bridge", ...(a ? { cidr: `${a.local}/${a.prefixlen}` } : {}) });
    }
    return out;
  }

  async listStorage(): Promise<StorageInfo[]> {
    return this.o.storages.map((s) => {
      let total = 0;
      let used = 0;
      let avail = 0;
      if (s.type === "zfspool" && s.pool) {
        const [u, a] = run("zfs", ["get", "-H", "-p", "-o", "value", "used,available", s.pool], { allowFail: true })
          .stdout.trim()
          .split("\n")
          .map(Number);
        used = u || 0;
        avail = a || 0;
        total = used + avail;
      } else if (s.path && existsSync(s.path)) {
        const f = statfsSync(s.path);
        total = f.blocks * f.bsize;
        avail = f.bavail * f.bsize;
        used = total - f.bfree * f.bsize;
      }
      return {
        id: s.id,
        type: s.type,
        content: s.content,
        ...(s.path ? { path: s.path } : {}),
        ...(s.pool ? { pool: s.pool } : {}),
        shared: false,
        total,
        used,
        avail,
      };
    });
  }

  async listContent(storage: string): Promise<VolumeInfo[]> {
    const s = this.storage(storage);
    if (!s) return [];
    const out: VolumeInfo[] = [];
    if (s.type === "dir" && s.path) {
      for (const [content, sub] of [
        ["vztmpl", "template/cache"],
        ["iso", "template/iso"],
        ["snippets", "snippets"],
      ] as const) {
        const dir = join(s.path, sub);
        if (!existsSync(dir)) continue;
        for (const f of readdirSync(dir)) {
          const st = statSync(join(dir, f));
          if (!st.isFile()) continue;
          const format = /\.tar\.zst$/.test(f)
            ? "tzst"
            : /\.tar\.gz$/.test(f)
              ? "tgz"
              : /\.tar\.xz$/.test(f)
                ? "txz"
                : (f.split(".").pop() ?? "raw");
          out.push({ volid: `${storage}:${content}/${f}`, content, format, size: st.size, ctime: Math.floor(st.mtimeMs / 1000) });
        }
      }
      const dump = this.dumpDir(storage);
      if (dump) out.push(...listBackups(storage, dump));
      const images = join(s.path, "images");
      if (existsSync(images))
        for (const vmid of readdirSync(images))
          for (const f of readdirSync(join(images, vmid)))
            out.push({ volid: `${storage}:${vmid}/${f}`, content: "rootdir", format: "subvol", size: 0, vmid: Number(vmid) });
    }
    if (s.type === "zfspool" && s.pool) {
      // zfs-fuse's `zfs list` has no -p: read exact values with `zfs get`.
      const props = new Map<string, Record<string, string>>();
      const r = run("zfs", ["get", "-H", "-p", "-r", "-o", "name,property,value", "refquota,used,origin,creation", s.pool], {
        allowFail: true,
      });
      for (const line of r.stdout.split("\n").filter(Boolean)) {
        const [name, prop, value] = line.split("\t") as [string, string, string];
        if (!props.has(name)) props.set(name, {});
        props.get(name)![prop] = value;
      }
      for (const [name, p] of props) {
        const leaf = name.slice(s.pool.length + 1);
        if (!name.startsWith(`${s.pool}/`) || !/^(subvol|basevol)-\d+-disk-\d+$/.test(leaf)) continue;
        const base = p.origin && p.origin !== "-" ? p.origin.split("@")[0]!.slice(s.pool.length + 1) : undefined;
        out.push({
          volid: `${storage}:${base ? `${base}/${leaf}` : leaf}`,
          content: "rootdir",
          format: "subvol",
          size: Number(p.refquota) || 0,
          used: Number(p.used) || 0,
          vmid: volumeOwner(leaf)!,
          ...(base ? { parent: `${storage}:${base}` } : {}),
          ctime: Number(p.creation) || 0,
        });
      }
    }
    return [...out, ...(await this.vms.listContent(storage)).filter((v) => !out.some((o) => o.volid === v.volid))];
  }

  async deleteContent(volid: string): Promise<void> {
    const v = parseVolid(volid);
    if (v?.volname.startsWith("backup/")) return removeBackup(backupFile(this, volid), v.volname, v.storage);
    const s = v && this.storage(v.storage);
    const sub = v && { vztmpl: "template/cache", iso: "template/iso", snippets: "snippets" }[v.volname.split("/")[0]!];
    if (s?.type === "dir" && s.path && sub) {
      const file = join(s.path, sub, v.volname.split("/").slice(1).join("/"));
      if (!existsSync(file)) throw new Error(`volume '${volid}' does not exist`);
      rmSync(file);
      return;
    }
    return this.vms.deleteContent(volid);
  }

  /** The lab has no internet: downloads reach nothing (the memory backend answers as Proxmox does then). */
  async queryUrl(url: string): Promise<UrlMetadata> {
    return this.vms.queryUrl(url);
  }

  async downloadUrl(req: DownloadRequest, log: TaskLog): Promise<void> {
    return this.vms.downloadUrl(req, log);
  }

  // --- volumes

  async createVolume(vol: NewVolume, log: TaskLog): Promise<void> {
    if (vol.content !== "rootdir") return this.vms.createVolume(vol);
    const ds = this.dataset(vol.volid);
    if (ds) {
      if (ok("zfs", ["list", "-H", ds])) throw new Error(`zfs error: cannot create '${ds}': dataset already exists`);
      run("zfs", ["create", "-o", `refquota=${vol.size}`, ds]);
      log(`created dataset ${ds}`);
      return;
    }
    const dir = this.volumePath(vol.volid);
    if (existsSync(dir)) throw new Error(`volume '${vol.volid}' already exists`);
    mkdirSync(dir, { recursive: true });
  }

  async cloneVolume(req: VolumeClone, log: TaskLog): Promise<void> {
    if (!this.isContainerVolume(req.source)) return this.vms.cloneVolume(req);
    const src = this.dataset(req.source);
    const dst = this.dataset(req.target);
    if (req.linked) {
      if (!src || !dst) throw new Error(`linked clone of '${req.source}' needs a zfspool storage`);
      // As Proxmox does: a subvol clone keeps its base's refquota.
      const refquota = run("zfs", ["get", "-H", "-p", "-o", "value", "refquota", src]).stdout.trim();
      run("zfs", ["clone", ...(Number(refquota) > 0 ? ["-o", `refquota=${refquota}`] : []), `${src}@__base__`, dst]);
      log(`zfs clone ${src}@__base__ ${dst}`);
      return;
    }
    const size = src ? run("zfs", ["get", "-H", "-p", "-o", "value", "refquota", src]).stdout.trim() : "0";
    // A snapshot is read through a temporary clone of it (zfs-fuse shows no .zfs/snapshot), as vzdump reads one.
    const view = req.snapshot ? await this.snapshotView(req.source, req.snapshot, log) : undefined;
    try {
      await this.createVolume(
        { volid: req.target, vmid: req.vmid, size: Number(size), content: "rootdir", format: "subvol" },
        log,
      );
      await runAsync("sh", [
        "-c",
        'tar -C "$1" --numeric-owner -cpf - . | tar -C "$2" --numeric-owner -xpf -',
        "copy",
        view?.path ?? this.volumePath(req.source),
        this.volumePath(req.target),
      ]);
    } finally {
      await view?.release();
    }
    log(`copied ${req.source}${req.snapshot ? `@${req.snapshot}` : ""} to ${req.target}`);
  }

  async makeBaseVolume(req: { volid: string; base: string }, log: TaskLog): Promise<void> {
    const from = this.dataset(req.volid);
    const to = this.dataset(req.base);
    if (!from || !to) {
      if (this.isContainerVolume(req.volid))
        throw new Error(`the lab makes templates of container volumes on zfspool storages only ('${req.volid}')`);
      return this.vms.makeBaseVolume(req);
    }
    await releaseViewsOf(this.volumePath(req.volid));
    await renameDataset(from, to);
    run("zfs", ["snapshot", `${to}@__base__`]);
    log(`renamed ${from} to ${to} and took ${to}@__base__`);
  }

  async resizeVolume(volid: string, size: number, log: TaskLog): Promise<void> {
    const ds = this.dataset(volid);
    if (!ds) return this.vms.resizeVolume(volid, size);
    run("zfs", ["set", `refquota=${size}`, ds]);
    log(`refquota of ${ds} set to ${size}`);
  }

  async destroyVolume(volid: string, log: TaskLog): Promise<void> {
    const ds = this.dataset(volid);
    if (!ds) {
      if (this.isContainerVolume(volid)) return rmSync(this.volumePath(volid), { recursive: true, force: true });
      return this.vms.destroyVolume(volid);
    }
    if (!ok("zfs", ["list", "-H", ds])) return;
    await releaseViewsOf(this.volumePath(volid));
    if (linkedClones(ds).length)
      throw new Error(`base volume '${lastName(volid.split(":")[1]!)}' is still in use by linked cloned`);
    await destroyViews(ds);
    await destroyDataset(ds, { recursive: true, timeoutMs: 120_000 });
    log(`destroyed dataset ${ds}`);
  }

  async sendVolume(volid: string, log: TaskLog): Promise<VolumeSend> {
    const ds = this.dataset(volid);
    if (!ds) {
      if (this.isContainerVolume(volid))
        throw new Error(`the lab migrates container volumes on zfspool storages only ('${volid}')`);
      return this.vms.sendVolume(volid);
    }
    await releaseViewsOf(this.volumePath(volid));
    return zfsSend(ds, log);
  }

  async receiveVolume(volid: string, vmid: number, send: VolumeSend, log: TaskLog): Promise<void> {
    const ds = this.dataset(volid);
    if (!ds) {
      if (/(^|\/|:)subvol-/.test(volid))
        throw new Error(`the lab migrates container volumes on zfspool storages only ('${volid}')`);
      return this.vms.receiveVolume(volid, vmid, send);
    }
    if (ok("zfs", ["list", "-H", ds])) throw new Error(`zfs error: cannot receive '${ds}': dataset already exists`);
    await zfsReceive(ds, send, log);
  }

  // --- guests

  async setupContainer(setup: ContainerSetup, log: TaskLog): Promise<void> {
    const file: ConfigFile = { config: setup.config, lxc: [], sections: {} };
    const rootfs = containerSpec(setup.vmid, file, (v) => this.volumePath(v)).rootfs;
    const idMap = containerIdMap(file);
    const archive = this.templatePath(setup.ostemplate);
    await extractTemplate({ archive, rootfs, ...(idMap ? { idMap } : {}), view: this.lxc.rootfsView(setup.vmid) });
    log(`extracted ${setup.ostemplate} into ${rootfs}${idMap ? ` (ids shifted: ${usernsexecArgs(idMap).join(" ")})` : ""}`);
    this.configure(setup.vmid, file);
    const keys = (setup.sshPublicKeys ?? "")
      .split("\n")
      .map((k) => k.trim())
      .filter(Boolean);
    this.lxc.setRootAccess(rootfs, keys, setup.password, rootOwner({ ...(idMap ? { idMap } : {}) }));
  }

  private templatePath(ostemplate: string): string {
    if (ostemplate.startsWith("/")) return ostemplate;
    const v = parseVolid(ostemplate);
    const s = v && this.storage(v.storage);
    if (!v || !s?.path || !v.volname.startsWith("vztmpl/")) throw new Error(`can't find file '${ostemplate}'`);
    return join(s.path, "template", "cache", v.volname.slice("vztmpl/".length));
  }

  async startGuest(type: GuestType, vmid: number, config: PveConfig, log: TaskLog): Promise<void> {
    await this.startGuestOnly(type, vmid, config, log);
    await this.firewall.apply();
  }

  private async startGuestOnly(type: GuestType, vmid: number, config: PveConfig, log: TaskLog): Promise<void> {
    if (type === "qemu") return this.o.qemu ? this.o.qemu.start(vmid, config, log) : this.vms.startGuest(type, vmid);
    const file = (await this.readConfig("lxc", vmid)) ?? { config, lxc: [], sections: {} };
    this.configure(vmid, file);
    await this.lxc.start(vmid).catch((e: Error) => {
      for (const line of e.message.split("\n").slice(1)) log(line);
      throw e;
    });
    this.started.set(vmid, Date.now());
    log(`CT ${vmid} started`);
  }

  async stopGuest(type: GuestType, vmid: number): Promise<void> {
    if (type === "qemu") await (this.o.qemu ? this.o.qemu.stop(vmid) : this.vms.stopGuest(type, vmid));
    else this.lxc.stop(vmid);
    await this.firewall.apply();
  }

  async shutdownGuest(type: GuestType, vmid: number, opts: { timeout: number; forceStop: boolean }): Promise<void> {
    if (type === "qemu")
      return this.o.qemu ? this.o.qemu.shutdown(vmid, opts.timeout, opts.forceStop) : this.vms.shutdownGuest(type, vmid);
    run("lxc-stop", ["-P", this.lxc.lxcPath, "-n", String(vmid), "-t", String(opts.timeout)], {
      allowFail: true,
      timeoutMs: (opts.timeout + 10) * 1000,
    });
    if (this.lxc.state(vmid) === "running") {
      if (!opts.forceStop) throw new Error(`shutdown CT ${vmid} failed - got timeout`);
    }
    this.lxc.stop(vmid);
  }

  async rebootGuest(type: GuestType, vmid: number, config: PveConfig, log: TaskLog): Promise<void> {
    if (type === "qemu") {
      if (!this.o.qemu) return this.vms.rebootGuest(type, vmid);
      await this.o.qemu.shutdown(vmid, 60, true);
      return this.o.qemu.start(vmid, config, log);
    }
    await this.lxc.shutdown(vmid, 60);
    await this.startGuest(type, vmid, config, log);
  }

  async runtime(type: GuestType, vmid: number): Promise<GuestRuntime> {
    if (type === "qemu") return this.o.qemu ? this.o.qemu.runtime(vmid) : this.vms.runtime(type, vmid);
    if (this.lxc.state(vmid) !== "running") return { status: "stopped" };
    const pid = Number(
      run("lxc-info", ["-P", this.lxc.lxcPath, "-n", String(vmid), "-p", "-H"], { allowFail: true }).stdout.trim(),
    );
    let since = this.started.get(vmid);
    if (since === undefined && Number.isInteger(pid) && existsSync(`/proc/${pid}`)) since = statSync(`/proc/${pid}`).ctimeMs;
    return {
      status: "running",
      ...(Number.isInteger(pid) && pid > 0 ? { pid } : {}),
      uptime: Math.max(0, Math.floor((Date.now() - (since ?? Date.now())) / 1000)),
    };
  }

  async interfaces(type: GuestType, vmid: number, config: PveConfig): Promise<GuestInterface[]> {
    if (type === "qemu") return this.o.qemu ? this.o.qemu.interfaces(vmid) : this.vms.interfaces(type, vmid, config);
    const r = this.lxc.exec(vmid, ["ip", "-j", "addr", "show"]);
    if (r.code !== 0) throw new Error(`CT ${vmid}: cannot read its interfaces: ${r.stderr.trim()}`);
    const links = JSON.parse(r.stdout) as {
      ifname: string;
      address?: string;
      addr_info?: { family: string; local: string; prefixlen: number }[];
    }[];
    return links.map((l) => ({
      name: l.ifname,
      hwaddr: l.address ?? "00:00:00:00:00:00",
      addresses: (l.addr_info ?? [])
        .filter((a) => a.family === "inet" || a.family === "inet6")
        .map((a) => ({ address: a.local, prefix: a.prefixlen, family: a.family as "inet" | "inet6" })),
    }));
  }

  // --- backups

  writeContainerArchive(req: ContainerArchive, log: TaskLog): Promise<{ size: number }> {
    return writeArchive(this, req, log);
  }

  async writeDumpFile(storage: string, filename: string, text: string): Promise<void> {
    const dir = this.dumpDir(storage);
    if (!dir) throw new Error(`can't use storage '${storage}' for backups - wrong content type`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, filename), text);
  }

  async setBackupAttributes(volid: string, attrs: { notes?: string; protected?: boolean }): Promise<void> {
    setAttributes(backupFile(this, volid), attrs);
  }

  async readArchiveConfig(volid: string): Promise<string> {
    return readConfigFromArchive(backupFile(this, volid));
  }

  async extractContainerArchive(req: { archive: string; vmid: number; config: PveConfig }, log: TaskLog): Promise<void> {
    const file: ConfigFile = { config: req.config, lxc: [], sections: {} };
    const spec = containerSpec(req.vmid, file, (v) => this.volumePath(v), undefined, this.dockerDir(req.vmid));
    const volumes = volumeMountPoints(req.config).map((m) => ({ path: m.path, source: this.volumePath(m.volid) }));
    // Fresh, as the rootfs Proxmox restores into (the old volumes are gone, /var/lib/docker and snapshots with them).
    rmSync(this.lxc.dockerDir(req.vmid), { recursive: true, force: true });
    rmSync(this.lxc.dockerDir(req.vmid, true), { recursive: true, force: true });
    if (spec.dockerDir) {
      mkdirSync(spec.dockerDir, { recursive: true });
      volumes.push({ path: "/var/lib/docker", source: spec.dockerDir });
    }
    await extractArchive(backupFile(this, req.archive), spec.rootfs, volumes, log);
    // The archive holds container ids (archive-ids.ts): an unprivileged container's files go to its host ids.
    const idMap = containerIdMap(file);
    if (idMap) {
      for (const tree of [spec.rootfs, ...volumes.map((v) => v.source)]) shiftOwners(idMap, tree);
      log("owners shifted through the container's id map");
    }
  }

  /** A snapshot as a directory: a temporary clone of it (zfs-fuse shows no .zfs/snapshot); see snapshot-views.ts. */
  async snapshotView(volid: string, snapshot: string, log: TaskLog): Promise<{ path: string; release: () => Promise<void> }> {
    const ds = this.dataset(volid);
    if (!ds) throw new Error(`snapshot feature is not available for '${volid}'`);
    return openView(ds, snapshot, log);
  }

  // --- volume snapshots

  private snapshotDataset(volid: string): string {
    const ds = this.dataset(volid);
    if (!ds) throw new Error(`snapshot feature is not available for '${volid}'`);
    return ds;
  }

  /** The Docker directory of the container owning a volume and its copies per snapshot (node/docker-snapshots.ts). */
  private dockerSnapshots(volid: string, snap: string): (DockerSnapshots & { vmid: number }) | undefined {
    const vmid = Number(/^(?:subvol|basevol)-(\d+)-disk-\d+$/.exec(lastName(parseVolid(volid)?.volname ?? ""))?.[1]);
    if (!vmid || isParked(snap)) return undefined;
    return { vmid, live: this.lxc.dockerDir(vmid), copyOf: (s) => join(this.lxc.dockerDir(vmid, true), s) };
  }

  async volumeSnapshot(volid: string, snap: string, log: TaskLog): Promise<void> {
    if (!this.isContainerVolume(volid)) return this.vms.volumeSnapshot(volid, snap);
    const ds = this.snapshotDataset(volid);
    const docker = this.dockerSnapshots(volid, snap);
    // the ZFS snapshot and the copy of Docker's directory at one instant, as one ZFS snapshot of a rootfs holding both
    const freeze = docker !== undefined && existsSync(docker.live) && this.lxc.state(docker.vmid) === "running";
    if (freeze) run("lxc-freeze", ["-P", this.lxc.lxcPath, "-n", String(docker.vmid)]);
    try {
      run("zfs", ["snapshot", `${ds}@${snap}`]);
      log(`zfs snapshot ${ds}@${snap}`);
      if (docker) snapshotDocker(docker, snap, log);
    } finally {
      if (freeze) run("lxc-unfreeze", ["-P", this.lxc.lxcPath, "-n", String(docker.vmid)]);
    }
  }

  async volumeSnapshotDelete(volid: string, snap: string, log: TaskLog): Promise<void> {
    if (!this.isContainerVolume(volid)) return this.vms.volumeSnapshotDelete(volid, snap);
    await destroyVolumeSnapshot(this.snapshotDataset(volid), snap, log);
    const docker = this.dockerSnapshots(volid, snap);
    if (docker) deleteDockerSnapshot(docker, snap);
  }

  async volumeSnapshotRollback(volid: string, snap: string, log: TaskLog): Promise<void> {
    if (!this.isContainerVolume(volid)) return this.vms.volumeSnapshotRollback(volid, snap);
    const ds = this.snapshotDataset(volid);
    await sweepViews(ds, log); // a parked vzdump snapshot is newer than the one rolled back to
    run("zfs", ["rollback", `${ds}@${snap}`]);
    log(`zfs rollback ${ds}@${snap}`);
    const docker = this.dockerSnapshots(volid, snap);
    if (docker) rollbackDocker(docker, snap, log);
  }

  async volumeSnapshots(volid: string): Promise<string[]> {
    if (!this.isContainerVolume(volid)) return this.vms.volumeSnapshots(volid);
    const ds = this.dataset(volid);
    return ds ? listSnapshots(ds).filter((s) => s !== "__base__" && !isParked(s)) : [];
  }

  async freezeGuest(type: GuestType, vmid: number): Promise<void> {
    if (type === "qemu") return this.vms.freezeGuest(type, vmid);
    run("lxc-freeze", ["-P", this.lxc.lxcPath, "-n", String(vmid)]);
  }

  async thawGuest(type: GuestType, vmid: number): Promise<void> {
    if (type === "qemu") return this.vms.thawGuest(type, vmid);
    run("lxc-unfreeze", ["-P", this.lxc.lxcPath, "-n", String(vmid)]);
  }
}
