// The container configuration options Proxmox VE accepts (pct.conf(5), PVE::LXC::Config) and the
// parameters of the /nodes/{node}/lxc endpoints the lab serves.
import { type ParamSchema, type PropertyStringSchema, type Schema, own } from "./schema";

const bool = { type: "boolean", optional: true } as const;

export const NET_FORMAT: PropertyStringSchema = {
  name: { type: "string", pattern: "[-_.\\w\\d]+" },
  bridge: { type: "string", format: "pve-bridge-id", optional: true },
  hwaddr: { type: "string", format: "mac-addr", optional: true },
  mtu: { type: "integer", minimum: 64, maximum: 65535, optional: true },
  ip: { type: "string", format: "pve-ipv4-config", optional: true },
  gw: { type: "string", format: "ipv4", optional: true },
  ip6: { type: "string", format: "pve-ipv6-config", optional: true },
  gw6: { type: "string", format: "ipv6", optional: true },
  firewall: bool,
  tag: { type: "integer", minimum: 1, maximum: 4094, optional: true },
  trunks: { type: "string", pattern: "\\d+(?:-\\d+)?(?:;\\d+(?:-\\d+)?)*", optional: true },
  rate: { type: "number", minimum: 0, optional: true },
  link_down: bool,
  type: { type: "string", enum: ["veth"], optional: true },
};

const MOUNT_OPTIONS = "(?:noatime|lazytime|nodev|nosuid|noexec|discard)(?:;(?:noatime|lazytime|nodev|nosuid|noexec|discard))*";

export const ROOTFS_FORMAT: PropertyStringSchema = {
  volume: { type: "string", format: "pve-lxc-mp-string", defaultKey: true },
  size: { type: "string", format: "disk-size", optional: true },
  acl: bool,
  mountoptions: { type: "string", pattern: MOUNT_OPTIONS, optional: true },
  quota: bool,
  replicate: bool,
  ro: bool,
  shared: bool,
};

export const MP_FORMAT: PropertyStringSchema = {
  ...ROOTFS_FORMAT,
  mp: { type: "string", format: "pve-lxc-mp-path" },
  backup: bool,
};

export const DEV_FORMAT: PropertyStringSchema = {
  path: { type: "string", format: "pve-lxc-dev-string", defaultKey: true, optional: true },
  mode: { type: "string", pattern: "0?[0-7]{3}", optional: true },
  uid: { type: "integer", minimum: 0, optional: true },
  gid: { type: "integer", minimum: 0, optional: true },
  "deny-write": bool,
};

export const FEATURES_FORMAT: PropertyStringSchema = {
  fuse: bool,
  keyctl: bool,
  mknod: bool,
  nesting: bool,
  force_rw_sys: bool,
  mount: { type: "string", pattern: "[a-zA-Z0-9_; ]+", optional: true },
};

/** Options of a container config (what PUT …/config takes and GET …/config returns). */
export const LXC_OPTIONS: ParamSchema = {
  arch: { type: "string", enum: ["amd64", "i386", "arm64", "armhf", "riscv32", "riscv64"], optional: true },
  cmode: { type: "string", enum: ["shell", "console", "tty"], optional: true },
  console: bool,
  cores: { type: "integer", minimum: 1, maximum: 8192, optional: true },
  cpulimit: { type: "number", minimum: 0, maximum: 8192, optional: true },
  cpuunits: { type: "integer", minimum: 0, maximum: 500000, optional: true },
  debug: bool,
  description: { type: "string", maxLength: 8192, optional: true },
  entrypoint: { type: "string", optional: true },
  env: { type: "string", optional: true },
  features: { type: "string", format: FEATURES_FORMAT, optional: true },
  hookscript: { type: "string", format: "pve-volume-id", optional: true },
  hostname: { type: "string", format: "dns-name", maxLength: 255, optional: true },
  lock: {
    type: "string",
    enum: ["backup", "create", "destroyed", "disk", "fstrim", "migrate", "mounted", "rollback", "snapshot", "snapshot-delete"],
    optional: true,
  },
  memory: { type: "integer", minimum: 16, optional: true },
  nameserver: { type: "string", format: "address-list", optional: true },
  onboot: bool,
  ostype: {
    type: "string",
    enum: ["debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux", "alpine", "gentoo", "nixos", "unmanaged"],
    optional: true,
  },
  protection: bool,
  rootfs: { type: "string", format: ROOTFS_FORMAT, optional: true },
  searchdomain: { type: "string", format: "dns-name-list", optional: true },
  startup: { type: "string", format: "pve-startup-order", optional: true },
  swap: { type: "integer", minimum: 0, optional: true },
  tags: { type: "string", format: "pve-tag-list", optional: true },
  template: bool,
  timezone: { type: "string", optional: true },
  tty: { type: "integer", minimum: 0, maximum: 6, optional: true },
  unprivileged: bool,
};

