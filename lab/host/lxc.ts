// Real LXC containers for the lab (Debian's lxc), with their rootfs on a ZFS dataset; unprivileged ones run in a
// user namespace with Proxmox's id map, their zfs-fuse volumes seen through a view (fuse-view.ts).
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { type IdMapEntry, hostId, printIdMapEntry } from "../pve/idmap";
import { aptProxyConf } from "./apt-proxy";
import { type PassthroughDevice, devicesOf, makeDeviceNodes } from "./passthrough";
import { mountView, onZfsFuse, unmountView, viewsUnder } from "./fuse-view";
import { ok, run, waitFor } from "./run";

export interface NetSpec {
  name: string;
  bridge: string;
  hwaddr: string;
  /** CIDR, or "dhcp" (no address is configured then). */
  ip?: string;
  gw?: string;
}

export interface MountSpec {
  source: string;
  /** Path inside the container. */
  path: string;
  readOnly?: boolean;
}

/** A devN entry: a host device node passed through, made for the container with these container-side ids and mode. */
export interface DeviceSpec {
  path: string;
  uid?: number;
  gid?: number;
  /** Octal, Proxmox's default 0660. */
  mode?: string;
  denyWrite?: boolean;
}

export interface ContainerSpec {
  vmid: number;
  hostname: string;
  /** Directory the rootfs lives in (the mountpoint of its ZFS dataset). */
  rootfs: string;
  memoryMiB?: number;
  cores?: number;
  nets: NetSpec[];
  nameservers?: string[];
  searchDomain?: string;
  mounts?: MountSpec[];
  /** Device nodes passed through (made for the container when present on the host). */
  devices?: DeviceSpec[];
  nesting?: boolean;
  /** The id map of an unprivileged container (lxc.idmap); a privileged one has none and runs with the host's ids. */
  idMap?: IdMapEntry[];
  /** features: keyctl=1. Without it an unprivileged container's keyctl() fails with ENOSYS, as on Proxmox. */
  keyctl?: boolean;
  /** Raw lxc.* lines from the guest's config. */
  rawLxc?: string[];
  /** The lab's apt proxy URL, written into the guest's apt configuration. */
  aptProxy?: string;
  /**
   * A host directory mounted at /var/lib/docker. Docker's storage drivers cannot work on zfs-fuse (a real Proxmox
   * node's ZFS 2.2 takes overlay2), so the lab gives nesting containers this directory on the host's own disk.
   */
  dockerDir?: string;
}

/** What the container's config points at on the host besides the spec: views of zfs-fuse paths, seccomp, devices. */
export interface HostPaths {
  /** source → the view the container sees it through. */
  views?: Record<string, string>;
  seccomp?: string;
  devices?: PassthroughDevice[];
}

/** The host ids of the container's root (0:0 for a privileged container). */
export function rootOwner(s: Pick<ContainerSpec, "idMap">): { uid: number; gid: number } {
  const uid = hostId(s.idMap, "u", 0);
  const gid = hostId(s.idMap, "g", 0);
  if (uid === undefined || gid === undefined) throw new Error("the container's id map leaves its root (uid/gid 0) unmapped");
  return { uid, gid };
}

/** Proxmox's seccomp rules for an unprivileged container: LXC's common ones, keyctl answered ENOSYS unless allowed. */
export function seccompRules(common: string, keyctl: boolean): string {
  return keyctl ? common : `${common.replace(/\n*$/, "\n")}keyctl errno 38\n`;
}

const COMMON_SECCOMP = "/usr/share/lxc/config/common.seccomp";

/**
 * Where the lab's containers live, as Proxmox's live in /var/lib/lxc: an unprivileged container's root (host uid
 * 100000) must traverse its lxcpath, rootfs, views, device nodes and Docker directory, which the lab's state
 * directory (0700, often under /root) does not allow. One directory per lab, named after its state directory.
 */
export const LAB_RUN_ROOT = "/var/lib/phoenix-lab";

export class Lxc {
  /** This lab's directory under LAB_RUN_ROOT: lxc/ (the lxcpath) and docker/. */
  readonly runDir: string;
  /** LXC's lxcpath (`lxc-* -P`): <vmid>/config, its log, seccomp rules, views and device nodes. */
  readonly lxcPath: string;

  /** `home`: the lab's own directory for its containers (<state>/lxc); their files live under LAB_RUN_ROOT. */
  constructor(home: string) {
    this.runDir = join(LAB_RUN_ROOT, createHash("sha256").update(resolve(home)).digest("hex").slice(0, 12));
    this.lxcPath = join(this.runDir, "lxc");
  }

