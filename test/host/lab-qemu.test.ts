// The lab's VMs for real: Debian 12 booted by QEMU from the lab's VM image (kernel, cloud-init and the guest
// agent installed by apt in a chroot), configured by a NoCloud drive made from a Proxmox config, on a tap
// device of a bridge this test makes, reached over SSH with the key the config names, its interfaces read
// through the QEMU guest agent. Software emulation (TCG): this machine's /dev/kvm (PVM) boots no stock
// kernel. Needs root, /dev/net/tun and Debian's qemu packages.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBridge, removeBridge } from "../../lab/host/bridge";
import { noCloudSeed } from "../../lab/host/cloud-init-seed";
import { QemuRunner, tapName } from "../../lab/host/qemu";
import { ok, run, waitFor } from "../../lab/host/run";
import { VM_HOST_PACKAGES, ensureVmImage } from "../../lab/host/vm-image";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB2m6Tn1s8o3m0Q8f7m0x2m9V1x3Cq3aZbK3nq0pQm5x test@phoenix";

describe("NoCloud seed from a Proxmox VM config (plain data)", () => {
  const config = {
    name: "web",
    ciuser: "ops",
    cipassword: "$5$salt$hash",
    sshkeys: encodeURIComponent(
      `${KEY}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKFMUeFSiB3SijwOBwwcWsvXDaFie+0FpuRJ7iyITRnH second@phoenix\n`,
    ),
    net0: "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1",
    net1: "virtio=BC:24:11:00:00:01,bridge=vmbr1",
    ipconfig0: "ip=10.0.0.50/24,gw=10.0.0.1",
    nameserver: "10.0.0.1 1.1.1.1",
    searchdomain: "lab.internal",
  };

  it("makes the user with sudo, its hashed password and every key; the interfaces by MAC; DNS", () => {
    const seed = noCloudSeed(300, config, { aptProxy: "http://10.0.0.1:3142" });
    expect(seed["user-data"]).toBe(
      [
        "#cloud-config",
        'hostname: "web"',
        "manage_etc_hosts: true",
        "users:",
        '  - name: "ops"',
        "    sudo: ALL=(ALL) NOPASSWD:ALL",
        "    shell: /bin/bash",
        '    passwd: "$5$salt$hash"',
        "    lock_passwd: false",
        "    ssh_authorized_keys:",
        `      - "${KEY}"`,
        '      - "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKFMUeFSiB3SijwOBwwcWsvXDaFie+0FpuRJ7iyITRnH second@phoenix"',
        "apt:",
        '  proxy: "http://10.0.0.1:3142"',
        "",
      ].join("\n"),
    );
    expect(seed["network-config"]).toBe(
      [
        "version: 1",
        "config:",
        "  - type: physical",
        "    name: eth0",
        '    mac_address: "bc:24:11:aa:bb:cc"',
        "    subnets:",
        "      - type: static",
        '        address: "10.0.0.50/24"',
        '        gateway: "10.0.0.1"',
        "  - type: physical",
        "    name: eth1",
        '    mac_address: "bc:24:11:00:00:01"',
        "    subnets:",
        "      - type: dhcp",
        "  - type: nameserver",
        '    address: ["10.0.0.1", "1.1.1.1"]',
        '    search: ["lab.internal"]',
        "",
      ].join("\n"),
    );
    expect(seed["meta-data"]).toMatch(/^instance-id: "vm300-[0-9a-f]{12}"\nlocal-hostname: "web"\n$/);
  });

  it("a changed config is a new instance (cloud-init applies it again); the same config the same one", () => {
    const id = (c: Record<string, string>) => noCloudSeed(300, c)["meta-data"];
    expect(id(config)).toBe(id({ ...config }));
    expect(id({ ...config, ipconfig0: "ip=10.0.0.51/24,gw=10.0.0.1" })).not.toBe(id(config));
  });

  it("root as the user keeps root's login; a NIC without model=MAC is refused", () => {
    const seed = noCloudSeed(301, { net0: "virtio=BC:24:11:00:00:02,bridge=vmbr0", sshkeys: encodeURIComponent(KEY) });
    expect(seed["user-data"]).toContain(`disable_root: false\nssh_authorized_keys:\n  - "${KEY}"\n`);
    expect(() => noCloudSeed(302, { net0: "bridge=vmbr0" })).toThrow("net0: 'bridge=vmbr0' has no model=MAC or no bridge");
  });
});

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "tap devices and bridges need root, as the lab does";
  if (!existsSync("/dev/net/tun")) return "no /dev/net/tun";
  try {
    execFileSync("bash", [join(__dirname, "..", "..", "scripts", "ensure-apt.sh"), ...VM_HOST_PACKAGES, "debootstrap", "zstd"], {
      stdio: "ignore",
      timeout: 600_000,
    });
  } catch (e) {
    return `installing ${VM_HOST_PACKAGES.join(" ")} failed: ${(e as Error).message}`;
  }
  return undefined;
}
const skipReason = unavailable();
if (skipReason) console.warn(`lab VM tests skipped: ${skipReason}`);

