// /storage (the datacenter's storage configuration) and /nodes/{node}/storage: the datastore list and status, content listing, volume info and deletion,
// and download-url (a worker task that fetches a template or ISO onto a storage).
import { createHash } from "node:crypto";
import type { StorageInfo } from "../../pve/backend";
import { type ApiContext, requireNode } from "../context";
import { fail } from "../errors";
import { NODE } from "../../pve/lxc-schema";
import { splitList } from "../../pve/pve-config";
import type { Route } from "../router";
import { getStorage } from "../storage-ops";
import { parseVolid } from "../../pve/volumes";

const STORAGE = { type: "string", format: "pve-storage-id" } as const;
const bool = { type: "boolean", optional: true } as const;

const DOWNLOAD_DIRS: Record<string, string> = { vztmpl: "template/cache", iso: "template/iso", import: "import" };
const DOWNLOAD_NAMES: Record<string, RegExp> = {
  vztmpl: /^[^/\s]+\.tar\.(gz|xz|zst|bz2)$|^[^/\s]+\.tgz$/,
  iso: /^[^/\s]+\.(iso|img)$/i,
  import: /^[^/\s]+\.(ova|qcow2|raw|vmdk)$/i,
};

function storageJson(s: StorageInfo) {
  return {
    storage: s.id,
    type: s.type,
    content: s.content.join(","),
    active: 1,
    enabled: 1,
    shared: s.shared ? 1 : 0,
    total: s.total,
    used: s.used,
    avail: s.avail,
    used_fraction: s.total ? s.used / s.total : 0,
  };
}

/** The volid a {volume} path parameter names: a full volid of this storage, or a volname on it. */
function volidOf(storage: string, volume: string): string {
  const v = parseVolid(volume);
  if (v) {
    if (v.storage !== storage) throw fail(`volume '${volume}' is not on storage '${storage}'`);
    return volume;
  }
  return `${storage}:${volume}`;
}