  /** A directory under runDir, every level of it traversable (not listable) by anyone. */
  private runPath(...parts: string[]): string {
    let path = LAB_RUN_ROOT;
    for (const part of [this.runDir.slice(LAB_RUN_ROOT.length + 1), ...parts]) {
      path = join(path, part);
      if (!existsSync(path)) {
        mkdirSync(path, { recursive: true });
        chmodSync(path, 0o711);
      }
    }
    return path;
  }

  private name(vmid: number) {
    return String(vmid);
  }

  private dir(vmid: number) {
    return join(this.lxcPath, this.name(vmid));
  }

  configPath(vmid: number) {
    return join(this.dir(vmid), "config");
  }

  /** Where an unprivileged container's rootfs is seen from (its view, when the rootfs is on zfs-fuse). */
  rootfsView(vmid: number) {
    return join(this.runPath("lxc", this.name(vmid)), "rootfs");
  }

  /** The host directory a nesting container's /var/lib/docker is; `copies`: where copies taken with its snapshots are. */
  dockerDir(vmid: number, copies = false) {
    return join(this.runDir, "docker", copies ? `${this.name(vmid)}.snapshots` : this.name(vmid));
  }

  exists(vmid: number): boolean {
    return existsSync(this.configPath(vmid));
  }

  /** Writes the LXC config and the files Proxmox would set up inside the rootfs at create/config time. */
  configure(spec: ContainerSpec): void {
    const dir = this.runPath("lxc", this.name(spec.vmid));
    const host = this.hostPaths(spec);
    writeFileSync(this.configPath(spec.vmid), lxcConfig(spec, host));
    writeFileSync(join(dir, "host.json"), JSON.stringify(host));
    const owner = rootOwner(spec);
    const write = (rel: string, text: string, mode = 0o644) => {
      const path = join(spec.rootfs, rel);
      mkdirOwned(dirname(path), owner);
      writeFileSync(path, text, { mode });
      chownSync(path, owner.uid, owner.gid);
    };
    write("etc/hostname", `${spec.hostname}\n`);
    write("etc/hosts", `127.0.0.1 localhost\n127.0.1.1 ${spec.hostname}\n::1 localhost ip6-localhost ip6-loopback\n`);
    if (spec.nameservers?.length || spec.searchDomain)
      write(
        "etc/resolv.conf",
        [
          ...(spec.searchDomain ? [`search ${spec.searchDomain}`] : []),
          ...(spec.nameservers ?? []).map((n) => `nameserver ${n}`),
        ].join("\n") + "\n",
      );
    for (const m of spec.mounts ?? []) mkdirOwned(join(spec.rootfs, m.path), owner);
    if (spec.aptProxy) write("etc/apt/apt.conf.d/00phoenix-lab-proxy", aptProxyConf(spec.aptProxy));
    if (spec.dockerDir) {
      this.runPath("docker");
      mkdirOwned(spec.dockerDir, owner);
    }
  }

  private hostPaths(spec: ContainerSpec): HostPaths {
    const host: HostPaths = {};
    if (spec.idMap) {
      const views: Record<string, string> = {};
      if (onZfsFuse(spec.rootfs)) views[spec.rootfs] = this.rootfsView(spec.vmid);
      (spec.mounts ?? []).forEach((m, i) => {
        if (onZfsFuse(m.source)) views[m.source] = join(this.runPath("lxc", this.name(spec.vmid), "mnt"), String(i));
      });
      host.views = views;
      host.seccomp = join(this.dir(spec.vmid), "rules.seccomp");
      writeFileSync(host.seccomp, seccompRules(readFileSync(COMMON_SECCOMP, "utf8"), spec.keyctl === true));
    }
    const devices = spec.devices?.length ? this.runPath("lxc", this.name(spec.vmid), "passthrough") : "";
    host.devices = devicesOf(spec.devices ?? [], devices, spec.idMap);
    return host;
  }

