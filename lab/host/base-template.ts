// The lab's LXC base template: a Debian 12 rootfs made once by debootstrap, cached outside the repo
// as a Proxmox-style .tar.zst, and placed on the lab's `local` storage.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { run } from "./run";

export const BASE_TEMPLATE_FILE = "debian-12-standard_12.7-1_amd64.tar.zst";
const PACKAGES = ["systemd-sysv", "openssh-server", "iproute2", "ca-certificates", "curl", "gnupg", "procps"];

/**
 * Where the lab keeps what outlives it (base template, VM image, apt proxy and registry storage).
 * PHOENIX_LAB_CACHE_DIR points it elsewhere: an empty directory runs everything cold, as on a fresh machine.
 */
export function cacheDir(): string {
  return (
    process.env.PHOENIX_LAB_CACHE_DIR ||
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "phoenix-hypervisor", "lab")
  );
}

/** Builds the cached tarball when missing; returns its path. Takes a minute or two the first time. */
export function ensureBaseTarball(log: (s: string) => void = () => {}): string {
  const out = join(cacheDir(), BASE_TEMPLATE_FILE);
  if (existsSync(out)) return out;
  mkdirSync(cacheDir(), { recursive: true });
  const work = mkdtempSync(join(cacheDir(), "debootstrap-"));
  try {
    const rootfs = join(work, "rootfs");
    log(`debootstrap bookworm into ${rootfs} (first run only)`);
    run(
      "debootstrap",
      ["--variant=minbase", `--include=${PACKAGES.join(",")}`, "bookworm", rootfs, "http://deb.debian.org/debian"],
      { timeoutMs: 30 * 60_000 },
    );
    // Each container gets its own machine id and host keys on first boot, as Proxmox templates do.
    run("sh", [
      "-c",
      `: > ${rootfs}/etc/machine-id && rm -f ${rootfs}/etc/ssh/ssh_host_* && rm -rf ${rootfs}/var/cache/apt/archives/*.deb`,
    ]);
    run("sh", [
      "-c",
      `printf '%s\\n' '[Unit]' 'Description=Regenerate SSH host keys' 'Before=ssh.service' 'ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key' '[Service]' 'Type=oneshot' 'ExecStart=/usr/bin/ssh-keygen -A' '[Install]' 'WantedBy=multi-user.target' > ${rootfs}/etc/systemd/system/ssh-keygen.service && ln -sf /etc/systemd/system/ssh-keygen.service ${rootfs}/etc/systemd/system/multi-user.target.wants/ssh-keygen.service`,
    ]);
    const tmp = `${out}.partial`;
    run("tar", ["--zstd", "-C", rootfs, "-cf", tmp, "."], { timeoutMs: 10 * 60_000 });
    run("mv", [tmp, out]);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Puts the template on a dir storage as Proxmox lays it out: <path>/template/cache/<file>. */
export function installTemplate(tarball: string, storagePath: string): string {
  const dest = join(storagePath, "template", "cache", BASE_TEMPLATE_FILE);
  if (!existsSync(dest)) {
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(tarball, dest);
  }
  return dest;
}
