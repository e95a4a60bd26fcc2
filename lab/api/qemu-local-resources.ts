// What keeps a VM on its node, as qemu-server's migration preconditions find it: check_local_resources (passed-through
// devices, mappings and the nodes lacking them) and check_vm_disks_local over foreach_volid (its volumes, with flags).
import { fail } from "./errors";
import { type PciMapping, nodeMapping } from "./pci-mappings";
import { type PveConfig, type ConfigFile, parsePropertyString } from "../pve/pve-config";
import { DRIVE_FORMAT } from "../pve/qemu-schema";
import { propertyFormat } from "../pve/schema";
import { parseVolid } from "../pve/volumes";

/** A mapped device of the VM: its mapping's id, `live-migration` when the PCI mapping says it can move live. */
export interface MappedResource {
  name: string;
  "live-migration"?: number;
}

export interface LocalResources {
  /** What blocks the migration: config keys (`hostpci0`, `usb1`, …) and features (`amd-sev`, `virtiofs`). */
  local: string[];
  mapped: Record<string, MappedResource>;
  /** Per cluster node: the config keys whose mapping has no entry for that node. */
  missing: Record<string, string[]>;
}

/** Perl's truth of a config value: absent, empty and "0" are false. */
const truthy = (v: string | undefined) => v !== undefined && v !== "" && v !== "0";

/** A device's property string read leniently: the bare value as its default key (`host`), then `key=value` pairs. */
function deviceOptions(value: string, defaultKey: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq === -1) out[defaultKey] = part;
    else out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

/**
 * The lab keeps PCI mappings only: a USB or directory mapping is one no node has. get_node_mapping then returns undef
 * and check_local_resources dies dereferencing it, a Perl error rather than a message of Proxmox's.
 */
function nodeEntries(mappings: Record<string, PciMapping>, kind: string, id: string, node: string, pve8: boolean): string[] {
  const entries = kind === "pci" ? nodeMapping(mappings, id, node) : undefined;
  if (entries) return entries;
  const where = pve8 ? "QemuServer.pm line 2648" : "QemuMigrate/Helpers.pm line 63";
  throw fail(`Can't use an undefined value as an ARRAY reference at /usr/share/perl5/PVE/${where}.`);
}

/** check_non_migratable_resources: what a running VM cannot take along (intel-tdx: from PVE 9). */
function nonMigratable(config: PveConfig, running: boolean, pve8: boolean): string[] {
  if (!running) return [];
  const out: string[] = [];
  if (truthy(config["amd-sev"])) out.push("amd-sev");
  if (!pve8 && truthy(config["intel-tdx"])) out.push("intel-tdx");
  if (Object.keys(config).some((k) => /^virtiofs\d$/.test(k) && truthy(config[k]))) out.push("virtiofs");
  return out;
}

/**
 * check_local_resources with `noerr`: USB devices (but SPICE redirection), PCI devices (a mapped one only when the VM
 * runs and its mapping is not live-migration-capable), serial ports but sockets, parallel ports and virtiofs shares
 * block; mapped devices are listed with the nodes their mapping misses. Keys in the config's order.
 */
export function localResources(
  config: PveConfig,
  running: boolean,
  mappings: Record<string, PciMapping>,
  nodes: string[],
  pve8: boolean,
): LocalResources {
  const res: LocalResources = { local: nonMigratable(config, running, pve8), mapped: {}, missing: {} };
  for (const node of nodes) res.missing[node] = [];
  const addMissing = (kind: string, key: string, id: string) => {
    for (const node of nodes) if (!nodeEntries(mappings, kind, id, node, pve8).length) res.missing[node]!.push(key);
  };
  for (const old of ["hostusb", "hostpci", "ivshmem"]) if (truthy(config[old])) res.local.push(old);
  for (const [k, v] of Object.entries(config)) {
    if (/^usb/.test(k)) {
      const usb = deviceOptions(v, "host");
      if (usb.host && /^spice$/i.test(usb.host)) continue;
      if (usb.mapping) {
        addMissing("usb", k, usb.mapping);
        res.mapped[k] = { name: usb.mapping };
      }
    }
    if (/^hostpci/.test(k)) {
      const name = deviceOptions(v, "host").mapping;
      if (name) {
        addMissing("pci", k, name);
        res.mapped[k] = { name };
        if (Object.hasOwn(mappings, name) && truthy(mappings[name]!["live-migration-capable"])) {
          res.mapped[k]["live-migration"] = 1;
          continue;
        }
        if (!running) continue;
      }
    }
    if (/^virtiofs/.test(k)) {
      const dirid = deviceOptions(v, "dirid").dirid ?? "";
      addMissing("dir", k, dirid);
      res.mapped[k] = { name: dirid };
    }
    if (/^serial/.test(k) && v === "socket") continue;
    if (/^(usb|hostpci|serial|parallel|virtiofs)\d+$/.test(k)) res.local.push(k);
  }
  return res;
}

