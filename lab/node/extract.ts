// A container's template extracted into its fresh rootfs as Proxmox's PVE::LXC::Create does: for an unprivileged
// container the volume is first owned by the mapped root, then tar runs in the container's user namespace
// (lxc-usernsexec), so a file of uid 33 in the archive is host uid 100033; ./dev is left out. On zfs-fuse that tar
// writes through the rootfs's view (host/fuse-view.ts): zfs-fuse itself refuses the chowns of a root it maps.
import { chownSync } from "node:fs";
import { type IdMapEntry, usernsexecArgs } from "../pve/idmap";
import { rootOwner } from "../host/lxc";
import { mountView, onZfsFuse, unmountView } from "../host/fuse-view";
import { runAsync } from "../host/run";

/** tar's flags for the template's compression (in a user namespace it reads the archive from stdin). */
function decompressFlags(archive: string): string[] {
  return archive.endsWith(".zst") ? ["--zstd"] : archive.endsWith(".xz") ? ["-J"] : archive.endsWith(".gz") ? ["-z"] : [];
}

/** `view`: where the rootfs is seen from while extracting (its view when on zfs-fuse). */
export async function extractTemplate(o: { archive: string; rootfs: string; idMap?: IdMapEntry[]; view: string }): Promise<void> {
  const timeoutMs = 20 * 60_000;
  if (!o.idMap) {
    await runAsync("tar", [...decompressFlags(o.archive), "-xpf", o.archive, "-C", o.rootfs, "--numeric-owner"], { timeoutMs });
    return;
  }
  const owner = rootOwner({ idMap: o.idMap });
  chownSync(o.rootfs, owner.uid, owner.gid);
  const view = onZfsFuse(o.rootfs) ? o.view : o.rootfs;
  if (view !== o.rootfs) mountView(o.rootfs, view);
  try {
    const tar = ["tar", "-xpf", "-", ...decompressFlags(o.archive), "--numeric-owner", "--sparse", "--skip-old-files"];
    await runAsync(
      "sh",
      [
        "-c",
        'archive="$1"; shift; exec "$@" < "$archive"',
        "extract",
        o.archive,
        "lxc-usernsexec",
        ...usernsexecArgs(o.idMap),
        "--",
        ...tar,
        "--anchored",
        "--exclude",
        "./dev/*",
        "-C",
        view,
      ],
      { timeoutMs },
    );
  } finally {
    if (view !== o.rootfs) unmountView(view);
  }
}
