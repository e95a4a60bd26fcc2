// The node's GPU readiness at boot: phoenix-nvidia-init.service loads the driver, creates every /dev/nvidia* node
// (nvidia-uvm included) and turns persistence mode on before Proxmox starts guests (pve-guests.service), so a GPU
// container that starts at boot finds its devices. Installed with the host driver (nodes[].nvidia.bootInit).
import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionInput, RemoteScript } from "../engine/script-provider";
import { type RenderedFeature, featureResource, scriptOf } from "../engine/feature";

export interface GpuInitSettings {
  /** The GPUs the host keeps (not passed to VMs): their /dev/nvidia<index> and driver minor are checked. */
  gpus: { index: number; pci?: string }[];
  /** Persistence mode on every GPU, or only on these PCI addresses (a VM's GPU must stay free to be unbound). */
  persistence: "all" | string[];
}

export const GPU_INIT_UNIT = "phoenix-nvidia-init.service";

/** The unit's text: pure, so tests check it with systemd-analyze verify. */
export function gpuInitUnit(s: GpuInitSettings): string {
  const pci = (a: string) => {
    if (!/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(a)) throw new Error(`not a PCI address: ${JSON.stringify(a)}`);
    return a;
  };
  const persistence =
    s.persistence === "all"
      ? ["ExecStart=/usr/bin/nvidia-smi --persistence-mode=1"]
      : s.persistence.map((a) => `ExecStart=/usr/bin/nvidia-smi --id=${pci(a)} --persistence-mode=1`);
  return [
    "[Unit]",
    "Description=NVIDIA device nodes and persistence mode before Proxmox starts guests (managed by Phoenix Hypervisor)",
    "After=systemd-modules-load.service",
    "Before=pve-guests.service",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    "# Loads the nvidia module and creates /dev/nvidiactl and /dev/nvidia0…N.",
    "ExecStart=/usr/bin/nvidia-smi --list-gpus",
    ...persistence,
    "# Loads nvidia-uvm and creates /dev/nvidia-uvm and /dev/nvidia-uvm-tools, which CUDA in containers needs.",
    "ExecStart=/usr/bin/nvidia-modprobe -u -c=0",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** The step's time limit: a unit written and started (nvidia-smi, nvidia-modprobe), the driver already installed. */
export const GPU_INIT_TIMEOUT_SECONDS = 300;

export function renderGpuInit(s: GpuInitSettings): RenderedFeature {
  return {
    script: scriptOf("nvidia/nvidia-lib.sh", "nvidia/nvidia-gpu-init.sh"),
    checkScript: scriptOf("nvidia/nvidia-lib.sh", "nvidia/nvidia-gpu-init-check.sh"),
    params: {
      NVIDIA_INIT_UNIT: gpuInitUnit(s),
      NVIDIA_HOST_GPUS: s.gpus.map((g) => `${g.index}=${g.pci ?? ""}`).join(" "),
    },
    secretRefs: {},
    timeout: { seconds: GPU_INIT_TIMEOUT_SECONDS },
  };
}

export function nvidiaGpuInit(
  name: string,
  node: ConnectionInput,
  settings: GpuInitSettings,
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  return featureResource(name, { connection: node }, renderGpuInit(settings), {}, opts);
}