const DRIVE = propertyFormat(DRIVE_FORMAT);
const range = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);
/** foreach_volume_full's keys with include_unused and the vmstate extra key, in valid_drive_names' order. */
const VOLUME_KEYS = [
  ...range("ide", 4),
  ...range("scsi", 31),
  ...range("virtio", 16),
  ...range("sata", 6),
  "efidisk0",
  "tpmstate0",
  ...range("unused", 256),
  "vmstate",
];

/** drive_is_cloudinit (an attribute from qemu-server 9). */
const CLOUDINIT = /[:/](?:vm-\d+-)?cloudinit(?:\.(?:raw|cow|qcow|qed|qcow2|vmdk|cloop))?$/;

/** foreach_volid's attributes of one volume (flags 0/1, as Perl gives them), check_vm_disks_local's `volid` added. */
export type DiskAttributes = Record<string, unknown> & { volid: string; cdrom: number; shared: number };

function parseVolume(key: string, value: string): Record<string, string> | undefined {
  if (key === "vmstate") return { file: value };
  try {
    return parsePropertyString(value, DRIVE);
  } catch {
    return undefined; // parse_volume with noerr: a drive that does not parse is skipped
  }
}

/** foreach_volume: the volids of the config's drives (not its unused volumes), in valid_drive_names' order. */
export function driveVolids(config: PveConfig): string[] {
  return VOLUME_KEYS.filter((k) => !/^unused|^vmstate$/.test(k) && config[k] !== undefined)
    .map((k) => parseVolume(k, config[k]!)?.file)
    .filter((f): f is string => !!f);
}

/** foreach_volid: every volume of the config, its pending changes and its snapshots, each with its attributes. */
export function foreachVolid(file: ConfigFile, pve8: boolean): Map<string, DiskAttributes> {
  const hash = new Map<string, DiskAttributes>();
  const visit = (section: PveConfig, snapname?: string, pending = false) => {
    for (const key of VOLUME_KEYS) {
      const drive = section[key] === undefined ? undefined : parseVolume(key, section[key]);
      const volid = drive?.file;
      if (!volid) continue;
      const a = hash.get(volid) ?? ({ volid } as DiskAttributes);
      hash.set(volid, a);
      const cdrom = drive.media === "cdrom";
      a.cdrom = cdrom && (a.cdrom ?? 1) ? 1 : 0;
      a.replicate = (a.replicate as number) || (drive.replicate ?? "1") !== "0" ? 1 : 0;
      a.shared = a.shared || truthy(drive.shared) ? 1 : 0;
      a.is_unused = (a.is_unused as number) || /^unused\d+$/.test(key) ? 1 : 0;
      a.is_attached = (a.is_attached as number) || (!a.is_unused && snapname === undefined && !pending) ? 1 : 0;
      if (snapname !== undefined) a.referenced_in_snapshot = { ...(a.referenced_in_snapshot as object), [snapname]: 1 };
      if (pending) a.referenced_in_pending = 1;
      if (truthy(drive.size)) a.size ??= Number(drive.size);
      a.is_vmstate = (a.is_vmstate as number) || key === "vmstate" ? 1 : 0;
      a.is_tpmstate = (a.is_tpmstate as number) || key === "tpmstate0" ? 1 : 0;
      if (!pve8) a.is_cloudinit = (a.is_cloudinit as number) || CLOUDINIT.test(volid) ? 1 : 0;
      if (!/^unused|^vmstate$/.test(key)) a.drivename = key;
    }
  };
  visit(file.config);
  if (file.sections.pending) visit(file.sections.pending, undefined, true);
  for (const [name, snap] of Object.entries(file.sections)) if (!/^pending$|^special:/.test(name)) visit(snap, name);
  return hash;
}

/**
 * check_vm_disks_local: the volumes not on a shared storage nor marked `shared=1`, an empty CD-ROM drive left out.
 * `storage` is the cluster's storage config: a volume on a storage it lacks fails as storage_config does.
 */
export function localDisks(file: ConfigFile, storage: Map<string, { shared: boolean }>, pve8: boolean): DiskAttributes[] {
  const out: DiskAttributes[] = [];
  for (const [volid, a] of foreachVolid(file, pve8)) {
    const v = parseVolid(volid);
    if (v && storageConfig(storage, v.storage).shared) continue;
    if (a.shared || (a.cdrom && volid === "none")) continue;
    out.push(a);
  }
  return out;
}

/** PVE::Storage::storage_config: a storage of the cluster's config, or its failure. */
export function storageConfig<T>(storage: Map<string, T>, id: string): T {
  const s = storage.get(id);
  if (!s) throw fail(`storage '${id}' does not exist`);
  return s;
}