  private hostOf(vmid: number): HostPaths {
    const file = join(this.dir(vmid), "host.json");
    return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as HostPaths) : {};
  }

  /** Root's SSH keys and password, applied as Proxmox does at create time (owned by the container's root). */
  setRootAccess(rootfs: string, keys: string[], password?: string, owner = { uid: 0, gid: 0 }): void {
    if (keys.length) {
      const ssh = join(rootfs, "root", ".ssh");
      mkdirOwned(ssh, owner, 0o700);
      writeFileSync(join(ssh, "authorized_keys"), keys.join("\n") + "\n", { mode: 0o600 });
      chownSync(join(ssh, "authorized_keys"), owner.uid, owner.gid);
    }
    // chpasswd keeps /etc/shadow's owner (measured), so the shifted one stays.
    if (password !== undefined) run("chroot", [rootfs, "chpasswd"], { input: `root:${password}\n` });
  }

  state(vmid: number): "running" | "stopped" {
    if (!this.exists(vmid)) return "stopped";
    const r = run("lxc-info", ["-P", this.lxcPath, "-n", this.name(vmid), "-s", "-H"], { allowFail: true });
    return r.stdout.trim() === "RUNNING" ? "running" : "stopped";
  }

  async start(vmid: number): Promise<void> {
    if (this.state(vmid) === "running") return;
    const host = this.hostOf(vmid);
    for (const [source, view] of Object.entries(host.views ?? {})) mountView(source, view, { shared: !view.endsWith("/rootfs") });
    makeDeviceNodes(host.devices ?? []);
    const logFile = join(this.dir(vmid), "lxc.log");
    const logged = existsSync(logFile) ? readFileSync(logFile, "utf8").length : 0;
    const r = run("lxc-start", ["-P", this.lxcPath, "-n", this.name(vmid), "-d", "-o", logFile, "-l", "INFO"], {
      allowFail: true,
    });
    if (r.code !== 0) {
      // As Proxmox's start task: LXC's errors, then its verdict.
      const errors = readFileSync(logFile, "utf8")
        .slice(logged)
        .split("\n")
        .filter((l) => / ERROR /.test(l));
      this.releaseViews(vmid);
      throw new Error([`startup for container '${vmid}' failed`, ...errors].join("\n"));
    }
    await waitFor(`container ${vmid} to run`, () => this.state(vmid) === "running", 30_000);
  }

  /** Clean shutdown through the container's init, then a hard stop after the timeout. */
  async shutdown(vmid: number, timeoutS = 30): Promise<void> {
    if (this.state(vmid) === "running")
      run("lxc-stop", ["-P", this.lxcPath, "-n", this.name(vmid), "-t", String(timeoutS)], {
        allowFail: true,
        timeoutMs: (timeoutS + 10) * 1000,
      });
    this.stop(vmid);
  }

  stop(vmid: number): void {
    if (this.state(vmid) === "running") run("lxc-stop", ["-P", this.lxcPath, "-n", this.name(vmid), "-k"]);
    this.releaseViews(vmid);
  }

  /** Unmounts a stopped container's views (they hold its datasets, which a rename or destroy needs free). */
  releaseViews(vmid: number): void {
    if (this.state(vmid) === "running") return;
    for (const v of viewsUnder(this.dir(vmid))) unmountView(v);
  }

  /** Runs a command inside the container (what `pct exec` does). */
  exec(vmid: number, argv: string[], input?: string | Buffer) {
    return run(
      "lxc-attach",
      [
        "-P",
        this.lxcPath,
        "-n",
        this.name(vmid),
        "--clear-env",
        "--set-var",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--",
        ...argv,
      ],
      {
        allowFail: true,
        timeoutMs: 30 * 60_000,
        ...(input !== undefined ? { input } : {}),
      },
    );
  }

  /** Copies a host file into the container (what `pct push` does), through the container so its mounts count. */
  push(vmid: number, from: string, to: string, mode = 0o644): void {
    const r = this.exec(
      vmid,
      ["sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"', "push", to, mode.toString(8)],
      readFileSync(from),
    );
    if (r.code !== 0) throw new Error(`pct push ${vmid} ${from} ${to}: ${r.stderr.trim()}`);
  }

  /** Forgets the container (its rootfs dataset is the caller's to destroy), its Docker data included. */
  remove(vmid: number): void {
    this.stop(vmid);
    rmSync(this.dir(vmid), { recursive: true, force: true });
    rmSync(this.dockerDir(vmid), { recursive: true, force: true });
    rmSync(this.dockerDir(vmid, true), { recursive: true, force: true });
  }

  /** Removes runDir (every container's views unmounted first), and LAB_RUN_ROOT when no other lab uses it. */
  removeRunDir(): void {
    for (const v of viewsUnder(this.runDir)) unmountView(v);
    rmSync(this.runDir, { recursive: true, force: true });
    const parent = dirname(this.runDir);
    if (existsSync(parent) && readdirSync(parent).length === 0) rmdirSync(parent);
  }

  list(): number[] {
    return run("lxc-ls", ["-P", this.lxcPath, "-1"], { allowFail: true })
      .stdout.split("\n")
      .map((s) => Number(s.trim()))
      .filter((n) => Number.isInteger(n) && n > 0);
  }

  reachable(vmid: number): boolean {
    return ok("lxc-attach", ["-P", this.lxcPath, "-n", this.name(vmid), "--", "true"]);
  }
}