// Skipped only where the lab itself could not run VMs: not root, no /dev/net/tun, or Debian's qemu packages
// not installable (see unavailable() above); the reason is printed.
describe.skipIf(skipReason !== undefined)("a lab VM under QEMU", () => {
  const octet = 100 + Math.floor(Math.random() * 100);
  const bridge = `phxq${octet}`;
  const net = `10.252.${octet}`;
  const vmid = 390;
  let dir: string;
  let runner: QemuRunner;
  let key: string;

  const ssh = (command: string) =>
    run(
      "ssh",
      [
        "-q",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=3",
        "-i",
        key,
        `ops@${net}.50`,
        command,
      ],
      { allowFail: true, timeoutMs: 30_000 },
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "phoenix-lab-qemu-"));
    key = join(dir, "id_ed25519");
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
    ensureBridge(bridge, `${net}.1/24`);
    runner = new QemuRunner({ stateDir: join(dir, "state"), image: ensureVmImage() });
  }, 30 * 60_000);

  afterAll(async () => {
    await runner?.destroy(vmid);
    removeBridge(bridge);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("boots from the image, takes its address, user and key from the config drive, answers over SSH", async () => {
    await runner.start(vmid, {
      name: "vmtest",
      memory: "768",
      cores: "1",
      ciuser: "ops",
      sshkeys: encodeURIComponent(readFileSync(`${key}.pub`, "utf8")),
      net0: `virtio=BC:24:11:00:03:90,bridge=${bridge}`,
      ipconfig0: `ip=${net}.50/24,gw=${net}.1`,
      virtio0: "tank:vm-390-disk-0,size=6G",
    });
    expect(runner.runtime(vmid).status).toBe("running");
    expect(ok("ip", ["link", "show", tapName(vmid, 0)])).toBe(true);
    let out = "";
    await waitFor(
      "SSH into the VM",
      () =>
        (out = ssh(
          "hostname; ip -4 -o addr show dev eth0 | awk '{print $4}'; sudo -n id -u; df -BG --output=size / | tail -1",
        ).stdout) !== "",
      240_000,
      2000,
    );
    expect(
      out
        .trim()
        .split("\n")
        .map((l) => l.trim()),
    ).toEqual(["vmtest", `${net}.50/24`, "0", expect.stringMatching(/^[56]G$/)]);
  }, 300_000);

  it("reports its interfaces through the QEMU guest agent", async () => {
    let interfaces: Awaited<ReturnType<QemuRunner["interfaces"]>> = [];
    for (const end = Date.now() + 60_000; Date.now() < end; await new Promise((r) => setTimeout(r, 1000))) {
      interfaces = await runner.interfaces(vmid).catch(() => []);
      if (interfaces.length > 0) break;
    }
    expect(interfaces.find((i) => i.name === "eth0")).toEqual({
      name: "eth0",
      hwaddr: "bc:24:11:00:03:90",
      addresses: expect.arrayContaining([{ address: `${net}.50`, prefix: 24, family: "inet" }]),
    });
  }, 90_000);

  it("shuts down cleanly (guest agent and ACPI power button, as qm shutdown); its tap device goes with it; destroy leaves nothing", async () => {
    await runner.shutdown(vmid, 120, false);
    expect(runner.runtime(vmid)).toEqual({ status: "stopped" });
    expect(ok("ip", ["link", "show", tapName(vmid, 0)])).toBe(false);
    expect(readFileSync(join(runner.dir(vmid), "console.log"), "utf8")).toMatch(/reboot: Power down/);
    await runner.destroy(vmid);
    expect(existsSync(runner.dir(vmid))).toBe(false);
  }, 180_000);
});
