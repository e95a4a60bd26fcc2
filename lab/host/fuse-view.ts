// zfs-fuse treats only host uid 0 as privileged: the root of an unprivileged container (host uid 100000) may not
// chown, chmod another's file or create in another's directory there, where kernel ZFS (a Proxmox node's) lets it do
// what its capabilities in its user namespace allow. Nor can zfs-fuse take an idmapped mount (mount_setattr answers
// EINVAL; measured). So an unprivileged container sees its zfs-fuse volumes through a bindfs view: the kernel checks
// permissions in the container's namespace (default_permissions) and bindfs, as host root, does what was allowed,
// creating files as their (shifted) caller. What is on the dataset is what Proxmox would have: ids shifted by the map.
import { existsSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { resolve } from "node:path";
import { run, waitFor } from "./run";

export const VIEW_PACKAGES = ["bindfs"];

interface MountEntry {
  target: string;
  fstype: string;
  source: string;
}

const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

function mounts(): MountEntry[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [left, right] = line.split(" - ") as [string, string];
      const [fstype, source] = right.split(" ");
      return { target: unescape(left.split(" ")[4]!), fstype: fstype!, source: unescape(source ?? "") };
    });
}

const within = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);

/** Whether a path lies on a zfs-fuse dataset (the mount holding it is of type fuse.zfs). */
export function onZfsFuse(path: string): boolean {
  const p = resolve(path);
  const holder = mounts()
    .filter((m) => within(p, m.target))
    .sort((a, b) => b.target.length - a.target.length)[0];
  return holder?.fstype === "fuse.zfs";
}

function viewAt(target: string): MountEntry | undefined {
  return mounts().find((m) => m.target === target && m.fstype === "fuse");
}

/**
 * Mounts `source` at `target` through bindfs, unless that view is there already. `shared`: others (the node, other
 * containers) change it too, so the kernel caches none of its attributes (FUSE keeps them 1 s by default), as a
 * bind mount of kernel ZFS shows a chown at once.
 */
export function mountView(source: string, target: string, o: { shared?: boolean } = {}): void {
  const current = viewAt(target);
  if (current?.source === source) return;
  if (current) unmountView(target);
  mkdirSync(target, { recursive: true });
  const options = ["allow_other", "default_permissions", "suid", ...(o.shared ? ["attr_timeout=0", "entry_timeout=0"] : [])];
  run("bindfs", ["-o", options.join(","), source, target]);
}

export function unmountView(target: string): void {
  if (!viewAt(target)) return;
  run("fusermount", ["-u", "-z", target], { allowFail: true });
  if (viewAt(target)) run("umount", ["-l", target], { allowFail: true });
  if (existsSync(target)) {
    try {
      rmdirSync(target);
    } catch {
      // a directory that still holds something is not ours to remove
    }
  }
}

/** Views mounted under a directory (a container's), deepest first. */
export function viewsUnder(dir: string): string[] {
  return mounts()
    .filter((m) => m.fstype === "fuse" && within(m.target, dir))
    .map((m) => m.target)
    .sort((a, b) => b.length - a.length);
}

/** Unmounts every view of `source` (or of a directory in it): a dataset is renamed or destroyed only without them. */
export async function releaseViewsOf(source: string): Promise<void> {
  const views = () => mounts().filter((m) => m.fstype === "fuse" && within(m.source, source));
  for (const v of views()) unmountView(v.target);
  await waitFor(`the views of ${source} to go`, () => views().length === 0, 10_000);
}
