// The lab's VM image: the base template's Debian 12 rootfs plus Debian's kernel, cloud-init and the QEMU guest
// agent, as a raw ext4 disk that QEMU boots directly (-kernel/-initrd, no bootloader) under KVM. Built once with
// apt in a chroot (Debian's own client), cached beside the base template.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir, ensureBaseTarball } from "./base-template";
import { run } from "./run";

export interface VmImage {
  /** Raw ext4 filesystem of the whole disk (no partition table): the guest's root is /dev/vda. */
  disk: string;
  kernel: string;
  initrd: string;
}

/** What QEMU runs the image with: QEMU's own packages, Debian's. */
export const VM_HOST_PACKAGES = ["qemu-system-x86", "qemu-utils", "genisoimage"];
// dbus: systemd-logind and `shutdown` need it, or neither the power button nor the agent's shutdown works.
const GUEST_PACKAGES = ["linux-image-amd64", "cloud-init", "qemu-guest-agent", "ifupdown", "sudo", "dbus"];
const DISK_SIZE = "3G";

/** The cache is keyed by what goes into the image, so a changed package list builds a new one. */
export function vmImageDir(): string {
  const key = createHash("sha256").update(GUEST_PACKAGES.join(" ")).digest("hex").slice(0, 8);
  return join(cacheDir(), `vm-debian-12-${key}`);
}

export function ensureVmImage(log: (s: string) => void = () => {}): VmImage {
  const dir = vmImageDir();
  const image = { disk: join(dir, "disk.raw"), kernel: join(dir, "vmlinuz"), initrd: join(dir, "initrd.img") };
  if (Object.values(image).every(existsSync)) return image;
  mkdirSync(dir, { recursive: true });
  const tarball = ensureBaseTarball(log);
  const work = mkdtempSync(join(cacheDir(), "vm-image-"));
  const rootfs = join(work, "rootfs");
  const mounts: string[] = [];
  try {
    mkdirSync(rootfs);
    run("tar", ["--zstd", "-xpf", tarball, "-C", rootfs], { timeoutMs: 10 * 60_000 });
    for (const fs of ["proc", "sys", "dev"]) {
      run("mount", ["--rbind", `/${fs}`, join(rootfs, fs)]);
      mounts.unshift(join(rootfs, fs));
    }
    run("cp", ["/etc/resolv.conf", join(rootfs, "etc/resolv.conf")]);
    log(`installing ${GUEST_PACKAGES.join(" ")} into the VM image (first run only)`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive", PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };
    run("chroot", [rootfs, "apt-get", "update", "-qq"], { env, timeoutMs: 10 * 60_000 });
    run("chroot", [rootfs, "apt-get", "install", "-y", "-qq", "--no-install-recommends", ...GUEST_PACKAGES], {
      env,
      timeoutMs: 30 * 60_000,
    });
    run("chroot", [rootfs, "apt-get", "clean"], { env });
    // cloud-init's NoCloud seed is the config drive the lab attaches (label cidata), as Proxmox's is.
    writeFileSync(join(rootfs, "etc/cloud/cloud.cfg.d/90-phoenix-lab.cfg"), "datasource_list: [ NoCloud, None ]\n");
    writeFileSync(join(rootfs, "etc/fstab"), "/dev/vda / ext4 defaults,errors=remount-ro 0 1\n");
    // A fresh machine id per VM (systemd makes one at first boot), as for the containers.
    writeFileSync(join(rootfs, "etc/machine-id"), "");
    const boot = readdirSync(join(rootfs, "boot"));
    const kernel = boot.find((f) => f.startsWith("vmlinuz-"));
    const initrd = boot.find((f) => f.startsWith("initrd.img-"));
    if (!kernel || !initrd) throw new Error(`no kernel or initrd in the VM image's /boot: ${boot.join(", ")}`);
    for (const m of mounts.splice(0)) run("umount", ["-R", m]);
    run("cp", [join(rootfs, "boot", kernel), `${image.kernel}.partial`]);
    run("cp", [join(rootfs, "boot", initrd), `${image.initrd}.partial`]);
    run("truncate", ["-s", DISK_SIZE, `${image.disk}.partial`]);
    run("mkfs.ext4", ["-q", "-F", "-L", "root", "-d", rootfs, `${image.disk}.partial`], { timeoutMs: 10 * 60_000 });
    for (const f of Object.values(image)) run("mv", [`${f}.partial`, f]);
    return image;
  } finally {
    for (const m of mounts) run("umount", ["-R", m], { allowFail: true });
    // Never delete through a bind mount of the host's /dev, /sys or /proc.
    const left = readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .filter((l) => l.split(" ")[1]?.startsWith(work));
    // eslint-disable-next-line no-unsafe-finally -- on purpose: refusing to remove work/ must win over any earlier error
    if (left.length > 0) throw new Error(`mounts left under ${work}, not removing it: ${left.join("; ")}`);
    rmSync(work, { recursive: true, force: true });
  }
}
