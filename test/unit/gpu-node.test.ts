// The node's GPU steps without a GPU: the plan's boot unit and VFIO plans, and their real scripts run by bash against
// recording doubles on a node tree under PHX_ROOT (/proc, /sys, /etc): what would run, in which order, what is
// written, what a second run does, what a reboot changes. The files themselves are checked by systemd-analyze and
// kmod's modprobe in test/host/gpu-node-files.test.ts.
import * as fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { checkShape } from "../../definition/load";
import { buildPlan } from "../../plan/plan";
import { renderGpuInit } from "../../provisioners/nvidia/nvidia-gpu-init";
import { renderVfio, type VfioSettings, vfioModprobeConf } from "../../provisioners/vfio/vfio";
import { validated } from "../../validate";
import { GuestSandbox, named, ok } from "../support/guest-sandbox";
import { type Raw, base, vm } from "./validate/support";

const sandboxes: GuestSandbox[] = [];
afterEach(() => sandboxes.splice(0).forEach((s) => s.dispose()));
function node(): GuestSandbox {
  const s = new GuestSandbox();
  sandboxes.push(s);
  for (const t of ["readlink", "ls"]) s.addTool(t);
  return s;
}

/** Two GPUs: 0 (with its audio function) passed to a VM, 1 kept by the host for containers. */
function definition(extra: (d: Raw) => void = () => {}): Raw {
  const d = base();
  d.nodes[0].vfio = true;
  d.nodes[0].nvidia = { driverVersion: "580.76.05", installOnHost: true, runfileSha256: "0".repeat(64) };
  d.nodes[0].gpus = [
    {
      index: 0,
      pci: "0000:01:00.0",
      deviceId: "10de:2d04",
      iommuGroup: 14,
      iommuGroupDevices: [{ pci: "0000:01:00.1", deviceId: "10de:22eb" }],
    },
    { index: 1, pci: "0000:02:00.0", deviceId: "10de:2c05", iommuGroup: 15 },
  ];
  d.templates[2].gpus = [1];
  d.guests.push(vm(300, "ws", { gpus: [0] }));
  extra(d);
  return d;
}
const planned = (d: Raw) => {
  const { definition: def, problems } = checkShape(d);
  if (!def) throw new Error(JSON.stringify(problems));
  return buildPlan(validated(def)).nodes[0]!;
};

describe("the plan", () => {
  it("binds the VM's GPU and its group's device to vfio-pci, and turns persistence on for the host's GPU only", () => {
    const n = planned(definition());
    expect(n.vfio).toEqual({
      devices: [
        { pci: "0000:01:00.0", deviceId: "10de:2d04", gpu: 0, iommuGroup: 14 },
        { pci: "0000:01:00.1", deviceId: "10de:22eb", gpu: 0, iommuGroup: 14 },
      ],
      hostDeviceIds: ["10de:2c05"],
    });
    expect(n.gpuInit).toEqual({ gpus: [{ index: 1, pci: "0000:02:00.0" }], persistence: ["0000:02:00.0"] });
    const unit = renderGpuInit(n.gpuInit!).params.NVIDIA_INIT_UNIT!;
    expect(unit).toContain("Before=pve-guests.service\n");
    expect(unit).toContain("ExecStart=/usr/bin/nvidia-smi --id=0000:02:00.0 --persistence-mode=1\n");
    expect(unit).toContain("ExecStart=/usr/bin/nvidia-modprobe -u -c=0\n");
  });

  it("binds by id, and never blacklists a driver; identical cards split between a VM and the host go by address", () => {
    const conf = vfioModprobeConf(planned(definition()).vfio!);
    expect(conf).toContain("options vfio-pci ids=10de:2d04,10de:22eb\n");
    expect(conf).toContain("softdep nvidia pre: vfio-pci\n");
    expect(conf).not.toMatch(/blacklist/);
    const twins = vfioModprobeConf(planned(definition((d) => (d.nodes[0].gpus[1].deviceId = "10de:2d04"))).vfio!);
    expect(twins).toContain("options vfio-pci ids=10de:22eb\n");
    expect(twins).toContain(
      "install vfio-pci for d in 0000:01:00.0; do echo vfio-pci > /sys/bus/pci/devices/$d/driver_override; done; /sbin/modprobe --ignore-install vfio-pci $CMDLINE_OPTS\n",
    );
  });

  it("without VM GPUs persistence mode is on for all; the boot unit follows installOnHost unless bootInit says", () => {
    const d = definition((x) => {
      x.guests.pop();
      delete x.nodes[0].vfio;
    });
    expect(planned(d).gpuInit).toEqual({
      gpus: [
        { index: 0, pci: "0000:01:00.0" },
        { index: 1, pci: "0000:02:00.0" },
      ],
      persistence: "all",
    });
    expect(planned(definition((x) => (x.nodes[0].nvidia.bootInit = false))).gpuInit).toBeUndefined();
    expect(planned(definition((x) => (x.nodes[0].nvidia = { driverVersion: "580.76.05" }))).gpuInit).toBeUndefined();
  });
});

