// How Proxmox turns container options into stored config values: network interfaces get a MAC and
// type=veth and are printed in canonical order, mount points are printed volume-first with sizes as
// 4G, tags are sorted, booleans are 0/1, descriptions end every line with a newline. Pure.
import { MP_FORMAT, NET_FORMAT, ROOTFS_FORMAT, lxcOption } from "./lxc-schema";
import { type PveConfig, canonicalDescription, normalizeTags, parsePropertyString, printPropertyString } from "./pve-config";
import { type Schema, propertyFormat } from "./schema";

export const NET = propertyFormat(NET_FORMAT);
export const ROOTFS = propertyFormat(ROOTFS_FORMAT);
export const MP = propertyFormat(MP_FORMAT);

export function parseNet(value: string): Record<string, string> {
  return parsePropertyString(value, NET);
}

/** A net[n] value as stored: hwaddr filled in when missing, type=veth, canonical order. */
export function normalizeNet(value: string, newMac: () => string): string {
  const net = parseNet(value);
  net.hwaddr ??= newMac();
  net.type ??= "veth";
  return printPropertyString(net, NET);
}

export function parseMountPoint(key: string, value: string): Record<string, string> {
  return parsePropertyString(value, key === "rootfs" ? ROOTFS : MP);
}

export function printMountPoint(key: string, mp: Record<string, string>): string {
  return printPropertyString(mp, key === "rootfs" ? ROOTFS : MP);
}

export type MountKind = "volume" | "bind" | "device";

export function mountKind(volume: string): MountKind {
  if (volume.startsWith("/dev/")) return "device";
  return volume.startsWith("/") ? "bind" : "volume";
}

export function isMountKey(key: string): boolean {
  return key === "rootfs" || /^mp\d+$/.test(key);
}

/** Normalizes a checked option value the way it is stored (not mount points: they need allocation). */
export function storedValue(key: string, value: string, newMac: () => string): string {
  const schema: Schema | undefined = lxcOption(key);
  if (schema?.type === "boolean") return /^(1|true|yes|on)$/i.test(value) ? "1" : "0";
  if (/^net\d+$/.test(key)) return normalizeNet(value, newMac);
  if (key === "tags") return normalizeTags(value);
  if (key === "description") return canonicalDescription(value);
  return value;
}

/** The volumes a container config owns on storages: rootfs, volume mount points and unusedN. */
export function ownedVolumes(config: PveConfig): { key: string; volid: string }[] {
  const out: { key: string; volid: string }[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (isMountKey(key)) {
      const volume = parseMountPoint(key, value).volume;
      if (volume && mountKind(volume) === "volume") out.push({ key, volid: volume });
    } else if (/^unused\d+$/.test(key)) out.push({ key, volid: value });
  }
  return out;
}

/** The first free index of a numbered option family (unused0, unused1, …). */
export function freeIndex(config: PveConfig, prefix: string): number {
  let i = 0;
  while (config[`${prefix}${i}`] !== undefined) i++;
  return i;
}
