// Device passthrough (devN) as Proxmox's prestart hook does it: a node made for the container with the host device's
// type and major:minor, its mode (default 0660) and owner (container ids mapped through the container's id map,
// default 0:0, so host 100000:100000 in an unprivileged container), bind-mounted in and allowed in the device cgroup.
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { type IdMapEntry, hostId } from "../pve/idmap";
import { run } from "./run";

export interface PassthroughDevice {
  /** The device inside the container (and on the host). */
  path: string;
  /** The node made for the container, bind-mounted at `path`. */
  node: string;
  type: "c" | "b";
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
  denyWrite: boolean;
}

/** Linux's dev_t encoding (glibc's gnu_dev_major/minor). */
export function majorMinor(rdev: number): { major: number; minor: number } {
  const big = BigInt(rdev);
  const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn));
  const minor = Number((big & 0xffn) | ((big >> 12n) & ~0xffn));
  return { major, minor };
}

/** The devices to pass through; those the host does not have are left out (the lab has no GPU). */
export function devicesOf(
  devices: { path: string; uid?: number; gid?: number; mode?: string; denyWrite?: boolean }[],
  dir: string,
  idMap: IdMapEntry[] | undefined,
): PassthroughDevice[] {
  const out: PassthroughDevice[] = [];
  for (const d of devices) {
    if (!existsSync(d.path)) continue;
    const st = statSync(d.path);
    if (!st.isCharacterDevice() && !st.isBlockDevice()) throw new Error(`Path '${d.path}' is not a device`);
    const uid = hostId(idMap, "u", d.uid ?? 0);
    const gid = hostId(idMap, "g", d.gid ?? 0);
    if (uid === undefined || gid === undefined)
      throw new Error(`device ${d.path}: uid ${d.uid ?? 0}/gid ${d.gid ?? 0} is not mapped by the container's id map`);
    out.push({
      path: d.path,
      node: join(dir, d.path),
      type: st.isCharacterDevice() ? "c" : "b",
      ...majorMinor(st.rdev),
      mode: parseInt(d.mode ?? "0660", 8),
      uid,
      gid,
      denyWrite: d.denyWrite === true,
    });
  }
  return out;
}

/** (Re)makes the nodes, as the prestart hook does at every start. */
export function makeDeviceNodes(devices: PassthroughDevice[]): void {
  for (const d of devices) {
    mkdirSync(dirname(d.node), { recursive: true });
    rmSync(d.node, { force: true });
    run("mknod", [d.node, d.type, String(d.major), String(d.minor)]);
    chmodSync(d.node, d.mode);
    chownSync(d.node, d.uid, d.gid);
  }
}
