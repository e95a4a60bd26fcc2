// Synthetic definitions for benchmarks: one node, a base and a golden template, N guests.
import type { DefinitionInput } from "../definition/schema";

export function syntheticDefinition(guests: number, endpoint = "https://127.0.0.1:1/"): DefinitionInput {
  return {
    version: 1,
    nodes: [
      {
        name: "bench",
        api: { endpoint, insecure: true, username: "root@pam", password: { secret: "proxmoxRootPassword" } },
        ssh: { host: "127.0.0.1", port: 1, privateKey: { secret: "nodeSshKey" } },
        storage: [
          { id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl"] },
          { id: "tank-lxc", type: "zfspool", pool: "tank/lxc", content: ["rootdir"] },
        ],
      },
    ],
    network: {
      bridges: [
        {
          name: "vmbr0",
          subnet: "10.10.0.0/16",
          gateway: "10.10.0.1",
          pools: [{ name: "guests", range: "10.10.1.1-10.10.4.254" }],
        },
      ],
    },
    templates: [
      { name: "debian-12", source: { storage: "local", file: "vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" } },
      {
        name: "golden",
        vmid: 900,
        parent: "debian-12",
        nesting: true,
        network: [{ ip: "10.10.0.90/16" }],
        features: { docker: true },
      },
    ],
    guests: Array.from({ length: guests }, (_, i) => ({
      vmid: 1000 + i,
      name: `guest-${i}`,
      template: "golden",
      cores: 1,
      memory: 512,
      disk: { storage: "tank-lxc", size: 4 },
      network: [{ ip: "auto" }],
      ...(i > 0 && i % 10 === 0 ? { dependsOn: [`guest-${i - 1}`] } : {}),
    })),
  };
}

/**
 * The same N guests for placement: from the base template on storage every node mounts, no node given, a spread
 * group per ten guests, one in twenty asking for a GPU. `nodes` nodes of equal capacity, the last with the GPUs.
 */
export function placedDefinition(guests: number, nodes: number, endpoint = "https://127.0.0.1:1/"): DefinitionInput {
  const base = syntheticDefinition(guests, endpoint);
  const node = base.nodes[0]!;
  return {
    ...base,
    nodes: Array.from({ length: nodes }, (_, k) => ({
      ...node,
      name: `bench${k + 1}`,
      cores: 64,
      memory: 262_144,
      overcommit: { cpu: 4 },
      storage: [
        { id: "shared", type: "nfs", content: ["vztmpl"] },
        { id: "tank-lxc", type: "zfspool", pool: "tank/lxc", content: ["rootdir"] },
      ],
      gpus: k === nodes - 1 ? [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ index: i, pci: `0000:0${i + 1}:00.0` })) : [],
    })),
    templates: [
      {
        name: "debian-12",
        node: "bench1",
        source: { storage: "shared", file: "vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" },
      },
    ],
    guests: base.guests!.map((g, i) => ({
      ...g,
      template: "debian-12",
      spread: `group-${Math.floor(i / 10)}`,
      ...(i % 20 === 5 ? { gpuCount: 1 } : {}),
    })),
  };
}
