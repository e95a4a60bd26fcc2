// A nesting container's Docker directory taken along with its rootfs snapshots: on Proxmox /var/lib/docker is part of
// the rootfs, so a snapshot holds Docker's containers and images and a rollback puts them back with the files they use;
// the lab keeps that directory on the host's disk (zfs-fuse has no storage driver Docker can use), so it copies it.
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import type { TaskLog } from "../pve/tasks";
import { run } from "../host/run";

/** Where the copies live: `copyOf(snap)` is the directory of Docker's data as it was at snapshot `snap`. */
export interface DockerSnapshots {
  live: string;
  copyOf(snap: string): string;
}

/** Copies Docker's directory for `snap` (once: a container's several volumes share it), when the container has one. */
export function snapshotDocker(d: DockerSnapshots, snap: string, log: TaskLog): void {
  const copy = d.copyOf(snap);
  if (!existsSync(d.live) || existsSync(copy)) return;
  mkdirSync(dirname(copy), { recursive: true, mode: 0o700 });
  const t0 = Date.now();
  run("cp", ["-a", "--reflink=auto", d.live, copy]);
  log(`copied the lab's Docker directory of the container for snapshot '${snap}' (${Date.now() - t0} ms)`);
}

/** Puts Docker's directory back as it was at `snap` (the container is stopped), when a copy was taken. */
export function rollbackDocker(d: DockerSnapshots, snap: string, log: TaskLog): void {
  const copy = d.copyOf(snap);
  if (!existsSync(copy)) return;
  rmSync(d.live, { recursive: true, force: true });
  run("cp", ["-a", "--reflink=auto", copy, d.live]);
  log(`put the lab's Docker directory of the container back as it was at snapshot '${snap}'`);
}

export function deleteDockerSnapshot(d: DockerSnapshots, snap: string): void {
  rmSync(d.copyOf(snap), { recursive: true, force: true });
}
