// Real ZFS for the lab: Debian's zfs-fuse daemon, pools on sparse files under the lab's state directory.
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ok, run, waitFor } from "./run";

export function zfsReady(): boolean {
  return ok("zpool", ["list", "-H"]);
}

/** The machine's zfs-fuse processes: there must never be two (a second one takes the first one's socket). */
function zfsFusePids(): string[] {
  return run("pgrep", ["-x", "zfs-fuse"], { allowFail: true }).stdout.split("\n").filter(Boolean);
}

/**
 * Starts zfs-fuse unless a ZFS daemon already answers. A daemon that runs but does not answer yet (starting, or slow
 * on a loaded machine) is waited for, never doubled.
 */
export async function ensureZfsDaemon(stateDir: string): Promise<void> {
  if (zfsReady()) return;
  if (zfsFusePids().length > 0) {
    await waitFor("the running zfs-fuse daemon to answer", () => zfsReady() || zfsFusePids().length === 0, 60_000, 1000);
    if (zfsReady()) return;
  }
  mkdirSync(stateDir, { recursive: true });
  // zfs-fuse will not start over a pid file left by a daemon that is gone.
  const pidFile = join(stateDir, "zfs-fuse.pid");
  if (existsSync(pidFile) && !ok("kill", ["-0", readFileSync(pidFile, "utf8").trim() || "0"])) rmSync(pidFile);
  // A daemon that is still exiting (zfs-fuse takes seconds) makes a new one fail to start: retry.
  let last = "";
  await waitFor(
    "the zfs-fuse daemon",
    () => {
      if (zfsReady()) return true;
      if (zfsFusePids().length > 0) return false; // one is starting: wait for it
      const r = run("zfs-fuse", ["--pidfile", join(stateDir, "zfs-fuse.pid")], { allowFail: true });
      last = r.stderr || r.stdout;
      return false;
    },
    30_000,
    1000,
  ).catch((e: Error) => {
    throw new Error(`${e.message}${last ? `: ${last.trim()}` : ""}`);
  });
}

/** Stops the machine's zfs-fuse (started by this lab or, once its lab was gone, by another). */
export async function stopZfsDaemon(stateDir: string): Promise<void> {
  const pidFile = join(stateDir, "zfs-fuse.pid");
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : Number(zfsFusePids()[0]);
  if (!Number.isInteger(pid)) return;
  run("kill", [String(pid)], { allowFail: true });
  // zfs-fuse takes a few seconds to flush and exit.
  await waitFor("zfs-fuse to exit", () => !ok("kill", ["-0", String(pid)]), 30_000);
  rmSync(pidFile, { force: true });
}

export function poolExists(pool: string): boolean {
  return ok("zpool", ["list", "-H", pool]);
}

/** A pool on a sparse file; mounted at /<pool> like a Proxmox host's, its mounts shared (shareMounts). */
export function ensurePool(pool: string, dir: string, sizeBytes: number): void {
  if (!poolExists(pool)) {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${pool}.img`);
    if (!existsSync(file)) run("truncate", ["-s", String(sizeBytes), file]);
    run("zpool", ["create", "-f", pool, file]);
  }
  shareMounts(pool);
}

/**
 * Makes the pool's mounts shared, as systemd makes every mount on a Proxmox host: the node's sshd namespace keeps them
 * as peers (its sessions' mounts and unmounts reach the host), vzdump's archive namespaces as slaves (they lose a
 * dataset's mount when the host unmounts it). A private copy (this machine's mounts are private) keeps zfs-fuse's
 * mount alive and the dataset "busy" until its namespace ends; datasets mounted later under the pool's mount are
 * shared too.
 */
export function shareMounts(pool: string): void {
  const mountpoint = run("zfs", ["get", "-H", "-o", "value", "mountpoint", pool], { allowFail: true }).stdout.trim();
  if (mountpoint.startsWith("/")) run("mount", ["--make-rshared", mountpoint], { allowFail: true });
}

/** zfs-fuse often calls a just-used dataset busy: unmount by force, then retry. */
export async function destroyDataset(name: string, opts: { recursive?: boolean; timeoutMs?: number } = {}): Promise<void> {
  if (!ok("zfs", ["list", "-H", name])) return;
  let last = "";
  await waitFor(
    `zfs destroy ${name}`,
    () => {
      run("zfs", ["unmount", "-f", name], { allowFail: true });
      const r = run("zfs", ["destroy", ...(opts.recursive ? ["-r"] : []), name], { allowFail: true });
      last = r.stderr.trim();
      return r.code === 0 || !ok("zfs", ["list", "-H", name]);
    },
    opts.timeoutMs ?? 30_000,
    500,
  ).catch((e: Error) => {
    throw new Error(`${e.message}: ${last}`);
  });
}

/** zfs-fuse calls a dataset busy for a while after its container stopped: unmount by force, then retry. */
export async function renameDataset(from: string, to: string): Promise<void> {
  let last = "";
  await waitFor(
    `zfs rename ${from} ${to}`,
    () => {
      run("zfs", ["unmount", "-f", from], { allowFail: true });
      const r = run("zfs", ["rename", from, to], { allowFail: true });
      last = r.stderr.trim();
      return r.code === 0;
    },
    30_000,
    500,
  ).catch((e: Error) => {
    throw new Error(`${e.message}: ${last}`);
  });
  run("zfs", ["mount", to], { allowFail: true });
}

export async function destroyPool(pool: string): Promise<void> {
  if (!poolExists(pool)) return;
  await waitFor(`zpool destroy ${pool}`, () => ok("zpool", ["destroy", "-f", pool]) || !poolExists(pool), 30_000, 500);
}

export function listDatasets(pool: string): string[] {
  const r = run("zfs", ["list", "-H", "-o", "name", "-r", "-t", "filesystem,snapshot", pool], { allowFail: true });
  return r.code === 0 ? r.stdout.split("\n").filter(Boolean) : [];
}

/** Snapshots of one dataset (not its children), oldest first, by their short names. */
export function listSnapshots(dataset: string): string[] {
  const r = run("zfs", ["list", "-H", "-t", "snapshot", "-o", "name", "-s", "creation", "-r", dataset], { allowFail: true });
  return r.code === 0
    ? r.stdout
        .split("\n")
        .filter((n) => n.startsWith(`${dataset}@`))
        .map((n) => n.slice(dataset.length + 1))
    : [];
}

/** zfs-fuse calls a snapshot busy for a while after a clone of it went away: retry (up to two minutes). */
export async function destroySnapshot(dataset: string, snap: string, timeoutMs = 120_000): Promise<void> {
  if (!listSnapshots(dataset).includes(snap)) return;
  let last = "";
  await waitFor(
    `zfs destroy ${dataset}@${snap}`,
    () => {
      const r = run("zfs", ["destroy", `${dataset}@${snap}`], { allowFail: true });
      last = r.stderr.trim();
      return r.code === 0 || !listSnapshots(dataset).includes(snap);
    },
    timeoutMs,
    1000,
  ).catch((e: Error) => {
    throw new Error(`${e.message}: ${last}`);
  });
}
