// A LabBackend that keeps everything in memory: configs, volumes, files, running state. Tests use it,
// and the lab keeps QEMU VMs' configs and volumes in it (lab/host/qemu.ts runs them). On its own a VM is an
// API object: "running" is a state, and the guest agent reports the addresses cloud-init was given. Downloads come only from URLs registered
// in the options (the lab has no internet).
import { KeyedMutex } from "./config-lock";
import { createHash } from "node:crypto";
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
} from "./backend";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { type ConfigFile, type PveConfig, parsePropertyString, qemuNicMac } from "./pve-config";
import type { TaskLog } from "./tasks";
import { parseVolid } from "./volumes";
import { parseArchiveName } from "./backup";

/** A storage as the memory backend is told it; usage is computed from its volumes. */
export type MemoryStorage = Omit<StorageInfo, "total" | "used" | "avail"> & {
  /** Bytes; 100 GiB when not given. */
  total?: number;
};

export interface MemoryUrl {
  /** The file's bytes (its size and checksums are computed), or just a size. */
  data?: Buffer | string;
  size?: number;
  filename?: string;
  mimetype?: string;
}

export interface MemoryBackendOptions {
  storages?: MemoryStorage[];
  /** Files already on storages, e.g. { volid: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" }. */
  files?: { volid: string; size?: number }[];
  /** What downloads can reach: URL → file. */
  urls?: Record<string, MemoryUrl>;
  /** The node's interfaces; a fresh Proxmox VE install's vmbr0 on eth0 when not given. */
  network?: NodeNetwork[];
  /** Guests present from the start (e.g. a VM template to clone); their volumes are created. */
  guests?: { type: GuestType; vmid: number; config: PveConfig }[];
}

