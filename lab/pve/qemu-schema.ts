// The VM configuration options Proxmox VE accepts (qm.conf(5), PVE::QemuServer) — the ones the
// provider sends for VmLegacy, checked for type and format — and the /nodes/{node}/qemu parameters.
import { NODE, VMID } from "./lxc-schema";
import { type PropertyFormat, PropertyStringError, printPropertyString } from "./pve-config";
import { type Errors, type ParamSchema, type PropertyStringSchema, type Schema, checkValue, emptyErrors, own } from "./schema";

const bool = { type: "boolean", optional: true } as const;
const str = { type: "string", optional: true } as const;
const int = (minimum?: number, maximum?: number): Schema => ({
  type: "integer",
  optional: true,
  ...(minimum !== undefined ? { minimum } : {}),
  ...(maximum !== undefined ? { maximum } : {}),
});

/** `memory: [current=]<MiB>` (qemu-server's memory format): at least 16 MiB, as for a container. */
const MEMORY_FORMAT: PropertyStringSchema = {
  current: { type: "integer", minimum: 16, defaultKey: true },
};

export const NIC_MODELS = [
  "e1000",
  "e1000-82540em",
  "e1000-82544gc",
  "e1000-82545em",
  "e1000e",
  "i82551",
  "i82557b",
  "i82559er",
  "ne2k_isa",
  "ne2k_pci",
  "pcnet",
  "rtl8139",
  "virtio",
  "vmxnet3",
] as const;

export const QEMU_NET_FORMAT: PropertyStringSchema = {
  model: { type: "string", enum: NIC_MODELS },
  macaddr: { type: "string", format: "mac-addr", optional: true },
  bridge: { type: "string", format: "pve-bridge-id", optional: true },
  firewall: bool,
  link_down: bool,
  mtu: int(1, 65520),
  queues: int(0, 64),
  rate: { type: "number", minimum: 0, optional: true },
  tag: int(1, 4094),
  trunks: { type: "string", pattern: "\\d+(?:-\\d+)?(?:;\\d+(?:-\\d+)?)*", optional: true },
};

export const DRIVE_FORMAT: PropertyStringSchema = {
  file: { type: "string", defaultKey: true },
  volume: { type: "string", alias: "file", optional: true },
  media: { type: "string", enum: ["cdrom", "disk"], optional: true },
  cache: { type: "string", enum: ["none", "writethrough", "writeback", "unsafe", "directsync"], optional: true },
  format: { type: "string", enum: ["raw", "cow", "qcow", "qed", "qcow2", "vmdk", "cloop"], optional: true },
  size: { type: "string", format: "disk-size", optional: true },
  aio: { type: "string", enum: ["native", "threads", "io_uring"], optional: true },
  backup: bool,
  discard: { type: "string", enum: ["ignore", "on"], optional: true },
  iothread: bool,
  ssd: bool,
  replicate: bool,
  ro: bool,
  shared: bool,
  snapshot: bool,
  detect_zeroes: bool,
  serial: { type: "string", maxLength: 60, optional: true },
  queues: int(2),
  rerror: { type: "string", enum: ["ignore", "report", "stop"], optional: true },
  werror: { type: "string", enum: ["enospc", "ignore", "report", "stop"], optional: true },
  wwn: str,
  model: str,
  "import-from": str,
  iops: int(0),
  iops_rd: int(0),
  iops_wr: int(0),
  iops_max: int(0),
  iops_rd_max: int(0),
  iops_wr_max: int(0),
  mbps: { type: "number", minimum: 0, optional: true },
  mbps_rd: { type: "number", minimum: 0, optional: true },
  mbps_wr: { type: "number", minimum: 0, optional: true },
  mbps_max: { type: "number", minimum: 0, optional: true },
  mbps_rd_max: { type: "number", minimum: 0, optional: true },
  mbps_wr_max: { type: "number", minimum: 0, optional: true },
  efitype: { type: "string", enum: ["2m", "4m"], optional: true },
  "pre-enrolled-keys": bool,
  version: { type: "string", enum: ["v1.2", "v2.0"], optional: true },
};

export const IPCONFIG_FORMAT: PropertyStringSchema = {
  ip: { type: "string", format: "pve-ipv4-config", optional: true },
  gw: { type: "string", format: "ipv4", optional: true },
  ip6: { type: "string", format: "pve-ipv6-config", optional: true },
  gw6: { type: "string", format: "ipv6", optional: true },
};

export const HOSTPCI_FORMAT: PropertyStringSchema = {
  host: { type: "string", defaultKey: true, optional: true },
  mapping: { type: "string", format: "pve-configid", optional: true },
  pcie: bool,
  rombar: bool,
  romfile: str,
  "x-vga": bool,
  mdev: str,
  "device-id": str,
  "vendor-id": str,
  "sub-device-id": str,
  "sub-vendor-id": str,
  "legacy-igd": bool,
};

