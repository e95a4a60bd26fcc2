// What a lab node's SSH sessions see at /etc/pve, as bind mounts in its sshd's own mount namespace (host/sshd.ts): kept
// apart from the sshd so the layout (etc-pve-view.ts) and the mounts that make it can be read and tested on their own.
import { mkdirSync } from "node:fs";
import { join } from "node:path";

/** A string as one shell word. */
const q = (p: string) => `'${p.replace(/'/g, "'\\''")}'`;

/**
 * A node's /etc/pve made of bind mounts, as pmxcfs shows a cluster's on each node: `dir` there, then each of `binds`
 * (a host directory over a directory of `dir`), then each of `aliases` (a path under /etc/pve shown again elsewhere
 * under it, its own mounts included: pmxcfs's symlinks, such as local → nodes/<node>). Paths under /etc/pve are relative.
 */
export interface EtcPveView {
  dir: string;
  binds?: { at: string; source: string }[];
  aliases?: { at: string; of: string }[];
}

/** The mount points a view needs, made on this machine's side: the binds' targets and sources, the aliases' targets. */
export function ensureEtcPveDirs(v: EtcPveView): void {
  mkdirSync(join(v.dir, "lxc"), { recursive: true });
  for (const b of v.binds ?? []) for (const d of [b.source, join(v.dir, b.at)]) mkdirSync(d, { recursive: true });
  for (const a of v.aliases ?? []) mkdirSync(join(v.dir, a.at), { recursive: true });
}

/**
 * The shell commands, in the sshd's mount namespace, that lay a view over /etc/pve (an empty directory there). /etc/pve
 * is made private before anything is mounted under it, and everything under it at the end: a state directory on a
 * shared mount would otherwise carry the view's mounts back to the host's side of it.
 */
export function etcPveMounts(v: EtcPveView): string[] {
  const at = (p: string) => q(`/etc/pve/${p}`);
  return [
    `mount --bind ${q(v.dir)} /etc/pve`,
    "mount --make-private /etc/pve",
    ...(v.binds ?? []).map((b) => `mount --bind ${q(b.source)} ${at(b.at)}`),
    ...(v.aliases ?? []).map((a) => `mount --rbind ${at(a.of)} ${at(a.at)}`),
    "mount --make-rprivate /etc/pve",
  ];
}
