// The node's GPU files checked by the tools that read them: phoenix-nvidia-init.service by `systemd-analyze verify`
// (in a root holding systemd's units and the commands it runs) and phoenix-vfio.conf by kmod's own parser
// (`modprobe --showconfig`), with a broken variant of each to show the check bites. No GPU, no reboot.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gpuInitUnit } from "../../provisioners/nvidia/nvidia-gpu-init";
import { vfioModprobeConf, vfioModulesConf } from "../../provisioners/vfio/vfio";

const ROOT = path.join(__dirname, "..", "..");
let dir: string;
beforeAll(() => {
  execFileSync("bash", [path.join(ROOT, "scripts", "ensure-apt.sh"), "kmod", "systemd"], { stdio: "inherit", timeout: 300_000 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "phx-gpu-files-"));
}, 300_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A root with systemd's units and the unit's commands (stubs): systemd-analyze resolves both inside it. */
function verifyUnit(name: string, text: string) {
  const root = fs.mkdtempSync(path.join(dir, "root-"));
  fs.mkdirSync(path.join(root, "usr/lib/systemd"), { recursive: true });
  fs.cpSync("/usr/lib/systemd/system", path.join(root, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
  for (const cmd of ["nvidia-smi", "nvidia-modprobe"]) {
    fs.mkdirSync(path.join(root, "usr/bin"), { recursive: true });
    fs.writeFileSync(path.join(root, "usr/bin", cmd), "#!/bin/sh\n", { mode: 0o755 });
  }
  fs.mkdirSync(path.join(root, "etc/systemd/system"), { recursive: true });
  fs.writeFileSync(path.join(root, "etc/systemd/system", name), text);
  return spawnSync("systemd-analyze", [`--root=${root}`, "verify", name], { encoding: "utf8" });
}

describe("phoenix-nvidia-init.service", () => {
  const all = gpuInitUnit({ gpus: [{ index: 0, pci: "0000:01:00.0" }], persistence: "all" });
  const some = gpuInitUnit({ gpus: [{ index: 1, pci: "0000:02:00.0" }], persistence: ["0000:02:00.0"] });

  it.each([
    ["persistence on every GPU", all],
    ["persistence on the host's GPUs only", some],
  ])("systemd-analyze verify accepts it (%s)", (_, unit) => {
    const r = verifyUnit("phoenix-nvidia-init.service", unit);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toBe("");
  });

  it("and refuses a broken variant (the check bites)", () => {
    const r = verifyUnit("phoenix-nvidia-init.service", all.replace("Type=oneshot", "Type=oneshoot"));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("more than one ExecStart= setting");
  });

  it("runs before Proxmox starts guests, once the kernel modules are loaded, and creates the uvm nodes", () => {
    const lines = all.split("\n");
    expect(lines).toContain("Before=pve-guests.service");
    expect(lines).toContain("After=systemd-modules-load.service");
    expect(lines).toContain("ExecStart=/usr/bin/nvidia-modprobe -u -c=0");
    expect(lines).toContain("WantedBy=multi-user.target");
  });
});

describe("phoenix-vfio.conf and the module list", () => {
  const showconfig = (text: string) => {
    const f = path.join(dir, `vfio-${Math.random().toString(36).slice(2)}.conf`);
    fs.writeFileSync(f, text);
    return spawnSync("modprobe", ["--showconfig", `--config=${f}`], { encoding: "utf8" });
  };
  const settings = (hostDeviceIds: string[]) => ({
    devices: [
      { pci: "0000:01:00.0", deviceId: "10de:2d04", gpu: 0 },
      { pci: "0000:01:00.1", deviceId: "10de:22eb", gpu: 0 },
    ],
    hostDeviceIds,
  });

  it("kmod parses every line: vfio-pci's ids, and softdeps instead of blacklists", () => {
    const r = showconfig(vfioModprobeConf(settings(["10de:2c05"])));
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("options vfio_pci ids=10de:2d04,10de:22eb\n");
    expect(r.stdout).toContain("softdep nvidia pre: vfio-pci\n");
    expect(r.stdout).not.toMatch(/^blacklist (nvidia|nouveau)$/m);
  });

  it("kmod parses the install rule that binds identical cards by address, and its shell command parses", () => {
    const r = showconfig(vfioModprobeConf(settings(["10de:2d04"])));
    expect(r.stderr).toBe("");
    const install = r.stdout.split("\n").find((l) => l.startsWith("install vfio_pci "))!;
    expect(install).toContain("echo vfio-pci > /sys/bus/pci/devices/$d/driver_override");
    execFileSync("sh", ["-n", "-c", install.replace(/^install vfio_pci /, "")]);
  });

  it("kmod refuses a bad line (the check bites)", () => {
    expect(showconfig(vfioModprobeConf(settings([])) + "blacklist-all nvidia\n").stderr).toContain("ignoring bad line");
  });

  it("the modules to load are real module names of this kernel series (no vfio_virqfd since 6.2)", () => {
    expect(
      vfioModulesConf()
        .split("\n")
        .filter((l) => l && !l.startsWith("#")),
    ).toEqual(["vfio", "vfio_iommu_type1", "vfio_pci"]);
  });
});