describe("phoenix-nvidia-init.service on the node", () => {
  const settings = { gpus: [{ index: 1, pci: "0000:02:00.0" }], persistence: ["0000:02:00.0"] };
  const driverLoaded = (s: GuestSandbox) => {
    s.write(
      "proc/driver/nvidia/version",
      "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.76.05  Thu Jan  1 00:00:00 UTC 2026\n",
    );
    s.write("usr/bin/nvidia-smi", "");
  };

  it("installs and runs the unit when the driver is there; a second run does nothing", () => {
    const s = node();
    driverLoaded(s);
    const f = renderGpuInit(settings);
    const r1 = ok(s.run(f.script, f.params));
    expect(s.read("etc/systemd/system/phoenix-nvidia-init.service")).toBe(f.params.NVIDIA_INIT_UNIT);
    expect(named(r1, /^systemctl (daemon-reload|enable|restart)/)).toEqual([
      "systemctl daemon-reload",
      "systemctl enable phoenix-nvidia-init",
      "systemctl restart phoenix-nvidia-init",
    ]);
    expect(named(ok(s.run(f.script, f.params)), /^systemctl (daemon-reload|enable|restart|start)/)).toEqual([]);
  });

  it("without the driver yet: installed and enabled, run at the next boot", () => {
    const s = node();
    const f = renderGpuInit(settings);
    const r = ok(s.run(f.script, f.params));
    expect(named(r, /^systemctl restart/)).toEqual([]);
    expect(r.stdout).toContain("phoenix-nvidia-init.service runs at the next boot");
    expect(ok(s.run(f.checkScript!, f.params)).stdout).toBe(
      "phoenix-nvidia-init.service enabled, inactive\nNVIDIA driver not loaded: the device nodes appear at the next boot\n",
    );
  });

  it("the check reports each device node, the GPU's minor against its index; a missing nvidia-uvm fails it", () => {
    const s = node();
    driverLoaded(s);
    const f = renderGpuInit(settings);
    ok(s.run(f.script, f.params));
    for (const n of ["nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia1"]) s.write(`dev/${n}`, "");
    s.write("proc/driver/nvidia/gpus/0000:02:00.0/information", "Model: RTX\nDevice Minor: 1\n");
    expect(ok(s.run(f.checkScript!, f.params)).stdout).toBe(
      [
        "phoenix-nvidia-init.service enabled, active",
        "NVIDIA driver 580.76.05 loaded",
        "/dev/nvidiactl present",
        "/dev/nvidia-uvm present",
        "/dev/nvidia-uvm-tools present",
        "/dev/nvidia1 present",
        "GPU 1 (0000:02:00.0): /dev/nvidia1",
        "",
      ].join("\n"),
    );
    fs.rmSync(s.file("dev/nvidia-uvm"));
    s.write("proc/driver/nvidia/gpus/0000:02:00.0/information", "Device Minor: 0\n");
    const r = s.run(f.checkScript!, f.params);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("/dev/nvidia-uvm missing\n");
    expect(r.stdout).toContain(
      "GPU 1 (0000:02:00.0): the driver made it /dev/nvidia0, but containers get /dev/nvidia1: declare index 0\n",
    );
  });
});

