// A table of bad definitions: each case breaks one thing in a valid base definition and must report
// exactly the expected problems (severity, path, message) — and no error at any other path, so a case
// cannot pass because some unrelated mistake happened to produce a similar message.
import { describe, expect, it } from "vitest";
import { checkShape, parseText } from "../stacks/load";
import type { Problem, Severity } from "../stacks/problems";
import { validate } from "../stacks/validate";

// Test data is edited freely by the cases; its type is the raw input a YAML file would give.
type Raw = any;

/**
 * Modelled on stacks/dev.yaml, plus what GPU and VM cases need: two GPUs and an NVIDIA driver on the
 * node, an NVIDIA golden template (pinning CUDA 12.8) and a VM base template.
 */
function base(): Raw {
  return {
    version: 1,
    access: { sshKeys: [{ secret: "guestSshPublicKey" }] },
    nodes: [
      {
        name: "lab",
        cores: 8,
        memory: 8192,
        api: { endpoint: "https://127.0.0.1:8006/", insecure: true, username: "root@pam", password: { secret: "proxmoxRootPassword" } },
        ssh: { host: "127.0.0.1", port: 8022, user: "root", privateKey: { secret: "nodeSshKey" } },
        storage: [
          { id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl", "iso", "backup", "snippets"] },
          { id: "tank-lxc", type: "zfspool", pool: "tank/lxc-disks", content: ["rootdir", "images"] },
        ],
        zfs: {
          pools: [{ name: "tank" }],
          datasets: [
            { name: "tank/lxc-disks", properties: { compression: "lz4", recordsize: "16K" } },
            { name: "tank/shared-data", properties: { compression: "lz4", recordsize: "128K", quota: "1G" }, protect: false },
          ],
        },
        gpus: [
          { index: 0, pci: "0000:01:00.0" },
          { index: 1, pci: "0000:02:00.0" },
        ],
        nvidia: { driverVersion: "580.76.05" },
      },
    ],
    network: {
      domain: "lab.internal",
      bridges: [
        {
          name: "vmbr0",
          subnet: "10.100.0.0/24",
          gateway: "10.100.0.1",
          dns: ["10.100.0.1"],
          pools: [{ name: "guests", range: "10.100.0.100-10.100.0.199" }],
        },
      ],
    },
    templates: [
      // templates[0]
      { name: "debian-12-base", type: "lxc", os: "debian-12", source: { storage: "local", file: "vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" } },
      // templates[1]
      {
        name: "docker-golden",
        vmid: 901,
        parent: "debian-12-base",
        cores: 2,
        memory: 1024,
        disk: { storage: "tank-lxc", size: 4 },
        nesting: true,
        network: [{ name: "eth0", bridge: "vmbr0", ip: "10.100.0.91/24" }],
        features: { docker: { source: "debian" } },
        snapshot: "golden",
      },
      // templates[2]
      {
        name: "nvidia-golden",
        vmid: 902,
        parent: "debian-12-base",
        gpus: [0, 1],
        network: [{ name: "eth0", bridge: "vmbr0", ip: "10.100.0.92/24" }],
        features: { nvidia: { cudaVersion: "12.8" } },
      },
      // templates[3]
      { name: "cloud-base", type: "vm", vmid: 9000, source: { storage: "local", file: "iso/noble-server-cloudimg-amd64.img" } },
    ],
    guests: [
      // guests[0]
      {
        vmid: 200,
        name: "portainer",
        template: "docker-golden",
        cores: 1,
        memory: 1024,
        disk: { storage: "tank-lxc", size: 4 },
        network: [{ name: "eth0", bridge: "vmbr0", ip: "10.100.0.10/24" }],
        features: { portainer: { role: "server", adminPassword: { secret: "portainerAdminPassword" } } },
        startAtBoot: true,
        bootOrder: 1,
      },
      // guests[1]
      {
        vmid: 210,
        name: "data",
        template: "debian-12-base",
        cores: 1,
        memory: 512,
        disk: { storage: "tank-lxc", size: 2 },
        network: [{ name: "eth0", bridge: "vmbr0", ip: "auto" }],
        mountPoints: [{ dataset: "tank/shared-data", path: "/data" }],
        dependsOn: ["portainer"],
      },
    ],
  };
}

/** The one path every case goes through: shape first, semantics only when the shape is right. */
function problemsOf(raw: unknown): Problem[] {
  const shaped = checkShape(raw);
  return shaped.definition ? validate(shaped.definition) : shaped.problems;
}

const lxc = (vmid: number, name: string, extra: Raw = {}): Raw => ({ vmid, name, template: "debian-12-base", network: [{ ip: "auto" }], ...extra });
const vm = (vmid: number, name: string, extra: Raw = {}): Raw => ({ vmid, name, type: "vm", template: "cloud-base", network: [{ ip: "auto" }], ...extra });
/** An LXC guest cloned from the NVIDIA golden template (so nvidia and GPUs 0,1 are inherited). */
const gpuGuest = (extra: Raw = {}): Raw => ({ vmid: 220, name: "llm", template: "nvidia-golden", network: [{ ip: "auto" }], ...extra });

interface Expected {
  path: string;
  message: string;
  severity?: Severity;
  /** Checked when given. */
  fix?: string;
}
interface Case {
  name: string;
  mutate: (d: Raw) => void;
  expect: Expected[];
}

const SECRET_VALUE = "hunter2-Sup3r-s3cret";

const cases: Case[] = [
  // ---- shape (stacks/load.ts checkShape) ----
  { name: "unknown field", mutate: (d) => (d.guests[0].colour = "blue"), expect: [{ path: "guests[0].colour", message: "unknown field 'colour'" }] },
  {
    name: "unknown field in a golden template (union reports the closest branch)",
    mutate: (d) => (d.templates[1].colour = "blue"),
    expect: [{ path: "templates[1].colour", message: "unknown field 'colour'" }],
  },
  { name: "wrong type", mutate: (d) => (d.guests[0].cores = "two"), expect: [{ path: "guests[0].cores", message: "expected number, got string" }] },
  { name: "wrong enum value", mutate: (d) => (d.guests[0].type = "container"), expect: [{ path: "guests[0].type", message: 'must be one of "lxc", "vm"' }] },
  { name: "missing required field", mutate: (d) => delete d.guests[0].template, expect: [{ path: "guests[0].template", message: "missing required field (expected string)" }] },
  { name: "bad CIDR text (subnet)", mutate: (d) => (d.network.bridges[0].subnet = "10.100.0/24"), expect: [{ path: "network.bridges[0].subnet", message: "an IPv4 CIDR such as 10.0.0.5/24" }] },
  {
    name: "bad CIDR text (guest ip)",
    mutate: (d) => (d.guests[1].network[0].ip = "10.100.0.5"),
    expect: [{ path: "guests[1].network[0].ip", message: 'expected a static CIDR such as 10.0.0.5/24, "auto" (from a pool) or "dhcp"' }],
  },
  { name: "CIDR with an octet above 255", mutate: (d) => (d.guests[0].network[0].ip = "10.100.0.300/24"), expect: [{ path: "guests[0].network[0].ip", message: "'10.100.0.300/24' is not a valid IPv4 CIDR" }] },
  { name: "vlan out of range", mutate: (d) => (d.guests[1].network[0].vlan = 5000), expect: [{ path: "guests[1].network[0].vlan", message: "Too big: expected number to be <=4094" }] },
  { name: "no nodes", mutate: (d) => (d.nodes = []), expect: [{ path: "nodes", message: "declare at least one Proxmox node" }] },

  // ---- identity (validate/identity.ts) ----
  { name: "duplicate vmid", mutate: (d) => (d.guests[1].vmid = 200), expect: [{ path: "guests[1].vmid", message: "vmid 200 is already used by guests[0] (portainer)" }] },
  { name: "vmid of a guest equals a template's", mutate: (d) => (d.guests[0].vmid = 901), expect: [{ path: "guests[0].vmid", message: "vmid 901 is already used by templates[1] (docker-golden)" }] },
  {
    name: "duplicate name",
    mutate: (d) => d.guests.push(lxc(211, "portainer")),
    expect: [{ path: "guests[2].name", message: "name 'portainer' is already used by guests[0]" }],
  },
  { name: "vmid 99 (below range)", mutate: (d) => (d.guests[1].vmid = 99), expect: [{ path: "guests[1].vmid", message: "vmid 99 is outside Proxmox's range 100–999999999" }] },
  {
    name: "vmid 1000000000 (above range)",
    mutate: (d) => (d.guests[1].vmid = 1_000_000_000),
    expect: [{ path: "guests[1].vmid", message: "vmid 1000000000 is outside Proxmox's range 100–999999999" }],
  },
  { name: "unknown node", mutate: (d) => (d.guests[1].node = "pve2"), expect: [{ path: "guests[1].node", message: "unknown node 'pve2'" }] },
  {
    name: "node required with two nodes",
    mutate: (d) => {
      d.nodes.push({ name: "pve2" });
      for (const t of d.templates) t.node = "lab";
      d.guests[0].node = "lab";
    },
    expect: [{ path: "guests[1].node", message: "node is required when the definition declares more than one node" }],
  },
  { name: "unknown template", mutate: (d) => (d.guests[1].template = "ubuntu-base"), expect: [{ path: "guests[1].template", message: "unknown template 'ubuntu-base'" }] },
  { name: "guest used as template", mutate: (d) => (d.guests[1].template = "portainer"), expect: [{ path: "guests[1].template", message: "'portainer' is a guest, not a template" }] },
  {
    name: "lxc from vm template",
    mutate: (d) => (d.guests[1].template = "cloud-base"),
    expect: [{ path: "guests[1].template", message: "lxc 'data' cannot be made from vm template 'cloud-base'" }],
  },
  {
    name: "vm from lxc template",
    mutate: (d) => d.guests.push(vm(300, "vm1", { template: "debian-12-base" })),
    expect: [{ path: "guests[2].template", message: "vm 'vm1' cannot be made from lxc template 'debian-12-base'" }],
  },
  { name: "unknown dependency", mutate: (d) => (d.guests[1].dependsOn = ["ghost"]), expect: [{ path: "guests[1].dependsOn[0]", message: "unknown dependency 'ghost'" }] },
  { name: "self dependency", mutate: (d) => (d.guests[1].dependsOn = ["portainer", "data"]), expect: [{ path: "guests[1].dependsOn[1]", message: "'data' depends on itself" }] },
  {
    // findCycle walks from the first stuck machine (a) along dependsOn: a needs b, b needs c, c needs a.
    name: "dependency cycle of 3",
    mutate: (d) => d.guests.push(lxc(301, "a", { dependsOn: ["b"] }), lxc(302, "b", { dependsOn: ["c"] }), lxc(303, "c", { dependsOn: ["a"] })),
    expect: [{ path: "guests[2].dependsOn", message: "dependency cycle: a → b → c → a" }],
  },
  {
    name: "dependency cycle through a template's clone",
    mutate: (d) => (d.templates[1].dependsOn = ["portainer"]),
    expect: [{ path: "templates[1].dependsOn", message: "dependency cycle: docker-golden → portainer → docker-golden" }],
  },
  {
    name: "template parent cycle",
    mutate: (d) => {
      d.templates[1].parent = "nvidia-golden";
      d.templates[2].parent = "docker-golden";
    },
    expect: [{ path: "templates[1].parent", message: "templates clone from each other in a cycle: docker-golden → nvidia-golden → docker-golden" }],
  },
  {
    name: "template is its own parent",
    mutate: (d) => (d.templates[2].parent = "nvidia-golden"),
    expect: [{ path: "templates[2].parent", message: "templates clone from each other in a cycle: nvidia-golden → nvidia-golden" }],
  },
  {
    name: "LXC base template with a vmid",
    mutate: (d) => (d.templates[0].vmid = 8000),
    expect: [{ path: "templates[0].vmid", message: "LXC base template 'debian-12-base' is a file on a storage and takes no vmid" }],
  },
  {
    name: "VM base template without vmid",
    mutate: (d) => delete d.templates[3].vmid,
    expect: [{ path: "templates[3].vmid", message: "VM base template 'cloud-base' needs a vmid (a Proxmox VM template is a VM)" }],
  },

  // ---- network (validate/network.ts) ----
  {
    name: "static IP outside subnet",
    mutate: (d) => (d.guests[0].network[0].ip = "10.200.0.10/24"),
    expect: [{ path: "guests[0].network[0].ip", message: "10.200.0.10/24 is outside bridge 'vmbr0' subnet 10.100.0.0/24" }],
  },
  { name: "static IP equals gateway", mutate: (d) => (d.guests[0].network[0].ip = "10.100.0.1/24"), expect: [{ path: "guests[0].network[0].ip", message: "10.100.0.1 is the gateway's address" }] },
  {
    name: "two guests with the same static IP",
    mutate: (d) => (d.guests[1].network[0].ip = "10.100.0.10/24"),
    expect: [{ path: "guests[1].network[0].ip", message: "10.100.0.10 is already used by guests[0].network[0] (portainer)" }],
  },
  {
    name: "wrong prefix",
    mutate: (d) => (d.guests[0].network[0].ip = "10.100.0.10/16"),
    expect: [{ path: "guests[0].network[0].ip", message: "prefix /16 differs from bridge 'vmbr0' subnet 10.100.0.0/24" }],
  },
  {
    name: "auto IP with no pool",
    mutate: (d) => (d.network.bridges[0].pools = []),
    expect: [{ path: "guests[1].network[0].ip", message: "ip is auto but bridge 'vmbr0' has no address pool" }],
  },
  { name: "unknown pool", mutate: (d) => (d.guests[1].network[0].pool = "servers"), expect: [{ path: "guests[1].network[0].pool", message: "bridge 'vmbr0' has no pool 'servers'" }] },
  {
    name: "pool with a static address",
    mutate: (d) => (d.guests[0].network[0].pool = "guests"),
    expect: [{ path: "guests[0].network[0].pool", message: "pool is only used with ip: auto (ip is 10.100.0.10/24)" }],
  },
  { name: "unknown bridge", mutate: (d) => (d.guests[1].network[0].bridge = "vmbr9"), expect: [{ path: "guests[1].network[0].bridge", message: "unknown bridge 'vmbr9'" }] },
  {
    name: "pool runs dry (2 addresses, 3 auto guests)",
    mutate: (d) => {
      d.network.bridges[0].pools[0].range = "10.100.0.100-10.100.0.101";
      d.guests.push(lxc(220, "extra1"), lxc(221, "extra2"));
    },
    expect: [
      {
        path: "network.bridges[0].pools[0].range",
        message: "pool 'guests' on bridge 'vmbr0' runs dry: 3 interfaces ask for an address, 2 are free (10.100.0.100–10.100.0.101, less static and gateway addresses)",
      },
    ],
  },
  {
    name: "pool range outside subnet",
    mutate: (d) => (d.network.bridges[0].pools[0].range = "10.101.0.100-10.101.0.199"),
    expect: [{ path: "network.bridges[0].pools[0].range", message: "range 10.101.0.100-10.101.0.199 is not inside 10.100.0.0/24" }],
  },
  {
    name: "pool range reversed",
    mutate: (d) => (d.network.bridges[0].pools[0].range = "10.100.0.199-10.100.0.100"),
    expect: [{ path: "network.bridges[0].pools[0].range", message: "range 10.100.0.199-10.100.0.100 ends before it starts" }],
  },
  { name: "subnet with host bits set", mutate: (d) => (d.network.bridges[0].subnet = "10.100.0.5/24"), expect: [{ path: "network.bridges[0].subnet", message: "subnet 10.100.0.5/24 has host bits set" }] },
  {
    name: "bridge gateway outside subnet",
    mutate: (d) => (d.network.bridges[0].gateway = "10.200.0.1"),
    expect: [{ path: "network.bridges[0].gateway", message: "gateway 10.200.0.1 is not a host address in 10.100.0.0/24" }],
  },
  {
    name: "MAC collision (case-insensitive)",
    mutate: (d) => {
      d.guests[0].network[0].mac = "52:54:00:AB:CD:EF";
      d.guests[1].network[0].mac = "52:54:00:ab:cd:ef";
    },
    expect: [{ path: "guests[1].network[0].mac", message: "MAC 52:54:00:ab:cd:ef is already used by guests[0].network[0]" }],
  },
  { name: "multicast MAC", mutate: (d) => (d.guests[1].network[0].mac = "01:00:5E:00:00:01"), expect: [{ path: "guests[1].network[0].mac", message: "MAC 01:00:5E:00:00:01 is a multicast address" }] },
  {
    name: "interface declared twice",
    mutate: (d) => d.guests[1].network.push({ name: "eth0", ip: "dhcp" }),
    expect: [{ path: "guests[1].network[1].name", message: "interface 'eth0' is declared twice on 'data'" }],
  },

  // ---- resources (validate/resources.ts) ----
  { name: "GPU index not on node", mutate: (d) => (d.guests[1].gpus = [2]), expect: [{ path: "guests[1].gpus[0]", message: "GPU 2 does not exist on node 'lab'" }] },
  { name: "duplicate GPU in a guest", mutate: (d) => (d.guests[1].gpus = [0, 0]), expect: [{ path: "guests[1].gpus", message: "a GPU index is listed twice" }] },
  {
    name: "GPU index declared twice on the node",
    mutate: (d) => d.nodes[0].gpus.push({ index: 1, pci: "0000:03:00.0" }),
    expect: [{ path: "nodes[0].gpus[2].index", message: "GPU index 1 is declared twice on node 'lab'" }],
  },
  {
    name: "VM GPU without a device id",
    mutate: (d) => d.guests.push(vm(300, "vm1", { gpus: [0] })),
    expect: [{ path: "guests[2].gpus", message: "VM 'vm1' needs GPU 0's PCI address and device id to pass it through" }],
  },
  {
    name: "unknown dataset in mountPoints",
    mutate: (d) => (d.guests[1].mountPoints[0].dataset = "tank/models"),
    expect: [{ path: "guests[1].mountPoints[0].dataset", message: "unknown dataset 'tank/models' on node 'lab'" }],
  },
  {
    name: "mount point with both dataset and hostPath",
    mutate: (d) => (d.guests[1].mountPoints[0].hostPath = "/srv/data"),
    expect: [{ path: "guests[1].mountPoints[0]", message: "a mount point needs exactly one of dataset or hostPath" }],
  },
  {
    name: "mount point with neither dataset nor hostPath",
    mutate: (d) => delete d.guests[1].mountPoints[0].dataset,
    expect: [{ path: "guests[1].mountPoints[0]", message: "a mount point needs exactly one of dataset or hostPath" }],
  },
  {
    name: "subdir escaping the dataset",
    mutate: (d) => (d.guests[1].mountPoints[0].subdir = "../etc"),
    expect: [{ path: "guests[1].mountPoints[0].subdir", message: "subdir is a relative directory inside the mounted dataset" }],
  },
  {
    name: "path mounted twice",
    mutate: (d) => d.guests[1].mountPoints.push({ hostPath: "/srv", path: "/data" }),
    expect: [{ path: "guests[1].mountPoints[1].path", message: "/data is mounted twice in 'data'" }],
  },
  { name: "unknown storage", mutate: (d) => (d.guests[1].disk.storage = "ssd"), expect: [{ path: "guests[1].disk.storage", message: "unknown storage 'ssd' on node 'lab'" }] },
  {
    name: "storage without rootdir content",
    mutate: (d) => (d.guests[1].disk.storage = "local"),
    expect: [{ path: "guests[1].disk.storage", message: "storage 'local' does not hold rootdir content (it holds vztmpl, iso, backup, snippets)" }],
  },
  {
    name: "zfspool storage without its dataset",
    mutate: (d) => delete d.nodes[0].storage[1].pool,
    expect: [{ path: "nodes[0].storage[1].pool", message: "zfspool storage 'tank-lxc' needs the ZFS dataset it lives on" }],
  },
  {
    name: "dataset on an undeclared pool",
    mutate: (d) => d.nodes[0].zfs.datasets.push({ name: "fast/models" }),
    expect: [{ path: "nodes[0].zfs.datasets[2].name", message: "dataset 'fast/models' is on pool 'fast', which node 'lab' does not declare" }],
  },
  {
    name: "nested dataset whose parent is not declared",
    mutate: (d) => d.nodes[0].zfs.datasets.push({ name: "tank/models/llama" }),
    expect: [{ path: "nodes[0].zfs.datasets[2].name", message: "parent dataset 'tank/models' is not declared" }],
  },
  {
    name: "no SSH on a node with datasets and LXC golden templates",
    mutate: (d) => delete d.nodes[0].ssh,
    expect: [
      { path: "nodes[0].ssh", message: "node 'lab' declares ZFS datasets but no SSH access to manage them" },
      { path: "templates[1].node", message: "golden template 'docker-golden' is frozen through SSH to node 'lab', which has none" },
      { path: "templates[2].node", message: "golden template 'nvidia-golden' is frozen through SSH to node 'lab', which has none" },
    ],
  },
  {
    name: "guest memory above node memory (error, and the total warns)",
    mutate: (d) => (d.guests[1].memory = 10000),
    expect: [
      { path: "guests[1].memory", message: "'data' asks for 10000 MiB, node 'lab' has 8192 MiB" },
      { severity: "warning", path: "nodes[0].memory", message: "guests on 'lab' ask for 11024 MiB of memory in total, the node has 8192 MiB (overcommit 1.35×)" },
    ],
  },
  {
    name: "sum of guests' memory above node memory (warning with figures)",
    mutate: (d) => {
      d.guests[0].memory = 4096;
      d.guests[1].memory = 6144;
    },
    expect: [{ severity: "warning", path: "nodes[0].memory", message: "guests on 'lab' ask for 10240 MiB of memory in total, the node has 8192 MiB (overcommit 1.25×)" }],
  },
  {
    name: "a clone that sets no memory counts its template's in the sum",
    mutate: (d) => {
      d.templates[1].memory = 7168;
      delete d.guests[0].memory;
      d.guests[1].memory = 2048;
    },
    expect: [{ severity: "warning", path: "nodes[0].memory", message: "guests on 'lab' ask for 9216 MiB of memory in total, the node has 8192 MiB (overcommit 1.13×)" }],
  },
  { name: "guest cores above node cores", mutate: (d) => (d.guests[1].cores = 16), expect: [
    { path: "guests[1].cores", message: "'data' asks for 16 cores, node 'lab' has 8" },
    { severity: "warning", path: "nodes[0].cores", message: "guests on 'lab' ask for 17 cores in total, the node has 8 (overcommit 2.13×)" },
  ] },

  // ---- features (validate/features.ts) ----
  { name: "docker without nesting in LXC", mutate: (d) => (d.guests[1].features = { docker: true }), expect: [{ path: "guests[1].features.docker", message: "docker in LXC container 'data' needs nesting" }] },
  {
    name: "docker inherited from the golden template, nesting turned off",
    mutate: (d) => (d.guests[0].nesting = false),
    expect: [{ path: "guests[0].features.docker", message: "docker in LXC container 'portainer' needs nesting (inherited from debian-12-base → docker-golden)" }],
  },
  {
    name: "vllm without nvidia",
    mutate: (d) => d.guests.push(lxc(220, "llm", { gpus: [0], features: { vllm: { model: "Qwen/Qwen3-8B" } } })),
    expect: [{ path: "guests[2].features.vllm", message: "vllm on 'llm' needs the nvidia feature" }],
  },
  {
    name: "vllm without GPU (the clone drops the template's GPUs)",
    mutate: (d) => d.guests.push(gpuGuest({ gpus: [], features: { vllm: { model: "Qwen/Qwen3-8B" } } })),
    expect: [{ path: "guests[2].features.vllm", message: "vllm on 'llm' needs a GPU" }],
  },
  {
    name: "tensorParallelSize > GPUs",
    mutate: (d) => d.guests.push(gpuGuest({ gpus: [1], features: { vllm: { model: "Qwen/Qwen3-8B", tensorParallelSize: 2 } } })),
    expect: [{ path: "guests[2].features.vllm.tensorParallelSize", message: "tensorParallelSize 2 exceeds the 1 GPU(s) 'llm' has" }],
  },
  {
    name: "nvidia-container-toolkit without docker",
    mutate: (d) => d.guests.push(gpuGuest({ features: { "nvidia-container-toolkit": true } })),
    expect: [{ path: "guests[2].features.nvidia-container-toolkit", message: "nvidia-container-toolkit on 'llm' needs the docker feature" }],
  },
  {
    name: "nvidia-container-toolkit without nvidia",
    mutate: (d) => (d.guests[0].features["nvidia-container-toolkit"] = true),
    expect: [{ path: "guests[0].features.nvidia-container-toolkit", message: "nvidia-container-toolkit on 'portainer' needs the nvidia feature" }],
  },
  {
    name: "portainer without docker",
    mutate: (d) => (d.guests[1].features = { portainer: { role: "agent", server: "portainer" } }),
    expect: [{ path: "guests[1].features.portainer", message: "portainer on 'data' runs on Docker and needs the docker feature" }],
  },
  {
    name: "portainer agent with no server",
    mutate: (d) => (d.guests[0].features.portainer = { role: "agent" }),
    expect: [{ path: "guests[0].features.portainer.server", message: "a Portainer agent needs a Portainer server, and none is declared" }],
  },
  {
    name: "portainer agent naming an unknown server",
    mutate: (d) => d.guests.push({ vmid: 230, name: "agent", template: "docker-golden", network: [{ name: "eth0", bridge: "vmbr0", ip: "auto" }], features: { portainer: { role: "agent", server: "nowhere" } } }),
    expect: [{ path: "guests[2].features.portainer.server", message: "unknown Portainer server 'nowhere'" }],
  },
  {
    name: "portainer agent naming a guest that is not a server",
    mutate: (d) => d.guests.push({ vmid: 230, name: "agent", template: "docker-golden", network: [{ name: "eth0", bridge: "vmbr0", ip: "auto" }], features: { portainer: { role: "agent", server: "data" } } }),
    expect: [{ path: "guests[2].features.portainer.server", message: "'data' is not a Portainer server" }],
  },
  {
    name: "vllm in a container without docker",
    mutate: (d) => d.guests.push(gpuGuest({ features: { vllm: { model: "Qwen/Qwen3-8B", install: "container" } } })),
    expect: [{ path: "guests[2].features.vllm.install", message: "vllm on 'llm' runs in a container and needs the docker feature", fix: "add features.docker, or use install: venv" }],
  },
  {
    name: "vllm in a container without the NVIDIA Container Toolkit (a warning)",
    mutate: (d) => d.guests.push(gpuGuest({ nesting: true, features: { docker: {}, vllm: { model: "Qwen/Qwen3-8B", install: "container", image: "vllm/vllm-openai:v0.6.3" } } })),
    expect: [{ severity: "warning", path: "guests[2].features.vllm.install", message: "vllm on 'llm' runs `docker run --gpus all`, which needs the NVIDIA Container Toolkit" }],
  },
  {
    name: "a vllm image with the venv install (a warning)",
    mutate: (d) => d.guests.push(gpuGuest({ features: { vllm: { model: "Qwen/Qwen3-8B", image: "vllm/vllm-openai:v0.6.3" } } })),
    expect: [{ severity: "warning", path: "guests[2].features.vllm.image", message: "vllm on 'llm' installs into a Python venv, so image 'vllm/vllm-openai:v0.6.3' is not used" }],
  },
  {
    name: "portainer agent on dhcp: its server cannot know where to reach it",
    mutate: (d) => d.guests.push({ vmid: 230, name: "agent", template: "docker-golden", network: [{ name: "eth0", bridge: "vmbr0", ip: "dhcp" }], features: { portainer: { role: "agent" } } }),
    expect: [{ path: "guests[2].network[0].ip", message: "Portainer agent 'agent' is registered with its server at its address, and dhcp gives none the plan knows" }],
  },
  {
    name: "portainer agent without a network interface",
    mutate: (d) => d.guests.push({ vmid: 230, name: "agent", template: "docker-golden", network: [], features: { portainer: { role: "agent" } } }),
    expect: [{ path: "guests[2].network", message: "Portainer agent 'agent' has no network interface for its server to reach" }],
  },
  {
    name: "portainer server with agents but no admin password to register them with",
    mutate: (d) => {
      delete d.guests[0].features.portainer.adminPassword;
      d.guests.push({ vmid: 230, name: "agent", template: "docker-golden", network: [{ name: "eth0", bridge: "vmbr0", ip: "auto" }], features: { portainer: { role: "agent" } } });
    },
    expect: [{ path: "guests[0].features.portainer.adminPassword", message: "Portainer server 'portainer' registers 1 agent(s) through its API, which needs the admin password" }],
  },
  {
    name: "unknown apparmor profile",
    mutate: (d) => (d.guests[1].features = { apparmor: { profile: "lxc-phoenix-gpu" } }),
    expect: [{ path: "guests[1].features.apparmor.profile", message: "unknown AppArmor profile 'lxc-phoenix-gpu' on node 'lab'" }],
  },
  {
    name: "nvidia feature on a node without nvidia.driverVersion",
    mutate: (d) => delete d.nodes[0].nvidia,
    expect: [{ path: "templates[2].features.nvidia", message: "nvidia on 'nvidia-golden' installs the userland matching the node's driver, but node 'lab' declares none" }],
  },
  {
    name: "mixed CUDA versions",
    mutate: (d) => d.guests.push(lxc(240, "cuda124", { features: { nvidia: { cudaVersion: "12.4" } } })),
    expect: [
      {
        path: "guests[2].features.nvidia.cudaVersion",
        message: "CUDA 12.4 differs from CUDA 12.8 at templates[2].features.nvidia.cudaVersion",
        fix: 'set cudaVersion: "12.8" here, or change every cudaVersion to one version: a definition pins one CUDA version for all its guests',
      },
    ],
  },
  {
    name: "mixed CUDA versions: a clone overriding its template's",
    mutate: (d) => d.guests.push(gpuGuest({ features: { nvidia: { cudaVersion: "12.9" } } })),
    expect: [{ path: "guests[2].features.nvidia.cudaVersion", message: "CUDA 12.9 differs from CUDA 12.8 at templates[2].features.nvidia.cudaVersion" }],
  },
  {
    name: "mixed CUDA versions: three, each differing one named",
    mutate: (d) => {
      d.guests.push(lxc(240, "cuda124", { features: { nvidia: { cudaVersion: "12.4" } } }));
      d.guests.push(lxc(241, "cuda126", { features: { nvidia: { cudaVersion: "12.6", source: "debian" } } }));
    },
    expect: [
      { path: "guests[2].features.nvidia.cudaVersion", message: "CUDA 12.4 differs from CUDA 12.8 at templates[2].features.nvidia.cudaVersion" },
      { path: "guests[3].features.nvidia.cudaVersion", message: "CUDA 12.6 differs from CUDA 12.8 at templates[2].features.nvidia.cudaVersion" },
    ],
  },
  {
    name: "mountPoints on a VM",
    mutate: (d) => d.guests.push(vm(300, "vm1", { mountPoints: [{ hostPath: "/srv", path: "/srv" }] })),
    expect: [{ path: "guests[2].mountPoints", message: "mount points onto host datasets apply to LXC containers only" }],
  },
  { name: "nesting on a VM", mutate: (d) => d.guests.push(vm(300, "vm1", { nesting: true })), expect: [{ path: "guests[2].nesting", message: "nesting applies to LXC containers only" }] },
  {
    name: "apparmor on a VM",
    mutate: (d) => d.guests.push(vm(300, "vm1", { features: { apparmor: { profile: "unconfined" } } })),
    expect: [{ path: "guests[2].features.apparmor", message: "AppArmor profiles are attached to LXC containers only" }],
  },
  {
    name: "the node's NVIDIA driver asked for without SSH to the node",
    mutate: (d) => {
      d.nodes[0].nvidia = { driverVersion: "580.76.05", installOnHost: true };
      delete d.nodes[0].ssh;
    },
    // Everything else that needs the node's SSH is named too.
    expect: [
      {
        path: "nodes[0].nvidia.installOnHost",
        message: "the NVIDIA driver is installed on node 'lab' over SSH, and the node has no ssh",
        fix: "set nodes[0].ssh (host, user, privateKey), or install the driver by hand and set installOnHost: false",
      },
      { path: "nodes[0].ssh", message: "node 'lab' declares ZFS datasets but no SSH access to manage them" },
      { path: "templates[1].node", message: "golden template 'docker-golden' is frozen through SSH to node 'lab', which has none" },
      { path: "templates[2].node", message: "golden template 'nvidia-golden' is frozen through SSH to node 'lab', which has none" },
    ],
  },
  {
    name: "a VM with features but no key to reach it",
    mutate: (d) => d.guests.push(vm(300, "vm1", { features: { docker: { source: "debian" } } })),
    expect: [
      {
        path: "access.sshPrivateKey",
        message: "VM 'vm1' is provisioned over SSH and needs the private half of one of access.sshKeys",
        fix: "set access.sshPrivateKey: { secret: <name> } and `pulumi config set --secret phoenix:<name> < key`",
      },
    ],
  },
  {
    name: "a VM with health checks on DHCP",
    mutate: (d) => {
      d.access = { sshKeys: [], sshPrivateKey: { secret: "guestKey" } };
      d.guests.push(vm(300, "vm1", { network: [{ ip: "dhcp" }], healthChecks: [{ name: "up", command: "true" }] }));
    },
    expect: [{ path: "guests[2].network[0].ip", message: "VM 'vm1' is provisioned over SSH at its first address, which must be known in advance" }],
  },
  { name: "cloudInit on an LXC", mutate: (d) => (d.guests[1].cloudInit = { user: "ops" }), expect: [{ path: "guests[1].cloudInit", message: "cloud-init applies to VMs only" }] },

  // ---- secrets (validate/secrets.ts) ----
  {
    name: "plaintext secret in portainer.adminPassword",
    mutate: (d) => (d.guests[0].features.portainer.adminPassword = SECRET_VALUE),
    expect: [{ path: "guests[0].features.portainer.adminPassword", message: "plaintext secret in the definition (the value is not shown here)" }],
  },
  {
    name: "plaintext token in vllm.args",
    mutate: (d) => d.guests.push(gpuGuest({ features: { vllm: { model: "Qwen/Qwen3-8B", args: { "api-key": "abc" } } } })),
    expect: [{ path: "guests[2].features.vllm.args.api-key", message: "'api-key' looks like a secret given in plaintext (the value is not shown here)" }],
  },
  {
    name: "plaintext hfToken",
    mutate: (d) => d.guests.push(gpuGuest({ features: { vllm: { model: "Qwen/Qwen3-8B", hfToken: "hf_abc" } } })),
    expect: [{ path: "guests[2].features.vllm.hfToken", message: "plaintext secret in the definition (the value is not shown here)" }],
  },
  {
    name: "plaintext root password on the node",
    mutate: (d) => (d.nodes[0].api.password = "hunter2"),
    expect: [{ path: "nodes[0].api.password", message: "plaintext secret in the definition (the value is not shown here)" }],
  },
  {
    name: "an API token where Proxmox needs root@pam (keyctl for Docker in an unprivileged container)",
    mutate: (d) => (d.nodes[0].api = { endpoint: "https://127.0.0.1:8006/", token: { secret: "proxmoxApiToken" } }),
    expect: [{ path: "nodes[0].api", message: "'docker-golden' needs GPU passthrough, bind mounts or keyctl, which Proxmox lets only root@pam set (not its API tokens)" }],
  },
  {
    name: "both a token and a password",
    mutate: (d) => (d.nodes[0].api.token = { secret: "proxmoxApiToken" }),
    expect: [
      { path: "nodes[0].api", message: "give either token or username and password" },
      { path: "nodes[0].api", message: "'docker-golden' needs GPU passthrough, bind mounts or keyctl, which Proxmox lets only root@pam set (not its API tokens)" },
    ],
  },
  { name: "a password without its username", mutate: (d) => delete d.nodes[0].api.username, expect: [{ path: "nodes[0].api.username", message: "a password needs its username" }] },
  {
    name: "plaintext password in a script's env",
    mutate: (d) => (d.guests[1].features = { script: { path: "scripts/setup.sh", env: { DB_PASSWORD: "pw" } } }),
    expect: [{ path: "guests[1].features.script.env.DB_PASSWORD", message: "'DB_PASSWORD' looks like a secret given in plaintext (the value is not shown here)" }],
  },
  {
    name: "GPU passed to a VM and used by a container",
    mutate: (d) => d.guests.push(gpuGuest({ gpus: [0], features: { vllm: { model: "m" } } }), vm(300, "ws", { gpus: [0] })),
    expect: [{ path: "guests[3].gpus", message: "GPU 0 is passed through to VM 'ws' and also used by container 'llm'" }],
  },
  { name: "not an SSH public key", mutate: (d) => (d.access = { sshKeys: ["not a key"] }), expect: [{ path: "access.sshKeys[0]", message: "an OpenSSH public key such as ssh-ed25519 AAAA… user@host" }] },
];

/** Valid variations: nothing at all may be reported. */
const valid: { name: string; mutate: (d: Raw) => void }[] = [
  { name: "the base definition itself", mutate: () => {} },
  {
    name: "docker with nesting inherited from the golden template",
    mutate: (d) => d.guests.push({ vmid: 230, name: "web", template: "docker-golden", features: { docker: { source: "debian", daemon: { "log-driver": "local" } } } }),
  },
  { name: "vllm whose nvidia and GPUs come from the template chain", mutate: (d) => d.guests.push(gpuGuest({ features: { vllm: { model: "Qwen/Qwen3-8B" } } })) },
  {
    name: "vllm in a container with docker and the NVIDIA Container Toolkit",
    mutate: (d) => d.guests.push(gpuGuest({ nesting: true, features: { docker: {}, "nvidia-container-toolkit": {}, vllm: { model: "Qwen/Qwen3-8B", install: "container" } } })),
  },
  {
    name: "portainer agent registering with the one server",
    mutate: (d) => d.guests.push({ vmid: 230, name: "agent", template: "docker-golden", network: [{ name: "eth0", bridge: "vmbr0", ip: "auto" }], features: { portainer: { role: "agent" } } }),
  },
  { name: "VM with a cloud-init user", mutate: (d) => d.guests.push(vm(300, "vm1", { cloudInit: { user: "ops", password: { secret: "vm1Password" } } })) },
];

const errorPaths = (ps: readonly Problem[]) => [...new Set(ps.filter((p) => p.severity === "error").map((p) => p.path))].sort();
const warningPaths = (ps: readonly Problem[]) => [...new Set(ps.filter((p) => p.severity === "warning").map((p) => p.path))].sort();

describe("bad definitions", () => {
  it("has at least 45 cases, each with a distinct name", () => {
    expect(cases.length).toBeGreaterThanOrEqual(45);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases)("$name", ({ mutate, expect: expected }) => {
    const raw = base();
    mutate(raw);
    const problems = problemsOf(raw);
    for (const e of expected)
      expect(problems).toContainEqual(expect.objectContaining({ severity: e.severity ?? "error", path: e.path, message: e.message, ...(e.fix ? { fix: e.fix } : {}) }));
    // Nothing else: no error (and no warning) at a path the case does not expect.
    expect(errorPaths(problems)).toEqual([...new Set(expected.filter((e) => (e.severity ?? "error") === "error").map((e) => e.path))].sort());
    expect(warningPaths(problems)).toEqual([...new Set(expected.filter((e) => e.severity === "warning").map((e) => e.path))].sort());
    // Every problem tells the user how to fix it.
    for (const p of problems) expect(p.fix, `${p.path}: ${p.message}`).toBeTruthy();
  });

  it("does not mutate the shared base (each case starts from a fresh copy)", () => {
    expect(problemsOf(base())).toEqual([]);
  });
});

describe("valid variations", () => {
  it.each(valid)("$name", ({ mutate }) => {
    const raw = base();
    mutate(raw);
    expect(problemsOf(raw)).toEqual([]);
  });
});

describe("secrets are named, never shown", () => {
  it("a plaintext portainer password: the value appears nowhere, the fix names the config key", () => {
    const raw = base();
    raw.guests[0].features.portainer.adminPassword = SECRET_VALUE;
    const problems = problemsOf(raw);
    const p = problems.find((x) => x.path === "guests[0].features.portainer.adminPassword")!;
    expect(p).toBeDefined();
    expect(p.message).not.toContain(SECRET_VALUE);
    expect(p.fix).toContain("pulumi config set --secret phoenix:portainerAdminPassword");
    expect(JSON.stringify(problems)).not.toContain(SECRET_VALUE);
  });

  it("a plaintext token in vllm.args: the value appears nowhere", () => {
    const raw = base();
    raw.guests.push(gpuGuest({ features: { vllm: { model: "m", args: { "api-key": "abc-very-secret-123" } } } }));
    const problems = problemsOf(raw);
    expect(problems.map((p) => p.path)).toEqual(["guests[2].features.vllm.args.api-key"]);
    expect(JSON.stringify(problems)).not.toContain("abc-very-secret-123");
  });

  // Found by this suite: the secret check once matched "token" anywhere in a key, so --tokenizer failed.
  it("vllm.args tokenizer (a model id) is not mistaken for a secret", () => {
    const raw = base();
    raw.guests.push(gpuGuest({ features: { vllm: { model: "m", args: { tokenizer: "mistralai/Mistral-7B-Instruct-v0.3", "tokenizer-mode": "mistral" } } } }));
    expect(problemsOf(raw)).toEqual([]);
  });
});

describe("YAML syntax errors", () => {
  it("parseText reports a syntax error for the whole file, with its line", () => {
    const text = ["version: 1", "nodes:", "  - name: lab", "    cores: [1, 2", "network: {}", ""].join("\n");
    const { raw, problems } = parseText(text, "broken.yaml");
    expect(raw).toBeUndefined();
    expect(problems.length).toBeGreaterThan(0);
    expect(problems).toContainEqual(
      expect.objectContaining({
        severity: "error",
        path: "",
        message: "not valid YAML at line 5, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]",
      }),
    );
    for (const p of problems) expect(p.message).toMatch(/^not valid YAML at line \d+, column \d+: /);
  });

  it("a .json file is parsed as JSON", () => {
    const { problems } = parseText("{ nodes: [] }", "stack.json");
    expect(problems).toEqual([expect.objectContaining({ severity: "error", path: "", message: expect.stringMatching(/^not valid JSON: /) })]);
  });
});

describe("every mistake at once", () => {
  it("reports semantic mistakes across guests, network, resources and features in one run", () => {
    const raw = base();
    raw.guests[1].vmid = 200; // duplicate vmid
    raw.guests[1].template = "ubuntu-base"; // unknown template
    raw.guests[0].network[0].ip = "10.100.0.1/24"; // the gateway
    raw.guests[1].mountPoints[0].dataset = "tank/models"; // unknown dataset
    raw.guests[1].gpus = [7]; // no such GPU
    raw.guests[0].features.portainer.adminPassword = SECRET_VALUE; // plaintext secret
    raw.guests.push(lxc(240, "cuda124", { features: { nvidia: { cudaVersion: "12.4" } } })); // CUDA mismatch
    raw.guests.push(lxc(250, "dock", { features: { docker: true } })); // docker without nesting
    const problems = problemsOf(raw);
    const got = problems.map((p) => `${p.path}: ${p.message}`);
    expect(got).toEqual(
      expect.arrayContaining([
        "guests[1].vmid: vmid 200 is already used by guests[0] (portainer)",
        "guests[1].template: unknown template 'ubuntu-base'",
        "guests[0].network[0].ip: 10.100.0.1 is the gateway's address",
        "guests[1].mountPoints[0].dataset: unknown dataset 'tank/models' on node 'lab'",
        "guests[1].gpus[0]: GPU 7 does not exist on node 'lab'",
        "guests[0].features.portainer.adminPassword: plaintext secret in the definition (the value is not shown here)",
        "guests[2].features.nvidia.cudaVersion: CUDA 12.4 differs from CUDA 12.8 at templates[2].features.nvidia.cudaVersion",
        "guests[3].features.docker: docker in LXC container 'dock' needs nesting",
      ]),
    );
    expect(errorPaths(problems)).toHaveLength(8);
  });

  it("reports every shape mistake in one run", () => {
    const raw = base();
    raw.guests[0].colour = "blue";
    raw.guests[1].cores = "two";
    delete raw.guests[1].template;
    raw.network.bridges[0].subnet = "10.100.0/24";
    raw.nodes[0].gpus[0].pci = "01:00";
    const problems = problemsOf(raw);
    expect(problems.map((p) => `${p.path}: ${p.message}`).sort()).toEqual(
      [
        "guests[0].colour: unknown field 'colour'",
        "guests[1].cores: expected number, got string",
        "guests[1].template: missing required field (expected string)",
        "network.bridges[0].subnet: an IPv4 CIDR such as 10.0.0.5/24",
        "nodes[0].gpus[0].pci: a PCI address such as 0000:01:00.0",
      ].sort(),
    );
  });
});