export const DEFAULT_STORAGES: MemoryStorage[] = [
  { id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl", "iso", "backup", "snippets", "import"] },
  { id: "local-lvm", type: "lvmthin", content: ["rootdir", "images"] },
];

const GIB = 1024 ** 3;

interface Running {
  since: number;
  pid: number;
}

export class MemoryBackend implements LabBackend {
  private readonly storages: MemoryStorage[];
  private readonly volumes = new Map<string, VolumeInfo>();
  private readonly configs = new Map<string, { type: GuestType; vmid: number; file: ConfigFile }>();
  private readonly running = new Map<string, Running>();
  private readonly urls: Record<string, MemoryUrl>;
  private readonly network: NodeNetwork[];
  /** What setupContainer was given, for tests to inspect (the config never holds these). */
  readonly containerSecrets = new Map<number, { password?: string; sshPublicKeys?: string; ostemplate: string }>();
  private nextPid = 20000;
  /** Container archives: their pct.conf (the trees are not kept: volumes here are API objects). */
  private readonly archives = new Map<string, string>();
  private readonly snapshots = new Map<string, string[]>();
  private readonly frozen = new Set<string>();
  private readonly configLocks = new KeyedMutex();
  /** pve-firewall's files by their path below /etc/pve. */
  readonly firewallFiles = new Map<string, string>();

  constructor(o: MemoryBackendOptions = {}) {
    this.storages = o.storages ?? DEFAULT_STORAGES;
    this.urls = o.urls ?? {};
    this.network = o.network ?? [
      { iface: "eth0", type: "eth" },
      { iface: "vmbr0", type: "bridge", cidr: "192.168.100.2/24", gateway: "192.168.100.1" },
    ];
    for (const f of o.files ?? []) this.addFile(f.volid, f.size ?? 100 * 1024 * 1024);
    for (const g of o.guests ?? []) {
      this.configs.set(this.key(g.type, g.vmid), {
        type: g.type,
        vmid: g.vmid,
        file: { config: { ...g.config }, lxc: [], sections: {} },
      });
      for (const [k, v] of Object.entries(g.config)) {
        const m = /^((?:rootfs|mp\d+|virtio\d+|scsi\d+|sata\d+|ide\d+|efidisk0|tpmstate0))$/.exec(k);
        if (!m) continue;
        const opts = v.split(",");
        const volid = opts[0]!.replace(/^volume=/, "");
        const v2 = parseVolid(volid);
        if (!v2 || this.volumes.has(volid)) continue;
        const size = opts.map((o) => /^size=(\d+(?:\.\d+)?)([KMGT]?)$/.exec(o)).find(Boolean);
        const bytes = size
          ? Number(size[1]) * ({ "": 1, K: 1024, M: 1024 ** 2, G: GIB, T: 1024 ** 4 } as Record<string, number>)[size[2]!]!
          : GIB;
        if (/media=cdrom/.test(v) && !/cloudinit/.test(volid)) continue;
        this.volumes.set(volid, {
          volid,
          content: g.type === "lxc" ? "rootdir" : "images",
          format: /(sub|base)vol-/.test(volid) ? "subvol" : "raw",
          size: bytes,
          vmid: g.vmid,
        });
      }
    }
  }

  private key(type: GuestType, vmid: number): string {
    return `${type}/${vmid}`;
  }

  /** Puts a file on a storage (templates, ISOs). */
  addFile(volid: string, size: number): void {
    const v = parseVolid(volid);
    if (!v) throw new Error(`bad volume id ${volid}`);
    const content = v.volname.split("/")[0]!;
    const archive = content === "backup" ? parseArchiveName(v.volname.slice("backup/".length)) : undefined;
    if (archive) {
      this.volumes.set(volid, {
        volid,
        content,
        format: archive.format,
        size,
        vmid: archive.vmid,
        subtype: archive.type,
        ctime: archive.ctime,
      });
      return;
    }
    const ext = /\.(tar\.(zst|gz|xz)|iso|img|qcow2|raw)$/.exec(v.volname)?.[1] ?? "raw";
    const format = { "tar.zst": "tzst", "tar.gz": "tgz", "tar.xz": "txz" }[ext] ?? ext;
    this.volumes.set(volid, { volid, content, format, size, ctime: Math.floor(Date.now() / 1000) });
  }

  allVolumes(): VolumeInfo[] {
    return [...this.volumes.values()];
  }

  // --- configs

  async listGuests() {
    return [...this.configs.values()].map(({ type, vmid }) => ({ type, vmid }));
  }

  async readConfig(type: GuestType, vmid: number): Promise<ConfigFile | undefined> {
    const c = this.configs.get(this.key(type, vmid));
    return c ? structuredClone(c.file) : undefined;
  }

  async writeConfig(type: GuestType, vmid: number, file: ConfigFile): Promise<void> {
    this.configs.set(this.key(type, vmid), { type, vmid, file: structuredClone(file) });
  }

  async lockConfig<T>(type: GuestType, vmid: number, fn: () => Promise<T>): Promise<T> {
    return this.configLocks.run(this.key(type, vmid), fn);
  }

  async deleteConfig(type: GuestType, vmid: number): Promise<void> {
    this.configs.delete(this.key(type, vmid));
    this.running.delete(this.key(type, vmid));
  }

  // --- firewall

  async readFirewall(path: string): Promise<string | undefined> {
    return this.firewallFiles.get(path);
  }

  async writeFirewall(path: string, text: string): Promise<void> {
    this.firewallFiles.set(path, text);
  }

  /** Lines a test puts in the node's firewall log (no packet is filtered here, so none is logged). */
  readonly firewallLog: string[] = [];

  async readFirewallLog(): Promise<string[]> {
    return [...this.firewallLog];
  }

  // --- storage

  async listNetwork(): Promise<NodeNetwork[]> {
    return this.network.map((n) => ({ ...n }));
  }

  async listStorage(): Promise<StorageInfo[]> {
    return this.storages.map((s) => {
      const used = [...this.volumes.values()]
        .filter((v) => parseVolid(v.volid)!.storage === s.id)
        .reduce((a, v) => a + v.size, 0);
      const total = s.total ?? 100 * GIB;
      return {
        id: s.id,
        type: s.type,
        content: s.content,
        ...(s.path ? { path: s.path } : {}),
        ...(s.pool ? { pool: s.pool } : {}),
        shared: s.shared ?? false,
        total,
        used,
        avail: Math.max(0, total - used),
      };
    });
  }

  async listContent(storage: string): Promise<VolumeInfo[]> {
    return [...this.volumes.values()].filter((v) => parseVolid(v.volid)!.storage === storage).map((v) => ({ ...v }));
  }

  async deleteContent(volid: string): Promise<void> {
    const v = this.volumes.get(volid);
    if (!v) throw new Error(`volume '${volid}' does not exist`);
    if (v.protected) throw new Error(`cannot remove protected archive '${this.dumpPath(volid)}'`);
    this.volumes.delete(volid);
    this.archives.delete(volid);
  }

  private dumpPath(volid: string): string {
    const v = parseVolid(volid)!;
    const s = this.storages.find((x) => x.id === v.storage);
    return `${s?.path ?? `/mnt/pve/${v.storage}`}/dump/${v.volname.replace(/^backup\//, "")}`;
  }

  // --- backups

  /** An archive here is an API object: its size is a tenth of the volumes it holds (at least 1 MiB). */
  async writeContainerArchive(req: ContainerArchive, log: TaskLog): Promise<{ size: number }> {
    const storage = (await this.listStorage()).find((s) => s.id === req.storage);
    if (!storage) throw new Error(`storage '${req.storage}' does not exist`);
    const held = req.volumes.reduce((sum, v) => sum + (this.volumes.get(v.volid)?.size ?? 0), 0);
    const size = Math.max(1024 * 1024, Math.round(held / 10));
    if (size > storage.avail)
      throw new Error(
        `write error: No space left on device (${size} bytes needed, ${storage.avail} available on '${req.storage}')`,
      );
    const volid = `${req.storage}:backup/${req.filename}`;
    this.volumes.set(volid, {
      volid,
      content: "backup",
      format: req.filename.replace(/^.*?\.(tar|vma)/, "$1"),
      size,
      vmid: req.vmid,
      subtype: "lxc",
      ctime: parseArchiveName(req.filename)?.ctime ?? Math.floor(Date.now() / 1000),
    });
    this.archives.set(volid, req.config);
    log(`Total bytes written: ${held} (${size} compressed)`);
    return { size };
  }

  async writeDumpFile(): Promise<void> {}

  async setBackupAttributes(volid: string, attrs: { notes?: string; protected?: boolean }): Promise<void> {
    const v = this.volumes.get(volid);
    if (!v) throw new Error(`volume '${volid}' does not exist`);
    if (attrs.notes !== undefined) {
      if (attrs.notes === "") delete v.notes;
      else v.notes = attrs.notes;
    }
    if (attrs.protected !== undefined) {
      if (attrs.protected) v.protected = true;
      else delete v.protected;
    }
  }

  async readArchiveConfig(volid: string): Promise<string> {
    const conf = this.archives.get(volid);
    if (conf === undefined) throw new Error(`unable to read backup '${volid}': not a container archive`);
    return conf;
  }

  async extractContainerArchive(req: { archive: string }): Promise<void> {
    if (!this.archives.has(req.archive)) throw new Error(`volume '${req.archive}' does not exist`);
  }

  // --- volume snapshots

  async volumeSnapshot(volid: string, snap: string): Promise<void> {
    if (!this.volumes.has(volid)) throw new Error(`volume '${volid}' does not exist`);
    const list = this.snapshots.get(volid) ?? [];
    if (list.includes(snap)) throw new Error(`snapshot '${snap}' already exists on '${volid}'`);
    this.snapshots.set(volid, [...list, snap]);
  }

  async volumeSnapshotDelete(volid: string, snap: string): Promise<void> {
    this.snapshots.set(
      volid,
      (this.snapshots.get(volid) ?? []).filter((s) => s !== snap),
    );
  }

  async volumeSnapshotRollback(volid: string, snap: string): Promise<void> {
    const list = this.snapshots.get(volid) ?? [];
    if (!list.includes(snap)) throw new Error(`snapshot '${snap}' does not exist on '${volid}'`);
  }

  async volumeSnapshots(volid: string): Promise<string[]> {
    return [...(this.snapshots.get(volid) ?? [])];
  }

  async freezeGuest(type: GuestType, vmid: number): Promise<void> {
    this.frozen.add(this.key(type, vmid));
  }

  async thawGuest(type: GuestType, vmid: number): Promise<void> {
    this.frozen.delete(this.key(type, vmid));
  }

  /** Whether a guest is frozen (tests). */
  isFrozen(type: GuestType, vmid: number): boolean {
    return this.frozen.has(this.key(type, vmid));
  }

  async queryUrl(url: string): Promise<UrlMetadata> {
    const u = this.urls[url];
    if (!u)
      throw new Error(`invalid server response: '500 Can't connect to ${hostOf(url)} (the lab reaches only registered URLs)'`);
    return {
      filename: u.filename ?? url.split("/").pop()!.split("?")[0]!,
      size: sizeOf(u),
      mimetype: u.mimetype ?? "application/octet-stream",
    };
  }

  async downloadUrl(req: DownloadRequest, log: TaskLog): Promise<void> {
    const u = this.urls[req.url];
    log(`downloading ${req.url} to ${req.storage}:${req.content}/${req.filename}`);
    if (!u) throw new Error(`download failed: 500 Can't connect to ${hostOf(req.url)}`);
    if (req.checksum && req.checksumAlgorithm) {
      if (u.data === undefined) throw new Error(`checksum verification impossible: no data registered for ${req.url}`);
      const got = createHash(req.checksumAlgorithm).update(u.data).digest("hex");
      if (got !== req.checksum.toLowerCase()) throw new Error(`checksum mismatch: got '${got}' != expect '${req.checksum}'`);
      log(`calculating checksum...OK, checksum verified`);
    }
    this.addFile(`${req.storage}:${req.content}/${req.filename}`, sizeOf(u));
  }

  // --- volumes

  async createVolume(vol: NewVolume): Promise<void> {
    if (this.volumes.has(vol.volid)) throw new Error(`volume '${vol.volid}' already exists`);
    this.volumes.set(vol.volid, {
      volid: vol.volid,
      content: vol.content,
      format: vol.format,
      size: vol.size,
      vmid: vol.vmid,
      ctime: Math.floor(Date.now() / 1000),
    });
  }

  async cloneVolume(req: VolumeClone): Promise<void> {
    const src = this.volumes.get(req.source);
    if (!src) throw new Error(`volume '${req.source}' does not exist`);
    if (req.snapshot && !(this.snapshots.get(req.source) ?? []).includes(req.snapshot))
      throw new Error(`snapshot '${req.snapshot}' does not exist on '${req.source}'`);
    if (this.volumes.has(req.target)) throw new Error(`volume '${req.target}' already exists`);
    this.volumes.set(req.target, {
      ...src,
      volid: req.target,
      vmid: req.vmid,
      ctime: Math.floor(Date.now() / 1000),
      ...(req.linked ? { parent: req.source } : {}),
    });
    if (!req.linked) delete this.volumes.get(req.target)!.parent;
  }

  async makeBaseVolume(req: { volid: string; base: string }): Promise<void> {
    const v = this.volumes.get(req.volid);
    if (!v) throw new Error(`volume '${req.volid}' does not exist`);
    this.volumes.delete(req.volid);
    this.volumes.set(req.base, { ...v, volid: req.base });
  }

  async resizeVolume(volid: string, size: number): Promise<void> {
    const v = this.volumes.get(volid);
    if (!v) throw new Error(`volume '${volid}' does not exist`);
    v.size = size;
  }

  async destroyVolume(volid: string): Promise<void> {
    if (!this.volumes.has(volid)) return;
    const clones = [...this.volumes.values()].filter((v) => v.parent === volid);
    if (clones.length) throw new Error(`base volume '${parseVolid(volid)!.volname}' is still in use by linked cloned`);
    this.volumes.delete(volid);
    this.snapshots.delete(volid);
  }

  /** The volume's record (and snapshots) as JSON: what another memory backend's receiveVolume reads. */
  async sendVolume(volid: string): Promise<VolumeSend> {
    const v = this.volumes.get(volid);
    if (!v) throw new Error(`volume '${volid}' does not exist`);
    const body = JSON.stringify({ volume: v, snapshots: this.snapshots.get(volid) ?? [] });
    return { stream: Readable.from([body]), size: v.size, done: Promise.resolve() };
  }

  async receiveVolume(volid: string, vmid: number, send: VolumeSend): Promise<void> {
    if (this.volumes.has(volid)) throw new Error(`volume '${volid}' already exists`);
    const got = JSON.parse(await text(send.stream)) as { volume: VolumeInfo; snapshots: string[] };
    await send.done;
    this.volumes.set(volid, { ...got.volume, volid, vmid, size: send.size });
    if (got.snapshots.length) this.snapshots.set(volid, got.snapshots);
  }

  // --- guests

  async setupContainer(setup: ContainerSetup): Promise<void> {
    this.containerSecrets.set(setup.vmid, {
      ostemplate: setup.ostemplate,
      ...(setup.password ? { password: setup.password } : {}),
      ...(setup.sshPublicKeys ? { sshPublicKeys: setup.sshPublicKeys } : {}),
    });
  }

  async startGuest(type: GuestType, vmid: number): Promise<void> {
    this.running.set(this.key(type, vmid), { since: Date.now(), pid: this.nextPid++ });
  }

  async stopGuest(type: GuestType, vmid: number): Promise<void> {
    this.running.delete(this.key(type, vmid));
  }

  async shutdownGuest(type: GuestType, vmid: number): Promise<void> {
    this.running.delete(this.key(type, vmid));
  }

  async rebootGuest(type: GuestType, vmid: number): Promise<void> {
    this.running.set(this.key(type, vmid), { since: Date.now(), pid: this.nextPid++ });
  }

  async runtime(type: GuestType, vmid: number): Promise<GuestRuntime> {
    const r = this.running.get(this.key(type, vmid));
    return r
      ? { status: "running", uptime: Math.floor((Date.now() - r.since) / 1000), pid: r.pid, mem: 64 * 1024 * 1024, cpu: 0.01 }
      : { status: "stopped" };
  }

  async interfaces(type: GuestType, _vmid: number, config: PveConfig): Promise<GuestInterface[]> {
    const out: GuestInterface[] = [
      {
        name: "lo",
        hwaddr: "00:00:00:00:00:00",
        addresses: [
          { address: "127.0.0.1", prefix: 8, family: "inet" },
          { address: "::1", prefix: 128, family: "inet6" },
        ],
      },
    ];
    for (const key of Object.keys(config)
      .filter((k) => /^net\d+$/.test(k))
      .sort()) {
      const n = key.slice(3);
      const net = Object.fromEntries(config[key]!.split(",").map((p) => p.split("=") as [string, string]));
      const ipconf =
        type === "lxc"
          ? net
          : config[`ipconfig${n}`]
            ? parsePropertyString(config[`ipconfig${n}`]!, { ip: {}, gw: {}, ip6: {}, gw6: {} })
            : {};
      const hwaddr = type === "lxc" ? net.hwaddr! : (qemuNicMac(net) ?? "");
      const addresses: GuestInterface["addresses"] = [];
      for (const [field, family] of [
        ["ip", "inet"],
        ["ip6", "inet6"],
      ] as const) {
        const m = /^(.+)\/(\d+)$/.exec(ipconf[field] ?? "");
        if (m) addresses.push({ address: m[1]!, prefix: Number(m[2]), family });
      }
      out.push({ name: type === "lxc" ? (net.name ?? `eth${n}`) : `eth${n}`, hwaddr: hwaddr.toLowerCase(), addresses });
    }
    return out;
  }
}

function sizeOf(u: MemoryUrl): number {
  return u.data !== undefined ? Buffer.byteLength(u.data) : (u.size ?? 0);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
