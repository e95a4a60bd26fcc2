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
