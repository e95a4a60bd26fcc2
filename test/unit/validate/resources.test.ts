// Bad definitions, node resources (validate/resources.ts): GPUs, storage, datasets, mount points, capacity, API login.
import { describe } from "vitest";
import { type Case, vm, runCases } from "./support";

const cases: Case[] = [
  {
    name: "GPU index not on node",
    mutate: (d) => (d.guests[1].gpus = [2]),
    expect: [{ path: "guests[1].gpus[0]", message: "GPU 2 does not exist on node 'lab'" }],
  },
  {
    name: "duplicate GPU in a guest",
    mutate: (d) => (d.guests[1].gpus = [0, 0]),
    expect: [{ path: "guests[1].gpus", message: "a GPU index is listed twice" }],
  },
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
  {
    name: "unknown storage",
    mutate: (d) => (d.guests[1].disk.storage = "ssd"),
    expect: [{ path: "guests[1].disk.storage", message: "unknown storage 'ssd' on node 'lab'" }],
  },
  {
    name: "storage without rootdir content",
    mutate: (d) => (d.guests[1].disk.storage = "local"),
    expect: [
      {
        path: "guests[1].disk.storage",
        message: "storage 'local' does not hold rootdir content (it holds vztmpl, iso, backup, snippets)",
      },
    ],
  },
  {
    name: "zfspool storage without its dataset",
    mutate: (d) => delete d.nodes[0].storage[1].pool,
    expect: [{ path: "nodes[0].storage[1].pool", message: "zfspool storage 'tank-lxc' needs the ZFS dataset it lives on" }],
  },
  {
    name: "dataset on an undeclared pool",
    mutate: (d) => d.nodes[0].zfs.datasets.push({ name: "fast/models" }),
    expect: [
      {
        path: "nodes[0].zfs.datasets[2].name",
        message: "dataset 'fast/models' is on pool 'fast', which node 'lab' does not declare",
      },
    ],
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
      {
        path: "templates[1].node",
        message: "golden template 'docker-golden' is frozen through SSH to node 'lab', which has none",
      },
      {
        path: "templates[2].node",
        message: "golden template 'nvidia-golden' is frozen through SSH to node 'lab', which has none",
      },
    ],
  },
  {
    name: "guest memory above node memory (error, and the total warns)",
    mutate: (d) => (d.guests[1].memory = 10000),
    expect: [
      { path: "guests[1].memory", message: "'data' asks for 10000 MiB, node 'lab' has 8192 MiB" },
      {
        severity: "warning",
        path: "nodes[0].memory",
        message: "guests on 'lab' ask for 11024 MiB of memory in total, the node has 8192 MiB (overcommit 1.35×)",
      },
    ],
  },
  {
    name: "sum of guests' memory above node memory (warning with figures)",
    mutate: (d) => {
      d.guests[0].memory = 4096;
      d.guests[1].memory = 6144;
    },
    expect: [
      {
        severity: "warning",
        path: "nodes[0].memory",
        message: "guests on 'lab' ask for 10240 MiB of memory in total, the node has 8192 MiB (overcommit 1.25×)",
      },
    ],
  },
  {
    name: "a clone that sets no memory counts its template's in the sum",
    mutate: (d) => {
      d.templates[1].memory = 7168;
      delete d.guests[0].memory;
      d.guests[1].memory = 2048;
    },
    expect: [
      {
        severity: "warning",
        path: "nodes[0].memory",
        message: "guests on 'lab' ask for 9216 MiB of memory in total, the node has 8192 MiB (overcommit 1.13×)",
      },
    ],
  },
  {
    name: "guest cores above node cores",
    mutate: (d) => (d.guests[1].cores = 16),
    expect: [
      { path: "guests[1].cores", message: "'data' asks for 16 cores, node 'lab' has 8" },
      {
        severity: "warning",
        path: "nodes[0].cores",
        message: "guests on 'lab' ask for 17 cores in total, the node has 8 (overcommit 2.13×)",
      },
    ],
  },
];

describe("bad definitions: resources", () => runCases(cases, 19));
