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

/** A device the node binds to vfio-pci at boot: a GPU passed to a VM, or a device of its IOMMU group. */
export interface VfioDevice {
  pci: string;
  deviceId: string;
  /** The GPU's index, or the index of the GPU whose group it is in. */
  gpu: number;
  /** The IOMMU group declared for the GPU, when given. */
  iommuGroup?: number;
}

export interface PlannedVfio {
  devices: VfioDevice[];
  /** Device ids of what the host keeps (GPUs for containers, their group devices): never bound by id. */
  hostDeviceIds: string[];
}

const full = (pci: string) => (pci.length === 7 ? `0000:${pci}` : pci).toLowerCase();

/** What the node's VFIO step binds: the GPUs its VMs take and their declared group devices; undefined without vfio. */
export function nodeVfio(node: Node, vmGpus: ReadonlySet<number>): PlannedVfio | undefined {
  if (!node.vfio) return undefined;
  const devices: VfioDevice[] = [];
  const hostIds = new Set<string>();
  for (const g of node.gpus) {
    const all = [...(g.pci && g.deviceId ? [{ pci: g.pci, deviceId: g.deviceId }] : []), ...(g.iommuGroupDevices ?? [])];
    if (vmGpus.has(g.index))
      for (const d of all)
        devices.push({
          pci: full(d.pci),
          deviceId: d.deviceId.toLowerCase(),
          gpu: g.index,
          ...(g.iommuGroup !== undefined ? { iommuGroup: g.iommuGroup } : {}),
        });
    else for (const d of all) hostIds.add(d.deviceId.toLowerCase());
  }
  return { devices: devices.sort((a, b) => (a.pci < b.pci ? -1 : 1)), hostDeviceIds: [...hostIds].sort() };
}

/** PCI addresses of the GPUs the host keeps (persistence mode is turned on for these only: a VM's GPU must stay free). */
export function hostGpuAddresses(node: Node, vmGpus: ReadonlySet<number>): string[] {
  return node.gpus.filter((g) => !vmGpus.has(g.index) && g.pci !== undefined).map((g) => full(g.pci!));
}
