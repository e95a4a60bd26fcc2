// VFIO on a node (nodes[].vfio): the IOMMU on the kernel command line (GRUB and systemd-boot, as Proxmox boots),
// vfio-pci bound at boot to exactly the GPUs passed to VMs (and the declared devices of their IOMMU groups), never a
// driver blacklisted; the IOMMU groups read from the node and refused when they hold an undeclared device. The files
// are rendered here (pure); the change needs a reboot, which Phoenix says and never does.
import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionInput, RemoteScript } from "../engine/script-provider";
import { type RenderedFeature, featureResource, scriptOf } from "../engine/feature";

export interface VfioSettings {
  devices: { pci: string; deviceId: string; gpu: number; iommuGroup?: number }[];
  /** Device ids the host keeps for itself: a VM device with one of them is bound by address, not by id. */
  hostDeviceIds: string[];
}

/** Loaded at boot (kernels from 6.2, as in Proxmox VE 8, have no vfio_virqfd: it is part of vfio). */
export const VFIO_MODULES = ["vfio", "vfio_iommu_type1", "vfio_pci"];
/** Drivers that would otherwise take a GPU or its functions first: they wait for vfio-pci (softdep), never blacklisted. */
export const VFIO_SOFTDEPS = ["nvidia", "nouveau", "snd_hda_intel", "xhci_pci", "i2c_nvidia_gpu"];

const PCI = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;
const ID = /^[0-9a-f]{4}:[0-9a-f]{4}$/;

/** /etc/modprobe.d/phoenix-vfio.conf */
export function vfioModprobeConf(s: VfioSettings): string {
  for (const d of s.devices)
    if (!PCI.test(d.pci) || !ID.test(d.deviceId)) throw new Error(`vfio device ${JSON.stringify(d)} is not a PCI address and id`);
  const byId = [...new Set(s.devices.map((d) => d.deviceId).filter((id) => !s.hostDeviceIds.includes(id)))];
  const byAddress = s.devices.filter((d) => s.hostDeviceIds.includes(d.deviceId)).map((d) => d.pci);
  return [
    "# Managed by Phoenix Hypervisor: vfio-pci takes the devices passed to VMs at boot, before any other driver.",
    ...(byId.length > 0 ? [`options vfio-pci ids=${byId.join(",")}`] : []),
    ...(byAddress.length > 0
      ? [
          "# Same ids as devices the host keeps: these are bound by address (driver_override), not by id.",
          `install vfio-pci for d in ${byAddress.join(" ")}; do echo vfio-pci > /sys/bus/pci/devices/$d/driver_override; done; /sbin/modprobe --ignore-install vfio-pci $CMDLINE_OPTS`,
        ]
      : []),
    ...VFIO_SOFTDEPS.map((m) => `softdep ${m} pre: vfio-pci`),
    "",
  ].join("\n");
}

/** /etc/modules-load.d/phoenix-vfio.conf */
export function vfioModulesConf(): string {
  return ["# Managed by Phoenix Hypervisor: VFIO for the GPUs passed to VMs.", ...VFIO_MODULES, ""].join("\n");
}

/** Kernel parameters that turn the IOMMU on: Intel needs it asked for; AMD's is on unless disabled (iommu=pt for both). */
export function iommuParams(cpuVendor: "intel" | "amd"): string[] {
  return cpuVendor === "intel" ? ["intel_iommu=on", "iommu=pt"] : ["iommu=pt"];
}

/** The step's time limit: update-initramfs for every installed kernel and the boot loader's refresh take minutes. */
export const VFIO_TIMEOUT_SECONDS = 1800;

export function renderVfio(s: VfioSettings): RenderedFeature {
  return {
    script: scriptOf("vfio/vfio-lib.sh", "vfio/vfio.sh"),
    checkScript: scriptOf("vfio/vfio-lib.sh", "vfio/vfio-check.sh"),
    params: {
      VFIO_MODPROBE_CONF: vfioModprobeConf(s),
      VFIO_MODULES_CONF: vfioModulesConf(),
      VFIO_INTEL_PARAMS: iommuParams("intel").join(" "),
      VFIO_AMD_PARAMS: iommuParams("amd").join(" "),
      // "pci=gpu:group" per device (group "" when not declared).
      VFIO_DEVICES: s.devices.map((d) => `${d.pci}=${d.gpu}:${d.iommuGroup ?? ""}`).join(" "),
    },
    secretRefs: {},
    timeout: { seconds: VFIO_TIMEOUT_SECONDS },
  };
}

export function vfioPreparation(
  name: string,
  node: ConnectionInput,
  settings: VfioSettings,
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  return featureResource(name, { connection: node }, renderVfio(settings), {}, opts);
}