export const LXC_NUMBERED: [RegExp, Schema][] = [
  [/^net([0-9]|[12][0-9]|3[01])$/, { type: "string", format: NET_FORMAT, optional: true }],
  [/^mp([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])$/, { type: "string", format: MP_FORMAT, optional: true }],
  [/^dev([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])$/, { type: "string", format: DEV_FORMAT, optional: true }],
  [/^unused([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])$/, { type: "string", format: "pve-volume-id", optional: true }],
];

/** The schema of a config key, numbered families included. */
export function lxcOption(key: string): Schema | undefined {
  return own(LXC_OPTIONS, key) ?? LXC_NUMBERED.find(([re]) => re.test(key))?.[1];
}

export const NODE: Schema = { type: "string", format: "pve-node" };
export const VMID: Schema = { type: "integer", minimum: 100, maximum: 999999999 };

const withoutLock = Object.fromEntries(Object.entries(LXC_OPTIONS).filter(([k]) => k !== "lock"));

export const LXC_CREATE: ParamSchema = {
  ...withoutLock,
  node: NODE,
  vmid: VMID,
  ostemplate: { type: "string", maxLength: 255 },
  password: { type: "string", minLength: 5, optional: true },
  "ssh-public-keys": { type: "string", optional: true },
  storage: { type: "string", format: "pve-storage-id", optional: true },
  pool: { type: "string", format: "pve-poolid", optional: true },
  force: bool,
  restore: bool,
  unique: bool,
  start: bool,
  "ignore-unpack-errors": bool,
  bwlimit: { type: "number", minimum: 0, optional: true },
};

export const LXC_UPDATE: ParamSchema = {
  ...withoutLock,
  node: NODE,
  vmid: VMID,
  delete: { type: "string", format: "pve-configid-list", optional: true },
  revert: { type: "string", format: "pve-configid-list", optional: true },
  digest: { type: "string", maxLength: 40, optional: true },
};

export const LXC_CLONE: ParamSchema = {
  node: NODE,
  vmid: VMID,
  newid: VMID,
  description: { type: "string", optional: true },
  hostname: { type: "string", format: "dns-name", optional: true },
  full: bool,
  pool: { type: "string", format: "pve-poolid", optional: true },
  snapname: { type: "string", format: "pve-configid", maxLength: 40, optional: true },
  storage: { type: "string", format: "pve-storage-id", optional: true },
  target: { type: "string", format: "pve-node", optional: true },
  bwlimit: { type: "number", minimum: 0, optional: true },
};

export const LXC_RESIZE: ParamSchema = {
  node: NODE,
  vmid: VMID,
  disk: { type: "string", pattern: "rootfs|mp\\d+" },
  size: { type: "string", pattern: "\\+?\\d+(\\.\\d+)?[KMGT]?" },
  digest: { type: "string", maxLength: 40, optional: true },
};

/** JSON type of a config value in API responses: integers, numbers and booleans are numbers. */
export function jsonValue(schema: Schema | undefined, value: string): string | number {
  if (!schema) return value;
  if (schema.type === "integer" || schema.type === "number" || schema.type === "boolean") {
    const n = Number(value);
    return Number.isFinite(n) ? n : value;
  }
  return value;
}
