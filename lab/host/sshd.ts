// The lab node's own sshd on loopback: what provisioners and `pct` reach, like a Proxmox node's sshd.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type EtcPveView, ensureEtcPveDirs, etcPveMounts } from "./etc-pve-mounts";
import { livePid, ok, run, waitFor } from "./run";

export interface NodeSshd {
  port: number;
  dir: string;
  /**
   * The lab this sshd is the node of. Its sessions then see that lab's configs at /etc/pve (a bind mount in the
   * sshd's own mount namespace) and run its `pct` (PHOENIX_LAB_DIR), so labs side by side never see each other's.
   */
  labDir?: string;
  /**
   * With labDir: files the node's sessions see in /usr/local/sbin besides the host's (an overlay in the sshd's
   * mount namespace), e.g. the lab's own `pct`: another lab's `down` cannot take it away from them.
   */
  sbin?: Record<string, string>;
  /** With labDir: directories of the node its sessions see as this lab's own (target → source), e.g. /etc/dnsmasq.d. */
  binds?: Record<string, string>;
  /** With labDir: what its sessions see at /etc/pve (default: `<labDir>/pve` alone). */
  etcPve?: EtcPveView;
  /** With labDir: the lab node its sessions are on (PHOENIX_LAB_NODE, which the lab's `pct` acts on); the first by default. */
  node?: string;
}

export function keygen(file: string, comment: string): void {
  if (existsSync(file)) return;
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
}

/** root's default PATH in SSH sessions, as on a Proxmox node. */
const SESSION_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function sshdConfig(o: NodeSshd): string {
  return [
    `Port ${o.port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${join(o.dir, "host_ed25519")}`,
    `PidFile ${join(o.dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${join(o.dir, "authorized_keys")}`,
    "UsePAM no",
    "StrictModes no",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    "PrintMotd no",
    // Its own pct first on PATH: /usr/local/sbin/pct is shared by every lab on the machine (the last one up wrote it).
    ...(o.labDir
      ? [
          `SetEnv PHOENIX_LAB_DIR=${o.labDir} PATH=${join(o.labDir, "bin")}:${SESSION_PATH}${o.node ? ` PHOENIX_LAB_NODE=${o.node}` : ""}`,
        ]
      : []),
    "",
  ].join("\n");
}

const pidOf = (dir: string) => livePid(join(dir, "sshd.pid"));

/** Starts (or keeps) the node's sshd; returns the client private key allowed to log in as root. */
export async function ensureNodeSshd(o: NodeSshd): Promise<{ clientKey: string; hostKey: string }> {
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  keygen(join(o.dir, "host_ed25519"), "phoenix-lab-node");
  keygen(join(o.dir, "client_ed25519"), "phoenix-lab-client");
  writeFileSync(join(o.dir, "authorized_keys"), readFileSync(join(o.dir, "client_ed25519.pub")));
  writeFileSync(join(o.dir, "sshd_config"), sshdConfig(o));
  mkdirSync("/run/sshd", { recursive: true });
  if (pidOf(o.dir) === undefined) {
    const sshd = ["/usr/sbin/sshd", "-f", join(o.dir, "sshd_config"), "-E", join(o.dir, "sshd.log")];
    if (o.labDir) {
      const pve = o.etcPve ?? { dir: join(o.labDir, "pve") };
      ensureEtcPveDirs(pve);
      // A mount namespace of its own for the daemon and every session it forks: /etc/pve and the pct in
      // /usr/local/sbin are this lab's. The pools' mounts stay peers of the host's (host/zfs.ts shareMounts: propagation
      // unchanged), so a dataset a session mounts or unmounts (`zfs create`, `zfs destroy`) is mounted or unmounted on
      // the host too, as on a Proxmox node whose sshd shares the host's mounts (a slave copy kept the host's mount and
      // zfs-fuse called the dataset busy for ever). The mounts holding /etc/pve and /usr/local/sbin are made private
      // first, so the lab's own mounts reach nothing outside, whatever this machine's propagation is.
      const upper = join(o.dir, "sbin");
      const work = join(o.dir, "sbin-work");
      rmSync(work, { recursive: true, force: true });
      for (const d of [upper, work]) mkdirSync(d, { recursive: true });
      for (const [name, text] of Object.entries(o.sbin ?? {})) writeFileSync(join(upper, name), text, { mode: 0o755 });
      const binds = Object.entries(o.binds ?? {});
      const q = (p: string) => `'${p.replace(/'/g, "'\\''")}'`;
      const inNamespace = [
        `for p in /etc/pve /usr/local/sbin${binds.map(([t]) => ` ${q(t)}`).join("")}; do mount --make-private "$(findmnt -no TARGET -T "$p")" || exit 1; done`,
        ...etcPveMounts(pve),
        'mount -t overlay overlay -o "lowerdir=/usr/local/sbin,upperdir=$0,workdir=$1" /usr/local/sbin',
        ...binds.map(([target, source]) => `mount --bind ${q(source)} ${q(target)}`),
        'shift && exec "$@"',
      ].join(" && ");
      run("unshare", ["--mount", "--propagation", "unchanged", "--", "/bin/sh", "-c", inNamespace, upper, work, ...sshd]);
    } else run(sshd[0]!, sshd.slice(1));
    await waitFor(`sshd on 127.0.0.1:${o.port}`, () => pidOf(o.dir) !== undefined, 15_000);
  }
  return {
    clientKey: readFileSync(join(o.dir, "client_ed25519"), "utf8"),
    hostKey: readFileSync(join(o.dir, "host_ed25519.pub"), "utf8").trim(),
  };
}

export async function stopNodeSshd(dir: string): Promise<void> {
  const pid = pidOf(dir);
  if (pid === undefined) return;
  run("kill", [String(pid)], { allowFail: true });
  await waitFor("sshd to exit", () => !ok("kill", ["-0", String(pid)]), 10_000);
  rmSync(join(dir, "sshd.pid"), { force: true });
}
