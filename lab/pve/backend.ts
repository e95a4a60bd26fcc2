// What the lab API needs from the machinery behind it. The API does everything Proxmox decides —
// parameter checks, config encodings and defaults, volume names, locks, tasks, permissions — and asks a
// LabBackend to keep configs, hold volumes and run guests. The in-memory backend (memory-backend.ts)
// serves tests; a real backend maps the same calls onto LXC containers on ZFS (configs as
// <stateDir>/pve/lxc/<vmid>.conf via printConfigFile, volumes as datasets, clones as `zfs clone …@__base__`)
// and QEMU processes.
import type { Readable } from "node:stream";
import type { ConfigFile, PveConfig } from "./pve-config";
import type { TaskLog } from "./tasks";

export type GuestType = "lxc" | "qemu";

export interface StorageInfo {
  /** Storage id, e.g. local, tank-lxc. */
  id: string;
  /** Proxmox storage type: dir, zfspool, lvmthin, … (decides volume names). */
  type: string;
  /** Content types it holds: rootdir, images, vztmpl, iso, import, snippets, backup. */
  content: string[];
  /** dir storages: the directory. */
  path?: string;
  /** zfspool storages: the dataset volumes live under. */
  pool?: string;
  shared?: boolean;
  /** Bytes. */
  total: number;
  used: number;
  avail: number;
}

export interface VolumeInfo {
  /** storage:volname, e.g. tank-lxc:subvol-200-disk-0, local:vztmpl/debian-12.tar.zst */
  volid: string;
  content: string;
  /** raw, subvol, qcow2, iso, tzst, … */
  format: string;
  /** Bytes. */
  size: number;
  used?: number;
  vmid?: number;
  /** Base volume a linked clone depends on. */
  parent?: string;
  ctime?: number;
  /** Backups: lxc, qemu or openvz. */
  subtype?: string;
  /** Backups: the notes (all lines; the content listing shows the first). */
  notes?: string;
  /** Backups: a protected backup cannot be removed. */
  protected?: boolean;
}

export interface UrlMetadata {
  filename?: string;
  size?: number;
  mimetype?: string;
}

export interface DownloadRequest {
  storage: string;
  /** iso, vztmpl or import */
  content: string;
  filename: string;
  url: string;
  checksum?: string;
  checksumAlgorithm?: string;
  compression?: string;
  verifyCertificates: boolean;
}

export interface NewVolume {
  volid: string;
  vmid: number;
  /** Bytes. */
  size: number;
  content: "rootdir" | "images";
  format: string;
}

export interface VolumeClone {
  source: string;
  target: string;
  vmid: number;
  linked: boolean;
  /** A full copy of the source as this snapshot of it holds it (a clone with snapname, of a running container). */
  snapshot?: string;
}

export interface GuestRuntime {
  status: "running" | "stopped";
  /** Seconds since start. */
  uptime?: number;
  pid?: number;
  /** Bytes in use. */
  mem?: number;
  /** Fraction of the CPUs in use. */
  cpu?: number;
}

export interface GuestAddress {
  address: string;
  prefix: number;
  family: "inet" | "inet6";
}

export interface GuestInterface {
  name: string;
  hwaddr: string;
  addresses: GuestAddress[];
}

/** An interface of the node, as GET /nodes/{node}/network lists it. */
export interface NodeNetwork {
  iface: string;
  type: "bridge" | "eth";
  /** IPv4 address and prefix, e.g. 10.100.0.1/24 */
  cidr?: string;
  gateway?: string;
}

export interface ContainerSetup {
  vmid: number;
  /** The final config, volumes allocated (rootfs and mpN volids filled in). */
  config: PveConfig;
  /** Volume id of the OS template archive, e.g. local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst */
  ostemplate: string;
  /** Root password to set inside (never stored in the config). */
  password?: string;
  /** authorized_keys for root, newline-separated (never stored in the config). */
  sshPublicKeys?: string;
}

/** A container archive vzdump writes: ./etc/vzdump/pct.conf and pct.fw first, then each volume's tree. */
export interface ContainerArchive {
  vmid: number;
  /** A storage with backup content, and the archive's file name there (vzdump-lxc-…). */
  storage: string;
  filename: string;
  /** 0, 1, gzip, lzo or zstd. */
  compress?: string;
  /** The config as it goes into the archive (no lock, snapshots, parent, pending). */
  config: string;
  firewall: string;
  /** rootfs at "/", then volume mount points included in backups, each read from `snapshot` when given. */
  volumes: { volid: string; path: string; snapshot?: string }[];
  /** tar exclude patterns, e.g. ./tmp/?* (vzdump's stdexcludes and exclude-path). */
  excludes: string[];
}

/** A guest volume on its way to another node: its bytes (ZFS: a `zfs send` stream), its size, and the sender's end. */
export interface VolumeSend {
  stream: Readable;
  /** Bytes (a subvol's refquota), for the receiving side to set. */
  size: number;
  /** Resolves once the whole volume was sent (the sender's temporary snapshot gone); rejects with the sender's error. */
  done: Promise<void>;
}

export interface LabBackend {
  // --- configs: the /etc/pve/{lxc,qemu-server}/<vmid>.conf tree
  listGuests(): Promise<{ vmid: number; type: GuestType }[]>;
  readConfig(type: GuestType, vmid: number): Promise<ConfigFile | undefined>;
  /** Creates or replaces a guest's config, whole (a reader never sees half of it). */
  writeConfig(type: GuestType, vmid: number, file: ConfigFile): Promise<void>;
  /**
   * Runs fn holding the guest's config lock, as Proxmox's lock_config does around every read-change-write of a
   * config: the lab's own writers queue behind each other, and (on a real node) behind the node's scripts, which
   * flock /run/lock/lxc/pve-config-<vmid>.lock as Proxmox does. Not reentrant.
   */
  lockConfig<T>(type: GuestType, vmid: number, fn: () => Promise<T>): Promise<T>;
  /** Removes the guest's config (and its firewall file, unless `migrated`: the file is the cluster's, it stays). */
  deleteConfig(type: GuestType, vmid: number, o?: { migrated?: boolean }): Promise<void>;

