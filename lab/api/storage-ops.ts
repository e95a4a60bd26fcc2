// Storage decisions Proxmox makes before a backend touches anything: does the storage exist and hold
// this content type, which name does a new volume get, where does a clone go.
import type { StorageInfo, VolumeInfo } from "../pve/backend";
import type { ApiContext } from "./context";
import { fail } from "./errors";
import type { TaskLog } from "../pve/tasks";
import { baseName, cloudInitName, linkedCloneName, newDiskName, parseVolid } from "../pve/volumes";
import { formatSize } from "../pve/pve-config";

const CONTENT_WORDS: Record<string, string> = {
  rootdir: "container directories",
  images: "VM images",
  vztmpl: "container templates",
  iso: "ISO images",
  import: "import",
  snippets: "snippets",
  backup: "backup",
};

export async function getStorage(ctx: ApiContext, id: string, content?: string): Promise<StorageInfo> {
  const storage = (await ctx.backend.listStorage()).find((s) => s.id === id);
  if (!storage) throw fail(`storage '${id}' does not exist`);
  if (content && !storage.content.includes(content))
    throw fail(`storage '${id}' does not support ${CONTENT_WORDS[content] ?? content}`);
  return storage;
}

export async function findVolume(ctx: ApiContext, volid: string): Promise<VolumeInfo | undefined> {
  const v = parseVolid(volid);
  if (!v) return undefined;
  const storage = (await ctx.backend.listStorage()).find((s) => s.id === v.storage);
  if (!storage) return undefined;
  return (await ctx.backend.listContent(storage.id)).find((c) => c.volid === volid);
}

async function existingNames(ctx: ApiContext, storage: string): Promise<string[]> {
  return (await ctx.backend.listContent(storage)).map((c) => parseVolid(c.volid)!.volname);
}

/** Allocates a new guest volume and returns its volid. */
export async function allocateVolume(
  ctx: ApiContext,
  storageId: string,
  vmid: number,
  content: "rootdir" | "images",
  bytes: number,
  log: TaskLog,
  format?: string,
): Promise<string> {
  const storage = await getStorage(ctx, storageId, content);
  const { volname, format: fmt } = newDiskName(storage.type, vmid, content, await existingNames(ctx, storageId), format);
  const volid = `${storageId}:${volname}`;
  await ctx.backend.createVolume({ volid, vmid, size: bytes, content, format: fmt }, log);
  log(`allocated volume ${volid} (${formatSize(bytes)})`);
  return volid;
}

export async function allocateCloudInit(ctx: ApiContext, storageId: string, vmid: number, log: TaskLog): Promise<string> {
  const storage = await getStorage(ctx, storageId, "images");
  const { volname, format } = cloudInitName(storage.type, vmid);
  const volid = `${storageId}:${volname}`;
  await ctx.backend.createVolume({ volid, vmid, size: 4 * 1024 * 1024, content: "images", format }, log);
  return volid;
}

/** Copies (full) or clones (linked, from a base volume) a guest volume for `vmid`; returns the new volid. */
export async function cloneVolume(
  ctx: ApiContext,
  source: string,
  vmid: number,
  content: "rootdir" | "images",
  opts: { linked: boolean; targetStorage?: string; snapshot?: string },
  log: TaskLog,
): Promise<string> {
  const src = parseVolid(source);
  if (!src) throw fail(`unable to parse volume ID '${source}'`);
  const storageId = opts.linked ? src.storage : (opts.targetStorage ?? src.storage);
  const storage = await getStorage(ctx, storageId, content);
  const { volname } = newDiskName(storage.type, vmid, content, await existingNames(ctx, storageId));
  const target = `${storageId}:${opts.linked ? linkedCloneName(storage.type, src.volname, volname) : volname}`;
  const from = opts.snapshot ? `${source}@${opts.snapshot}` : source;
  log(`${opts.linked ? "create linked clone of" : "create full clone of"} ${from} → ${target}`);
  await ctx.backend.cloneVolume(
    { source, target, vmid, linked: opts.linked, ...(opts.snapshot ? { snapshot: opts.snapshot } : {}) },
    log,
  );
  return target;
}

/** Converts a guest volume into a template base volume; returns the new volid. */
export async function makeBase(ctx: ApiContext, volid: string, log: TaskLog): Promise<string> {
  const v = parseVolid(volid)!;
  const storage = await getStorage(ctx, v.storage);
  const base = `${v.storage}:${baseName(storage.type, v.volname)}`;
  if (base !== volid) await ctx.backend.makeBaseVolume({ volid, base }, log);
  return base;
}

/** Whether a volume can be the source of a linked clone (a template's base volume on a storage that clones). */
export async function supportsLinkedClone(ctx: ApiContext, volid: string): Promise<boolean> {
  const v = parseVolid(volid);
  if (!v) return false;
  const storage = (await ctx.backend.listStorage()).find((s) => s.id === v.storage);
  if (!storage || !["zfspool", "zfs", "dir", "nfs", "cifs", "lvmthin", "rbd"].includes(storage.type)) return false;
  return (
    /(?:^|\/)(?:base|basevol)-\d+-disk-\d+(?:\.(raw|qcow2|vmdk|subvol))?$/.test(v.volname) &&
    !(storage.type === "dir" && v.volname.endsWith(".raw"))
  );
}
