// zfs-fuse treats only host uid 0 as privileged: the root of an unprivileged container (host uid 100000) may not
// chown, chmod another's file or create in another's directory there, where kernel ZFS (a Proxmox node's) lets it do
// what its capabilities in its user namespace allow. Nor can zfs-fuse take an idmapped mount (mount_setattr answers
// EINVAL; measured). So an unprivileged container sees its zfs-fuse volumes through a bindfs view: the kernel checks
// permissions in the container's namespace (default_permissions) and bindfs, as host root, does what was allowed,
// creating files as their (shifted) caller. What is on the dataset is what Proxmox would have: ids shifted by the map.
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync } from "node:fs";
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
 * bind mount of kernel ZFS shows a chown at once. `big_writes` lets the kernel pass writes larger than 4 KiB: without
 * it a 200 MiB write through the view took 4.1 s where it takes 1.2 s with it (measured on the lab's zfs-fuse).
 */
export function mountView(source: string, target: string, o: { shared?: boolean } = {}): void {
  const current = viewAt(target);
  if (current?.source === source) return;
  if (current) unmountView(target);
  mkdirSync(target, { recursive: true });
  const options = [
    "allow_other",
    "default_permissions",
    "suid",
    "big_writes",
    ...(o.shared ? ["attr_timeout=0", "entry_timeout=0"] : []),
  ];
  run("bindfs", ["-o", options.join(","), source, target]);
}

/** The bindfs processes serving a view (their last argument is its mountpoint). */
function viewDaemons(target: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
      if (argv[0]?.endsWith("bindfs") && argv.at(-1) === target) out.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Processes whose root or working directory lies in a view or its source (what keeps a dataset busy). */
function holders(paths: string[]): string[] {
  const out: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const where = ["cwd", "root"].map((l) => readlinkSync(`/proc/${pid}/${l}`));
      if (where.some((w) => paths.some((p) => within(w, p))))
        out.push(`${pid} ${readFileSync(`/proc/${pid}/comm`, "utf8").trim()} (${where.join(", ")})`);
    } catch {
      // gone, or a kernel thread
    }
  }
  return out;
}

/**
 * Unmounts a view and waits for its bindfs to exit: a lazily unmounted view still in use somewhere keeps its daemon,
 * and so its dataset, busy. After 10 s the daemon is ended (what used the view is a stopped container's) and what
 * held it is said on stderr.
 */
export function unmountView(target: string): void {
  if (!viewAt(target)) return;
  const daemons = viewDaemons(target);
  run("fusermount", ["-u", "-z", target], { allowFail: true });
  if (viewAt(target)) run("umount", ["-l", target], { allowFail: true });
  const end = Date.now() + 10_000;
  let alive = daemons;
  while ((alive = alive.filter((p) => existsSync(`/proc/${p}`))).length > 0 && Date.now() < end) run("sleep", ["0.2"]);
  if (alive.length > 0) {
    process.stderr.write(
      `view ${target}: bindfs ${alive.join(", ")} still serving it; held by: ${holders([target]).join("; ") || "no cwd/root"}\n`,
    );
    for (const p of alive) run("kill", [String(p)], { allowFail: true });
  }
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