/** mkdir -p, then the directory (not its parents, which exist already in a rootfs) owned by `owner`. */
function mkdirOwned(path: string, owner: { uid: number; gid: number }, mode?: number): void {
  const existed = existsSync(path);
  mkdirSync(path, { recursive: true, ...(mode !== undefined ? { mode } : {}) });
  if (!existed) chownSync(path, owner.uid, owner.gid);
  if (mode !== undefined) chmodSync(path, mode);
}

/** The LXC config for a Proxmox-style container spec. Pure. */
export function lxcConfig(s: ContainerSpec, host: HostPaths = {}): string {
  const at = (p: string) => host.views?.[p] ?? p;
  const lines = [
    `lxc.uts.name = ${s.hostname}`,
    `lxc.rootfs.path = dir:${at(s.rootfs)}`,
    "lxc.include = /usr/share/lxc/config/common.conf",
  ];
  // As Proxmox's config for an unprivileged container: LXC's userns settings, then its id map.
  if (s.idMap)
    lines.push("lxc.include = /usr/share/lxc/config/userns.conf", ...s.idMap.map((e) => `lxc.idmap = ${printIdMapEntry(e)}`));
  lines.push(
    "lxc.arch = amd64",
    // This kernel has no AppArmor; the definition's profiles are checked with apparmor_parser instead.
    "lxc.apparmor.profile = unconfined",
    `lxc.mount.auto = proc:mixed sys:mixed cgroup:${s.nesting ? "rw" : "mixed"}`,
    "lxc.tty.max = 2",
  );
  if (host.seccomp) lines.push(`lxc.seccomp.profile = ${host.seccomp}`);
  // Nesting: /proc and /sys uncovered under /dev/.lxc, as Proxmox (and LXC's nesting.conf) give them, so a nested
  // runtime in a user namespace may mount its own proc and sysfs.
  if (s.nesting)
    lines.push(
      "lxc.mount.entry = proc dev/.lxc/proc proc create=dir,optional 0 0",
      "lxc.mount.entry = sys dev/.lxc/sys sysfs create=dir,optional 0 0",
    );
  if (s.memoryMiB !== undefined) lines.push(`lxc.cgroup.memory.limit_in_bytes = ${s.memoryMiB * 1024 * 1024}`);
  if (s.cores !== undefined)
    lines.push(`lxc.cgroup.cpu.cfs_period_us = 100000`, `lxc.cgroup.cpu.cfs_quota_us = ${s.cores * 100000}`);
  s.nets.forEach((n, i) => {
    lines.push(
      `lxc.net.${i}.type = veth`,
      `lxc.net.${i}.link = ${n.bridge}`,
      `lxc.net.${i}.name = ${n.name}`,
      `lxc.net.${i}.hwaddr = ${n.hwaddr}`,
      `lxc.net.${i}.flags = up`,
    );
    if (n.ip && n.ip !== "dhcp") lines.push(`lxc.net.${i}.ipv4.address = ${n.ip}`);
    if (n.gw) lines.push(`lxc.net.${i}.ipv4.gateway = ${n.gw}`);
  });
  if (s.nets.length === 0) lines.push("lxc.net.0.type = empty");
  for (const m of s.mounts ?? [])
    lines.push(
      `lxc.mount.entry = ${at(m.source)} ${m.path.replace(/^\//, "")} none bind,create=dir${m.readOnly ? ",ro" : ""} 0 0`,
    );
  if (s.dockerDir) lines.push(`lxc.mount.entry = ${s.dockerDir} var/lib/docker none bind,create=dir 0 0`);
  // On this cgroup v1 host a privileged nested runtime (Docker) must be able to grant devices to its own containers,
  // which LXC's default device list forbids; Proxmox's cgroup v2 hosts let nesting containers do this through BPF.
  // An unprivileged container's device list is LXC's userns one (unrestricted), and its runtime grants nothing.
  if (s.nesting && !s.idMap) lines.push("lxc.cgroup.devices.allow = a");
  for (const d of host.devices ?? [])
    lines.push(
      `lxc.mount.entry = ${d.node} ${d.path.replace(/^\//, "")} none bind,create=file${d.denyWrite ? ",ro" : ""} 0 0`,
      `lxc.cgroup.devices.allow = ${d.type} ${d.major}:${d.minor} ${d.denyWrite ? "r" : "rw"}`,
    );
  lines.push(...(s.rawLxc ?? []).map((l) => l.replace(/^(lxc\.[a-z0-9_.]+)\s*:\s*/, "$1 = ")));
  return lines.join("\n") + "\n";
}
