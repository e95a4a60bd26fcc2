// Volume ids and the names Proxmox's storage plugins give guest volumes, pure.
//   zfspool  subvol-200-disk-0 (containers), vm-300-disk-0 (VMs), basevol-/base- once a template,
//            linked clones basevol-901-disk-0/subvol-200-disk-0
//   dir      200/vm-200-disk-0.raw, linked clones 901/base-901-disk-0.raw/200/vm-200-disk-0.qcow2
//   lvmthin  vm-200-disk-0, base-901-disk-0
export interface Volid {
  storage: string;
  volname: string;
}

export function parseVolid(volid: string): Volid | undefined {
  const m = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i.exec(volid);
  return m ? { storage: m[1]!, volname: m[2]! } : undefined;
}

/** The owner vmid encoded in a guest volume name (the last one for linked clones). */
export function volumeOwner(volname: string): number | undefined {
  const m = /(?:^|\/)(?:vm|subvol|base|basevol)-(\d+)-(?:disk-\d+|cloudinit|state-[^/]+)(?:\.[a-z0-9]+)?$/.exec(volname);
  return m ? Number(m[1]) : undefined;
}

export function isBaseVolume(volname: string): boolean {
  return /(?:^|\/)(?:base|basevol)-\d+-disk-\d+(?:\.[a-z0-9]+)?$/.test(volname);
}

function lastName(volname: string): string {
  return volname.split("/").pop()!;
}

/** A new disk name for `vmid` on a storage, the first free index among `existing` volnames. */
export function newDiskName(
  storageType: string,
  vmid: number,
  content: "rootdir" | "images",
  existing: string[],
  format?: string,
): { volname: string; format: string } {
  const used = new Set(
    existing
      .map(lastName)
      .map((n) => n.replace(/\.[a-z0-9]+$/, ""))
      .map((n) => n.replace(/^(subvol|basevol|base)-/, "vm-")),
  );
  let i = 0;
  while (used.has(`vm-${vmid}-disk-${i}`)) i++;
  switch (storageType) {
    case "zfspool":
    case "zfs":
      return content === "rootdir"
        ? { volname: `subvol-${vmid}-disk-${i}`, format: "subvol" }
        : { volname: `vm-${vmid}-disk-${i}`, format: "raw" };
    case "dir":
    case "nfs":
    case "cifs": {
      const fmt = format ?? (content === "rootdir" ? "raw" : "qcow2");
      return { volname: `${vmid}/vm-${vmid}-disk-${i}.${fmt}`, format: fmt };
    }
    default:
      return { volname: `vm-${vmid}-disk-${i}`, format: "raw" };
  }
}

export function cloudInitName(storageType: string, vmid: number): { volname: string; format: string } {
  return storageType === "dir" || storageType === "nfs" || storageType === "cifs"
    ? { volname: `${vmid}/vm-${vmid}-cloudinit.qcow2`, format: "qcow2" }
    : { volname: `vm-${vmid}-cloudinit`, format: "raw" };
}

/** The name a volume gets when its guest becomes a template. */
export function baseName(storageType: string, volname: string): string {
  const last = lastName(volname);
  const renamed = last.replace(/^subvol-/, "basevol-").replace(/^vm-/, "base-");
  if (storageType === "dir" || storageType === "nfs" || storageType === "cifs") return volname.replace(/[^/]+$/, renamed);
  return renamed;
}

/** The name of a linked clone of base volume `base` for the new guest's volume `name`. */
export function linkedCloneName(storageType: string, base: string, name: string): string {
  if (
    storageType === "zfspool" ||
    storageType === "zfs" ||
    storageType === "dir" ||
    storageType === "nfs" ||
    storageType === "cifs"
  )
    return `${base}/${name}`;
  return name;
}

/** A mount point or rootfs `volume` value that asks for a new volume: `storage:size-in-GiB`. */
export function parseNewVolumeSpec(volume: string): { storage: string; bytes: number } | undefined {
  const m = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(\d+(?:\.\d+)?)$/i.exec(volume);
  return m ? { storage: m[1]!, bytes: Math.round(Number(m[2]) * 1024 ** 3) } : undefined;
}