export const AGENT_FORMAT: PropertyStringSchema = {
  enabled: { type: "boolean", defaultKey: true, optional: true },
  fstrim_cloned_disks: bool,
  "freeze-fs-on-backup": bool,
  type: { type: "string", enum: ["virtio", "isa"], optional: true },
};

export const QEMU_OPTIONS: ParamSchema = {
  acpi: bool,
  affinity: str,
  agent: { type: "string", format: AGENT_FORMAT, optional: true },
  arch: { type: "string", enum: ["x86_64", "aarch64"], optional: true },
  args: str,
  audio0: str,
  autostart: bool,
  balloon: int(0),
  bios: { type: "string", enum: ["seabios", "ovmf"], optional: true },
  boot: str,
  bootdisk: str,
  cicustom: str,
  cipassword: str,
  citype: { type: "string", enum: ["configdrive2", "nocloud", "opennebula"], optional: true },
  ciupgrade: bool,
  ciuser: str,
  cores: int(1),
  cpu: str,
  cpulimit: { type: "number", minimum: 0, maximum: 128, optional: true },
  cpuunits: int(1, 262144),
  description: { type: "string", maxLength: 8192, optional: true },
  freeze: bool,
  hookscript: { type: "string", format: "pve-volume-id", optional: true },
  hotplug: { type: "string", format: "pve-hotplug-features", optional: true },
  hugepages: { type: "string", enum: ["any", "2", "1024"], optional: true },
  ivshmem: str,
  keephugepages: bool,
  keyboard: str,
  kvm: bool,
  localtime: bool,
  lock: str,
  machine: {
    type: "string",
    pattern:
      "(pc|pc(-i440fx)?-\\d+(\\.\\d+)+(\\+pve\\d+)?(\\.pxe)?|q35|pc-q35-\\d+(\\.\\d+)+(\\+pve\\d+)?(\\.pxe)?|virt(?:-\\d+(\\.\\d+)+)?(\\+pve\\d+)?)",
    optional: true,
  },
  memory: { type: "string", format: MEMORY_FORMAT, optional: true },
  meta: str,
  migrate_downtime: { type: "number", minimum: 0, optional: true },
  migrate_speed: int(0),
  name: { type: "string", format: "dns-name", optional: true },
  nameserver: { type: "string", format: "address-list", optional: true },
  numa: bool,
  onboot: bool,
  ostype: {
    type: "string",
    enum: ["other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11", "l24", "l26", "solaris"],
    optional: true,
  },
  protection: bool,
  reboot: bool,
  rng0: str,
  scsihw: {
    type: "string",
    enum: ["lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single", "megasas", "pvscsi"],
    optional: true,
  },
  searchdomain: str,
  shares: int(0, 50000),
  smbios1: { type: "string", maxLength: 512, optional: true },
  smp: int(1),
  sockets: int(1),
  spice_enhancements: str,
  sshkeys: { type: "string", format: "urlencoded", optional: true },
  startdate: str,
  startup: { type: "string", format: "pve-startup-order", optional: true },
  tablet: bool,
  tags: { type: "string", format: "pve-tag-list", optional: true },
  tdf: bool,
  template: bool,
  vcpus: int(1),
  vga: str,
  vmgenid: str,
  vmstatestorage: { type: "string", format: "pve-storage-id", optional: true },
  watchdog: str,
  efidisk0: { type: "string", format: DRIVE_FORMAT, optional: true },
  tpmstate0: { type: "string", format: DRIVE_FORMAT, optional: true },
};

const n = (max: number) => `(?:${Array.from({ length: max + 1 }, (_, i) => i).join("|")})`;
export const DRIVE_KEY = new RegExp(`^(?:ide${n(3)}|sata${n(5)}|scsi${n(30)}|virtio${n(15)}|efidisk0|tpmstate0)$`);

export const QEMU_NUMBERED: [RegExp, Schema][] = [
  [new RegExp(`^net${n(31)}$`), { type: "string", optional: true, verify: verifyQemuNet }],
  [
    new RegExp(`^(?:ide${n(3)}|sata${n(5)}|scsi${n(30)}|virtio${n(15)})$`),
    { type: "string", format: DRIVE_FORMAT, optional: true },
  ],
  [new RegExp(`^ipconfig${n(31)}$`), { type: "string", format: IPCONFIG_FORMAT, optional: true }],
  [new RegExp(`^hostpci${n(15)}$`), { type: "string", format: HOSTPCI_FORMAT, optional: true }],
  [new RegExp(`^serial${n(3)}$`), str],
  [new RegExp(`^parallel${n(2)}$`), str],
  [new RegExp(`^usb${n(13)}$`), str],
  [new RegExp(`^numa${n(7)}$`), str],
  [new RegExp(`^virtiofs${n(9)}$`), str],
  [new RegExp(`^unused${n(255)}$`), { type: "string", format: "pve-volume-id", optional: true }],
];

