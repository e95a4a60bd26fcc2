// Real LXC containers for the lab (Debian's lxc), with their rootfs on a ZFS dataset.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { aptProxyConf } from "./apt-proxy";
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
  /** Device nodes passed through (created inside when present on the host). */
  devices?: string[];
  nesting?: boolean;
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

export class Lxc {
  constructor(readonly lxcPath: string) {
    mkdirSync(lxcPath, { recursive: true });
  }

  private name(vmid: number) {
    return String(vmid);
  }

  configPath(vmid: number) {
    return join(this.lxcPath, this.name(vmid), "config");
  }

  exists(vmid: number): boolean {
    return existsSync(this.configPath(vmid));
  }

  /** Writes the LXC config and the files Proxmox would set up inside the rootfs at create/config time. */
  configure(spec: ContainerSpec): void {
    mkdirSync(join(this.lxcPath, this.name(spec.vmid)), { recursive: true });
    writeFileSync(this.configPath(spec.vmid), lxcConfig(spec));
    const etc = join(spec.rootfs, "etc");
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, "hostname"), `${spec.hostname}\n`);
    writeFileSync(
      join(etc, "hosts"),
      `127.0.0.1 localhost\n127.0.1.1 ${spec.hostname}\n::1 localhost ip6-localhost ip6-loopback\n`,
    );
    if (spec.nameservers?.length || spec.searchDomain)
      writeFileSync(
        join(etc, "resolv.conf"),
        [
          ...(spec.searchDomain ? [`search ${spec.searchDomain}`] : []),
          ...(spec.nameservers ?? []).map((n) => `nameserver ${n}`),
        ].join("\n") + "\n",
      );
    for (const m of spec.mounts ?? []) mkdirSync(join(spec.rootfs, m.path), { recursive: true });
    if (spec.aptProxy) {
      mkdirSync(join(etc, "apt", "apt.conf.d"), { recursive: true });
      writeFileSync(join(etc, "apt", "apt.conf.d", "00phoenix-lab-proxy"), aptProxyConf(spec.aptProxy));
    }
  }

  /** Root's SSH keys and password, applied as Proxmox does at create time. */
  setRootAccess(rootfs: string, keys: string[], password?: string): void {
    if (keys.length) {
      const ssh = join(rootfs, "root", ".ssh");
      mkdirSync(ssh, { recursive: true, mode: 0o700 });
      writeFileSync(join(ssh, "authorized_keys"), keys.join("\n") + "\n", { mode: 0o600 });
      chmodSync(ssh, 0o700);
    }
    if (password !== undefined) run("chroot", [rootfs, "chpasswd"], { input: `root:${password}\n` });
  }

  state(vmid: number): "running" | "stopped" {
    if (!this.exists(vmid)) return "stopped";
    const r = run("lxc-info", ["-P", this.lxcPath, "-n", this.name(vmid), "-s", "-H"], { allowFail: true });
    return r.stdout.trim() === "RUNNING" ? "running" : "stopped";
  }

  async start(vmid: number): Promise<void> {
    if (this.state(vmid) === "running") return;
    run("lxc-start", [
      "-P",
      this.lxcPath,
      "-n",
      this.name(vmid),
      "-d",
      "-o",
      join(this.lxcPath, this.name(vmid), "lxc.log"),
      "-l",
      "INFO",
    ]);
    await waitFor(`container ${vmid} to run`, () => this.state(vmid) === "running", 30_000);
  }

  /** Clean shutdown through the container's init, then a hard stop after the timeout. */
  async shutdown(vmid: number, timeoutS = 30): Promise<void> {
    if (this.state(vmid) !== "running") return;
    run("lxc-stop", ["-P", this.lxcPath, "-n", this.name(vmid), "-t", String(timeoutS)], {
      allowFail: true,
      timeoutMs: (timeoutS + 10) * 1000,
    });
    if (this.state(vmid) === "running") this.stop(vmid);
  }

  stop(vmid: number): void {
    if (this.state(vmid) !== "running") return;
    run("lxc-stop", ["-P", this.lxcPath, "-n", this.name(vmid), "-k"]);
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

  /** Forgets the container (its rootfs dataset is the caller's to destroy). */
  remove(vmid: number): void {
    this.stop(vmid);
    rmSync(join(this.lxcPath, this.name(vmid)), { recursive: true, force: true });
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

/** The LXC config for a Proxmox-style container spec. Pure. */
export function lxcConfig(s: ContainerSpec): string {
  const lines = [
    `lxc.uts.name = ${s.hostname}`,
    `lxc.rootfs.path = dir:${s.rootfs}`,
    "lxc.include = /usr/share/lxc/config/common.conf",
    "lxc.arch = amd64",
    // This kernel has no AppArmor; the definition's profiles are checked with apparmor_parser instead.
    "lxc.apparmor.profile = unconfined",
    `lxc.mount.auto = proc:mixed sys:mixed cgroup:${s.nesting ? "rw" : "mixed"}`,
    "lxc.tty.max = 2",
  ];
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
    lines.push(`lxc.mount.entry = ${m.source} ${m.path.replace(/^\//, "")} none bind,create=dir${m.readOnly ? ",ro" : ""} 0 0`);
  if (s.dockerDir) lines.push(`lxc.mount.entry = ${s.dockerDir} var/lib/docker none bind,create=dir 0 0`);
  // On this cgroup v1 host a nested runtime (Docker) must be able to grant devices to its own containers, which
  // LXC's default device list forbids; Proxmox's cgroup v2 hosts let nesting containers do this through BPF.
  if (s.nesting) lines.push("lxc.cgroup.devices.allow = a");
  for (const d of s.devices ?? [])
    lines.push(`lxc.mount.entry = ${d} ${d.replace(/^\//, "")} none bind,optional,create=file 0 0`);
  lines.push(...(s.rawLxc ?? []).map((l) => l.replace(/^(lxc\.[a-z0-9_.]+)\s*:\s*/, "$1 = ")));
  return lines.join("\n") + "\n";
}