  // --- firewall: pve-firewall's files below /etc/pve (firewall/cluster.fw, firewall/<vmid>.fw, nodes/<node>/host.fw)
  /** The file's text, undefined when there is none. */
  readFirewall(path: string): Promise<string | undefined>;
  /** Replaces the file whole; a real node applies the firewall again at once (pve-firewall's own loop takes ~10 s). */
  writeFirewall(path: string, text: string): Promise<void>;
  /** The node's firewall log (/var/log/pve-firewall.log): pvefw-logger's lines, oldest first. */
  readFirewallLog(): Promise<string[]>;

  // --- the node
  /** The node's network interfaces: its bridges (what guests' NICs plug into) and ports. */
  listNetwork(): Promise<NodeNetwork[]>;

  // --- storage
  listStorage(): Promise<StorageInfo[]>;
  listContent(storage: string): Promise<VolumeInfo[]>;
  /** Removes a file or volume (DELETE …/storage/{storage}/content/{volume}). */
  deleteContent(volid: string): Promise<void>;
  queryUrl(url: string, verifyCertificates: boolean): Promise<UrlMetadata>;
  /** Fetches a URL onto a storage (iso/vztmpl/import), checking the checksum when given. */
  downloadUrl(req: DownloadRequest, log: TaskLog): Promise<void>;

  // --- guest volumes (names are chosen by the API, as Proxmox's storage plugins do)
  createVolume(vol: NewVolume, log: TaskLog): Promise<void>;
  /** Full copy (of the volume, or of its `snapshot`) or linked clone (of a base volume) under a new name. */
  cloneVolume(req: VolumeClone, log: TaskLog): Promise<void>;
  /** Turns a guest volume into a template's base volume under its new name (subvol-… → basevol-…). */
  makeBaseVolume(req: { volid: string; base: string }, log: TaskLog): Promise<void>;
  /** Grows a volume to `size` bytes. */
  resizeVolume(volid: string, size: number, log: TaskLog): Promise<void>;
  destroyVolume(volid: string, log: TaskLog): Promise<void>;
  /** Sends a guest volume to another node's backend (migration): ZFS `zfs send` of a temporary `__migration__` snapshot. */
  sendVolume(volid: string, log: TaskLog): Promise<VolumeSend>;
  /** Receives a volume another node sent, under `volid` here (ZFS `zfs receive`); the volume must not exist. */
  receiveVolume(volid: string, vmid: number, send: VolumeSend, log: TaskLog): Promise<void>;

  // --- backups: archives on storages with backup content (dir storages keep them in <path>/dump)
  /** Writes the archive (as <name>.dat, renamed when complete); its size in bytes. Fails as the storage fails (full). */
  writeContainerArchive(req: ContainerArchive, log: TaskLog): Promise<{ size: number }>;
  /** Writes a file beside the archives (the per-guest .log). */
  writeDumpFile(storage: string, filename: string, text: string): Promise<void>;
  /** Sets a backup's notes (empty removes them) and protection. */
  setBackupAttributes(volid: string, attrs: { notes?: string; protected?: boolean }): Promise<void>;
  /** ./etc/vzdump/pct.conf of a container archive. */
  readArchiveConfig(volid: string): Promise<string>;
  /** Extracts a container archive's trees into the volumes of `config` (rootfs and mount points, allocated). */
  extractContainerArchive(req: { archive: string; vmid: number; config: PveConfig }, log: TaskLog): Promise<void>;

  // --- volume snapshots (storages that can take them: zfspool)
  volumeSnapshot(volid: string, snap: string, log: TaskLog): Promise<void>;
  volumeSnapshotDelete(volid: string, snap: string, log: TaskLog): Promise<void>;
  volumeSnapshotRollback(volid: string, snap: string, log: TaskLog): Promise<void>;
  /** A volume's snapshots, oldest first. */
  volumeSnapshots(volid: string): Promise<string[]>;

  // --- guests
  /** Freezes a running container's processes (vzdump's suspend, snapshots of several volumes). */
  freezeGuest(type: GuestType, vmid: number): Promise<void>;
  thawGuest(type: GuestType, vmid: number): Promise<void>;
  /** Fills a freshly allocated container rootfs from its OS template and applies password/keys. */
  setupContainer(setup: ContainerSetup, log: TaskLog): Promise<void>;
  startGuest(type: GuestType, vmid: number, config: PveConfig, log: TaskLog): Promise<void>;
  /** Immediate stop. */
  stopGuest(type: GuestType, vmid: number, log: TaskLog): Promise<void>;
  /** Clean shutdown; after `timeout` seconds a hard stop when `forceStop`, else an error. */
  shutdownGuest(type: GuestType, vmid: number, opts: { timeout: number; forceStop: boolean }, log: TaskLog): Promise<void>;
  rebootGuest(type: GuestType, vmid: number, config: PveConfig, log: TaskLog): Promise<void>;
  runtime(type: GuestType, vmid: number): Promise<GuestRuntime>;
  /** Interfaces as the guest sees them (LXC: the container's; QEMU: what its guest agent reports). */
  interfaces(type: GuestType, vmid: number, config: PveConfig): Promise<GuestInterface[]>;
}