export function qemuOption(key: string): Schema | undefined {
  return own(QEMU_OPTIONS, key) ?? QEMU_NUMBERED.find(([re]) => re.test(key))?.[1];
}

/** Keys answered as JSON numbers in GET …/config. */
export function qemuJsonValue(key: string, value: string): string | number {
  const s = qemuOption(key);
  if (s && (s.type === "integer" || s.type === "number" || s.type === "boolean")) {
    const v = Number(value);
    return Number.isFinite(v) ? v : value;
  }
  return value;
}

const BASE = { node: NODE, vmid: VMID };

/** Config keys Proxmox writes itself and no API call sets. */
const WRITTEN_BY_PROXMOX = new Set(["meta"]);
const SETTABLE = Object.fromEntries(Object.entries(QEMU_OPTIONS).filter(([k]) => !WRITTEN_BY_PROXMOX.has(k)));

export const QEMU_CREATE: ParamSchema = {
  ...SETTABLE,
  ...BASE,
  pool: { type: "string", format: "pve-poolid", optional: true },
  storage: { type: "string", format: "pve-storage-id", optional: true },
  start: bool,
  unique: bool,
  force: bool,
  archive: str,
  bwlimit: int(0),
  "live-restore": bool,
};
export const QEMU_UPDATE: ParamSchema = {
  ...SETTABLE,
  ...BASE,
  delete: { type: "string", format: "pve-configid-list", optional: true },
  revert: { type: "string", format: "pve-configid-list", optional: true },
  digest: { type: "string", maxLength: 40, optional: true },
  skiplock: bool,
  force: bool,
};
/** POST …/config (the asynchronous update) also takes how long to wait for its task before answering. */
export const QEMU_UPDATE_ASYNC: ParamSchema = { ...QEMU_UPDATE, background_delay: int(1, 30) };
export const QEMU_CLONE: ParamSchema = {
  ...BASE,
  newid: VMID,
  name: { type: "string", format: "dns-name", optional: true },
  description: str,
  full: bool,
  format: { type: "string", enum: ["raw", "qcow2", "vmdk"], optional: true },
  pool: { type: "string", format: "pve-poolid", optional: true },
  snapname: { type: "string", format: "pve-configid", optional: true },
  storage: { type: "string", format: "pve-storage-id", optional: true },
  target: { type: "string", format: "pve-node", optional: true },
  bwlimit: int(0),
};

// ---------------------------------------------------------------------------------------------
// net[n]: "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0" — the model names its MAC address

const NET_PRINT: PropertyFormat = Object.fromEntries(Object.keys(QEMU_NET_FORMAT).map((k) => [k, {}]));

/** Parses a VM net[n] value in any form (model=MAC, model=…,macaddr=…, or a bare model). */
export function parseQemuNet(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(",")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    if (eq === -1) {
      // `model` is the default key: `virtio,bridge=vmbr0` (qm's documented form) names the model without a MAC
      if (out.model !== undefined)
        throw new PropertyStringError(`duplicate key in comma-separated list property: model`, "model");
      out.model = part;
      continue;
    }
    const key = part.slice(0, eq);
    const v = part.slice(eq + 1);
    if ((NIC_MODELS as readonly string[]).includes(key)) {
      if (out.model !== undefined)
        throw new PropertyStringError(`duplicate key in comma-separated list property: model`, "model");
      out.model = key;
      if (v) out.macaddr = v;
      continue;
    }
    if (!Object.hasOwn(QEMU_NET_FORMAT, key))
      throw new PropertyStringError(`property is not defined in schema and the schema does not allow additional properties`, key);
    if (out[key] !== undefined) throw new PropertyStringError(`duplicate key in comma-separated list property: ${key}`, key);
    out[key] = v;
  }
  if (!out.model) throw new PropertyStringError(`property is missing and it is not optional`, "model");
  return out;
}

/** As Proxmox stores it: `model=MAC` first, the other keys sorted. */
export function printQemuNet(net: Record<string, string>): string {
  const { model, macaddr, ...rest } = net;
  const tail = printPropertyString(rest, NET_PRINT);
  return `${model}=${macaddr ?? ""}${tail ? `,${tail}` : ""}`;
}

/** Checks a VM net[n] value: parses either form, then each sub-key by its schema. */
export function verifyQemuNet(value: string, path: string, errors: Errors): boolean {
  const sub = emptyErrors();
  try {
    const net = parseQemuNet(value);
    for (const [k, v] of Object.entries(net)) checkValue(own(QEMU_NET_FORMAT, k)!, v, `${path}.${k}`, sub);
  } catch (e) {
    const err = e as PropertyStringError;
    sub[err.key ? `${path}.${err.key}` : path] = err.message;
  }
  const problems = Object.entries(sub);
  if (problems.length) errors[path] = `invalid format - ${problems.map(([p, m]) => `${p}: ${m.trimEnd()}`).join("\n")}\n`;
  return !problems.length;
}
