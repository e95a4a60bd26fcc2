// GPU passthrough: device nodes for LXC containers, PCI mappings for VMs.
import type { Node } from "../definition/schema";

/** Device nodes every GPU container needs besides its own /dev/nvidiaN (control, UVM, modeset, caps). */
export const NVIDIA_SHARED_DEVICES = [
  "/dev/nvidiactl",
  "/dev/nvidia-uvm",
  "/dev/nvidia-uvm-tools",
  "/dev/nvidia-modeset",
  "/dev/nvidia-caps/nvidia-cap1",
  "/dev/nvidia-caps/nvidia-cap2",
] as const;

export function lxcGpuDevices(gpus: readonly number[]): string[] {
  if (gpus.length === 0) return [];
  return [...[...gpus].sort((a, b) => a - b).map((i) => `/dev/nvidia${i}`), ...NVIDIA_SHARED_DEVICES];
}

export interface PciMapping {
  /** Cluster-wide resource mapping id (Datacenter → Resource Mappings → PCI). */
  id: string;
  node: string;
  index: number;
  pci: string;
  deviceId?: string;
  iommuGroup?: number;
}

export function gpuMappingId(node: string, index: number): string {
  return `${node}-gpu${index}`;
}

export function nodeGpuMappings(node: Node): PciMapping[] {
  return node.gpus.flatMap((g) =>
    g.pci === undefined
      ? []
      : [
          {
            id: gpuMappingId(node.name, g.index),
            node: node.name,
            index: g.index,
            pci: g.pci.length === 7 ? `0000:${g.pci}` : g.pci,
            ...(g.deviceId ? { deviceId: g.deviceId.toLowerCase() } : {}),
            ...(g.iommuGroup !== undefined ? { iommuGroup: g.iommuGroup } : {}),
          },
        ],
  );
}

export interface HostPci {
  /** hostpci0, hostpci1, … */
  device: string;
  mapping: string;
  pcie: boolean;
}

export function vmHostPci(node: string, gpus: readonly number[]): HostPci[] {
  return [...gpus].sort((a, b) => a - b).map((i, k) => ({ device: `hostpci${k}`, mapping: gpuMappingId(node, i), pcie: true }));
}