describe("VFIO on the node", () => {
  const SETTINGS: VfioSettings = {
    devices: [
      { pci: "0000:01:00.0", deviceId: "10de:2d04", gpu: 0, iommuGroup: 14 },
      { pci: "0000:01:00.1", deviceId: "10de:22eb", gpu: 0, iommuGroup: 14 },
    ],
    hostDeviceIds: ["10de:2c05"],
  };
  const f = renderVfio(SETTINGS);
  /** A Proxmox node booting through proxmox-boot-tool (systemd-boot and GRUB files both present), IOMMU off. */
  function proxmox(vendor = "GenuineIntel"): GuestSandbox {
    const s = node();
    s.write("proc/cpuinfo", `processor\t: 0\nvendor_id\t: ${vendor}\n`);
    s.write("proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve root=ZFS=rpool/ROOT/pve-1 ro quiet\n");
    s.write("etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n");
    s.write("etc/kernel/proxmox-boot-uuids", "1234-ABCD\n");
    s.write("etc/default/grub", 'GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n');
    for (const [pci, drv] of [
      ["0000:01:00.0", "nvidia"],
      ["0000:01:00.1", "snd_hda_intel"],
    ]) {
      fs.mkdirSync(s.file(`sys/bus/pci/devices/${pci}`), { recursive: true });
      fs.symlinkSync(`../../../../bus/pci/drivers/${drv}`, s.file(`sys/bus/pci/devices/${pci}/driver`));
    }
    return s;
  }
  /** What a reboot with the new command line and modules gives: IOMMU groups, the devices on vfio-pci. */
  function reboot(s: GuestSandbox, extraInGroup?: { pci: string; cls: string; id: string }) {
    s.write("proc/cmdline", `BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve ${s.read("etc/kernel/cmdline").trim()}\n`);
    const devices: [string, string, string?][] = [
      ["0000:01:00.0", "14", "vfio-pci"],
      ["0000:01:00.1", "14", "vfio-pci"],
      ["0000:00:01.0", "14"],
      ["0000:02:00.0", "15", "nvidia"],
    ];
    if (extraInGroup) devices.push([extraInGroup.pci, "14", "xhci_hcd"]);
    for (const [pci, group, drv] of devices) {
      const dir = `sys/bus/pci/devices/${pci}`;
      fs.mkdirSync(s.file(dir), { recursive: true });
      for (const l of ["driver", "iommu_group"]) fs.rmSync(s.file(`${dir}/${l}`), { force: true });
      if (drv) fs.symlinkSync(`../../../../bus/pci/drivers/${drv}`, s.file(`${dir}/driver`));
      fs.symlinkSync(`../../../../kernel/iommu_groups/${group}`, s.file(`${dir}/iommu_group`));
      fs.mkdirSync(s.file(`sys/kernel/iommu_groups/${group}/devices`), { recursive: true });
      fs.symlinkSync(`../../../../devices/pci0000:00/${pci}`, s.file(`sys/kernel/iommu_groups/${group}/devices/${pci}`));
    }
    s.write("sys/bus/pci/devices/0000:00:01.0/class", "0x060400\n");
    if (extraInGroup) {
      s.write(`sys/bus/pci/devices/${extraInGroup.pci}/class`, `${extraInGroup.cls}\n`);
      s.write(`sys/bus/pci/devices/${extraInGroup.pci}/vendor`, `0x${extraInGroup.id.split(":")[0]}\n`);
      s.write(`sys/bus/pci/devices/${extraInGroup.pci}/device`, `0x${extraInGroup.id.split(":")[1]}\n`);
    }
  }
  const neverReboots = (calls: string[]) =>
    expect(calls.filter((c) => /reboot|shutdown|kexec|systemctl (reboot|poweroff)/.test(c))).toEqual([]);

  it("writes the command line (systemd-boot and GRUB), the module files, refreshes boot and initramfs, and says a reboot is needed", () => {
    const s = proxmox();
    const r = ok(s.run(f.script, f.params));
    expect(s.read("etc/kernel/cmdline")).toBe("root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt\n");
    expect(s.read("etc/default/grub")).toContain('GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"\n');
    expect(s.read("etc/default/grub")).toContain('GRUB_CMDLINE_LINUX=""\n');
    expect(s.read("etc/modprobe.d/phoenix-vfio.conf")).toBe(f.params.VFIO_MODPROBE_CONF);
    expect(s.read("etc/modules-load.d/phoenix-vfio.conf")).toBe(
      "# Managed by Phoenix Hypervisor: VFIO for the GPUs passed to VMs.\nvfio\nvfio_iommu_type1\nvfio_pci\n",
    );
    expect(named(r, /^(proxmox-boot-tool|update-grub|update-initramfs)/)).toEqual([
      "proxmox-boot-tool refresh",
      "update-initramfs -u -k all",
    ]);
    expect(r.stdout).toContain(
      "REBOOT NEEDED on this node for VFIO: the kernel command line (intel_iommu=on iommu=pt), 0000:01:00.0 on vfio-pci (now nvidia), 0000:01:00.1 on vfio-pci (now snd_hda_intel)",
    );
    expect(r.stdout).toContain("the IOMMU is off: IOMMU groups are checked at the first up after the reboot");
    neverReboots(r.calls);
    expect(ok(s.run(f.checkScript!, f.params)).stdout).toBe(
      [
        "IOMMU: intel_iommu=on iommu=pt not on the running kernel's command line",
        "0000:01:00.0 (GPU 0): nvidia",
        "0000:01:00.1 (GPU 0): snd_hda_intel",
        "reboot needed: the kernel command line (intel_iommu=on iommu=pt), 0000:01:00.0 on vfio-pci (now nvidia), 0000:01:00.1 on vfio-pci (now snd_hda_intel)",
        "",
      ].join("\n"),
    );
    // Again before the reboot: nothing rewritten or refreshed, the reboot still asked for.
    const again = ok(s.run(f.script, f.params));
    expect(named(again, /^(proxmox-boot-tool|update-grub|update-initramfs)/)).toEqual([]);
    expect(again.stdout).toContain("REBOOT NEEDED");
    neverReboots(again.calls);
  });

  it("after the reboot: the groups are checked, the devices are on vfio-pci, the check says so", () => {
    const s = proxmox();
    ok(s.run(f.script, f.params));
    reboot(s);
    const r = ok(s.run(f.script, f.params));
    expect(r.stdout).toContain("VFIO ready:  0000:01:00.0 0000:01:00.1 on vfio-pci");
    expect(named(r, /^(proxmox-boot-tool|update-grub|update-initramfs)/)).toEqual([]);
    expect(ok(s.run(f.checkScript!, f.params)).stdout).toBe(
      [
        "IOMMU: intel_iommu=on iommu=pt on the kernel command line",
        "0000:01:00.0 (GPU 0): vfio-pci, IOMMU group 14",
        "0000:01:00.1 (GPU 0): vfio-pci, IOMMU group 14",
        "",
      ].join("\n"),
    );
  });

  it("refuses a group holding a device nobody declared, before writing anything", () => {
    const s = proxmox();
    ok(s.run(f.script, f.params));
    reboot(s, { pci: "0000:01:00.2", cls: "0x0c0330", id: "10de:1aec" });
    fs.writeFileSync(s.file("etc/modprobe.d/phoenix-vfio.conf"), "edited by hand\n");
    const r = s.run(f.script, f.params);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "IOMMU group 14 of GPU 0 (0000:01:00.0) also holds 0000:01:00.2 (10de:1aec, class 0x0c0330): a VM takes the whole group; declare it under the GPU's iommuGroupDevices",
    );
    expect(s.read("etc/modprobe.d/phoenix-vfio.conf")).toBe("edited by hand\n");
    expect(s.run(f.checkScript!, f.params)).toMatchObject({ code: 1 });
  });

  it("refuses a group other than the declared one", () => {
    const s = proxmox();
    reboot(s);
    const wrong = renderVfio({ ...SETTINGS, devices: SETTINGS.devices.map((d) => ({ ...d, iommuGroup: 3 })) });
    const r = s.run(wrong.script, wrong.params);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("GPU 0 (0000:01:00.0) is in IOMMU group 14, the definition says 3: set iommuGroup: 14");
  });

  it("on AMD: iommu=pt (AMD's IOMMU is on unless disabled); GRUB alone: update-grub", () => {
    const s = proxmox("AuthenticAMD");
    fs.rmSync(s.file("etc/kernel/cmdline"));
    fs.rmSync(s.file("etc/kernel/proxmox-boot-uuids"));
    const r = ok(s.run(f.script, f.params));
    expect(s.read("etc/default/grub")).toContain('GRUB_CMDLINE_LINUX_DEFAULT="quiet iommu=pt"\n');
    expect(named(r, /^(proxmox-boot-tool|update-grub|update-initramfs)/)).toEqual(["update-grub", "update-initramfs -u -k all"]);
  });
});