export function storageRoutes(ctx: ApiContext): Route[] {
  const base = { node: NODE, storage: STORAGE };
  return [
    {
      method: "GET",
      path: "/storage",
      schema: {
        type: {
          type: "string",
          enum: [
            "btrfs",
            "cephfs",
            "cifs",
            "dir",
            "esxi",
            "iscsi",
            "iscsidirect",
            "lvm",
            "lvmthin",
            "nfs",
            "pbs",
            "rbd",
            "zfs",
            "zfspool",
          ],
          optional: true,
        },
      },
      // storage.cfg's sections, as the datacenter's storage list shows them
      handler: async (r) => {
        const all = await ctx.backend.listStorage();
        // one digest of the whole storage.cfg, on every entry
        const digest = createHash("sha1")
          .update(JSON.stringify(all.map((s) => [s.id, s.type, s.content, s.path, s.pool])))
          .digest("hex");
        return all
          .filter((s) => !r.params.type || s.type === r.params.type)
          .map((s) => ({
            storage: s.id,
            type: s.type,
            content: [...s.content].sort().join(","),
            ...(s.path ? { path: s.path } : {}),
            ...(s.pool ? { pool: s.pool } : {}),
            ...(s.shared ? { shared: 1 } : {}),
            digest,
          }));
      },
    },
    {
      method: "GET",
      path: "/nodes/{node}/storage",
      schema: {
        node: NODE,
        content: { type: "string", optional: true },
        enabled: bool,
        format: bool,
        storage: { ...STORAGE, optional: true },
        target: { type: "string", format: "pve-node", optional: true },
      },
      handler: async (r) => {
        requireNode(ctx, r.params.node!);
        const want = splitList(r.params.content);
        return (await ctx.backend.listStorage())
          .filter((s) => !r.params.storage || s.id === r.params.storage)
          .filter((s) => want.every((c) => s.content.includes(c)))
          .map(storageJson);
      },
    },
    {
      method: "GET",
      path: "/nodes/{node}/storage/{storage}",
      schema: base,
      handler: async (r) => {
        requireNode(ctx, r.params.node!);
        await getStorage(ctx, r.params.storage!);
        return ["content", "download-url", "status", "upload"].map((subdir) => ({ subdir }));
      },
    },
    {
      method: "GET",
      path: "/nodes/{node}/storage/{storage}/status",
      schema: base,
      handler: async (r) => {
        requireNode(ctx, r.params.node!);
        const { storage: _id, used_fraction: _f, ...rest } = storageJson(await getStorage(ctx, r.params.storage!));
        return rest;
      },
    },
    {
      method: "GET",
      path: "/nodes/{node}/storage/{storage}/content",
      schema: {
        ...base,
        content: { type: "string", optional: true },
        vmid: { type: "integer", minimum: 100, maximum: 999999999, optional: true },
      },
      handler: async (r) => {
        requireNode(ctx, r.params.node!);
        await getStorage(ctx, r.params.storage!);
        return (await ctx.backend.listContent(r.params.storage!))
          .filter((v) => !r.params.content || v.content === r.params.content)
          .filter((v) => !r.params.vmid || v.vmid === Number(r.params.vmid))
          .map((v) => ({
            volid: v.volid,
            content: v.content,
            format: v.format,
            size: v.size,
            ...(v.used !== undefined ? { used: v.used } : {}),
            ...(v.vmid !== undefined ? { vmid: v.vmid } : {}),
            ...(v.parent ? { parent: v.parent } : {}),
            ...(v.ctime ? { ctime: v.ctime } : {}),
            ...(v.subtype ? { subtype: v.subtype } : {}),
            ...(v.notes ? { notes: v.notes.split("\n")[0] } : {}),
            ...(v.protected ? { protected: 1 } : {}),
          }))
          .sort((a, b) => a.volid.toLowerCase().localeCompare(b.volid.toLowerCase()));
      },
    },
    {
      method: "GET",
      path: "/nodes/{node}/storage/{storage}/content/{volume}",
      schema: { ...base, volume: { type: "string" } },
      handler: async (r) => {
        requireNode(ctx, r.params.node!);
        const s = await getStorage(ctx, r.params.storage!);
        const volid = volidOf(s.id, r.params.volume!);
        const v = (await ctx.backend.listContent(s.id)).find((c) => c.volid === volid);
        if (!v) throw fail(`volume '${volid}' does not exist`);
        const volname = parseVolid(volid)!.volname;
        const path = s.path
          ? `${s.path}/${volname
              .replace(/^vztmpl\//, "template/cache/")
              .replace(/^iso\//, "template/iso/")
              .replace(/^backup\//, "dump/")}`
          : s.pool
            ? `/dev/zvol/${s.pool}/${volname}`
            : `/dev/${s.id}/${volname}`;
        return {
          path,
          size: v.size,
          used: v.used ?? v.size,
          format: v.format,
          ...(v.content === "backup" ? { protected: v.protected ? 1 : 0, ...(v.notes ? { notes: v.notes } : {}) } : {}),
        };
      },
    },
    {
      method: "PUT",
      path: "/nodes/{node}/storage/{storage}/content/{volume}",
      schema: { ...base, volume: { type: "string" }, notes: { type: "string", optional: true }, protected: bool },
      handler: async (r) => {
        requireNode(ctx, r.params.node!);
        const s = await getStorage(ctx, r.params.storage!);
        const volid = volidOf(s.id, r.params.volume!);
        const v = (await ctx.backend.listContent(s.id)).find((c) => c.volid === volid);
        if (!v) throw fail(`volume '${volid}' does not exist`);
        if (v.content !== "backup") {
          if (r.params.notes !== undefined) throw fail("only backups can have notes");
          if (r.params.protected !== undefined) throw fail("only backups support attribute 'protected'");
        }
        await ctx.backend.setBackupAttributes(volid, {
          ...(r.params.notes !== undefined ? { notes: r.params.notes } : {}),
          ...(r.params.protected !== undefined ? { protected: r.params.protected === "1" } : {}),
        });
        return null;
      },
    },
    {
      method: "DELETE",
      path: "/nodes/{node}/storage/{storage}/content/{volume}",
      schema: { ...base, volume: { type: "string" }, delay: { type: "integer", minimum: 1, maximum: 30, optional: true } },
      handler: async (r) => {
        requireNode(ctx, r.params.node!);
        const s = await getStorage(ctx, r.params.storage!);
        const volid = volidOf(s.id, r.params.volume!);
        if (!(await ctx.backend.listContent(s.id)).some((c) => c.volid === volid)) throw fail(`volume '${volid}' does not exist`);
        const v = (await ctx.backend.listContent(s.id)).find((c) => c.volid === volid)!;
        const work = async (log: (line: string) => void) => {
          if (v.protected) throw new Error(`cannot remove protected volume '${parseVolid(volid)!.volname}' on '${s.id}'`);
          log(`removing ${volid}`);
          await ctx.backend.deleteContent(volid);
        };
        if (r.params.delay !== undefined) {
          // with a delay Proxmox waits that long for the worker and answers null once it is done
          await work(() => {});
          return null;
        }
        return ctx.tasks.start("imgdel", "", r.identity.authid, work);
      },
    },
    {
      method: "POST",
      path: "/nodes/{node}/storage/{storage}/download-url",
      schema: {
        ...base,
        content: { type: "string", enum: ["iso", "vztmpl", "import"] },
        filename: { type: "string", pattern: "[-\\w\\d_.+]+" },
        url: { type: "string", pattern: "https?://.*" },
        checksum: { type: "string", optional: true },
        "checksum-algorithm": { type: "string", enum: ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"], optional: true },
        compression: { type: "string", enum: ["zst", "gz", "lzo", "bz2", "xz"], optional: true },
        "verify-certificates": bool,
      },
      handler: async (r) => {
        const p = r.params;
        requireNode(ctx, p.node!);
        const s = await getStorage(ctx, p.storage!);
        if (!s.path) throw fail(`can't upload to storage type '${s.type}'`);
        if (!s.content.includes(p.content!)) throw fail(`storage '${s.id}' is not configured for content-type '${p.content}'`);
        if (!DOWNLOAD_NAMES[p.content!]!.test(p.filename!))
          throw fail(`wrong file extension for content type '${p.content}': ${p.filename}`);
        if (!!p.checksum !== !!p["checksum-algorithm"]) throw fail(`'checksum' and 'checksum-algorithm' must be given together`);
        const volid = `${s.id}:${p.content}/${p.filename}`;
        if ((await ctx.backend.listContent(s.id)).some((c) => c.volid === volid))
          throw fail(`refusing to override existing file '${s.path}/${DOWNLOAD_DIRS[p.content!]}/${p.filename}'`);
        return ctx.tasks.start("download", p.filename!, r.identity.authid, (log) =>
          ctx.backend.downloadUrl(
            {
              storage: s.id,
              content: p.content!,
              filename: p.filename!,
              url: p.url!,
              ...(p.checksum ? { checksum: p.checksum, checksumAlgorithm: p["checksum-algorithm"]! } : {}),
              ...(p.compression ? { compression: p.compression } : {}),
              verifyCertificates: p["verify-certificates"] !== "0",
            },
            log,
          ),
        );
      },
    },
  ];
}
