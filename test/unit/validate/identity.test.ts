// Bad definitions, identity and references (validate/identity.ts): vmids, names, nodes, templates, dependencies, cycles.
import { describe } from "vitest";
import { type Case, lxc, vm, runCases } from "./support";

const cases: Case[] = [
  {
    name: "duplicate vmid",
    mutate: (d) => (d.guests[1].vmid = 200),
    expect: [{ path: "guests[1].vmid", message: "vmid 200 is already used by guests[0] (portainer)" }],
  },
  {
    name: "vmid of a guest equals a template's",
    mutate: (d) => (d.guests[0].vmid = 901),
    expect: [{ path: "guests[0].vmid", message: "vmid 901 is already used by templates[1] (docker-golden)" }],
  },
  {
    name: "duplicate name",
    mutate: (d) => d.guests.push(lxc(211, "portainer")),
    expect: [{ path: "guests[2].name", message: "name 'portainer' is already used by guests[0]" }],
  },
  {
    name: "vmid 99 (below range)",
    mutate: (d) => (d.guests[1].vmid = 99),
    expect: [{ path: "guests[1].vmid", message: "vmid 99 is outside Proxmox's range 100–999999999" }],
  },
  {
    name: "vmid 1000000000 (above range)",
    mutate: (d) => (d.guests[1].vmid = 1_000_000_000),
    expect: [{ path: "guests[1].vmid", message: "vmid 1000000000 is outside Proxmox's range 100–999999999" }],
  },
  {
    name: "unknown node",
    mutate: (d) => (d.guests[1].node = "pve2"),
    expect: [{ path: "guests[1].node", message: "unknown node 'pve2'" }],
  },
  {
    name: "template node required with two nodes",
    mutate: (d) => {
      d.nodes.push({ name: "pve2" });
      for (const t of d.templates) if (t.parent === undefined) t.node = "lab";
    },
    expect: [
      { path: "templates[1].node", message: "node is required when the definition declares more than one node" },
      { path: "templates[2].node", message: "node is required when the definition declares more than one node" },
    ],
  },
  {
    name: "a guest without node that no node takes",
    mutate: (d) => {
      d.nodes.push({ name: "pve2", memory: 4096 });
      for (const t of d.templates) t.node = "lab";
      d.guests[0].node = "lab";
      d.guests[1].memory = 8000;
    },
    expect: [
      {
        path: "guests[1].node",
        message:
          "no node takes 'data': 'lab': 8000 MiB of memory do not fit (1024 of 8192 MiB taken); " +
          "'pve2': base template 'debian-12-base' is on storage 'local' of 'lab', which is not shared",
      },
    ],
  },
  {
    name: "unknown template",
    mutate: (d) => (d.guests[1].template = "ubuntu-base"),
    expect: [{ path: "guests[1].template", message: "unknown template 'ubuntu-base'" }],
  },
  {
    name: "guest used as template",
    mutate: (d) => (d.guests[1].template = "portainer"),
    expect: [{ path: "guests[1].template", message: "'portainer' is a guest, not a template" }],
  },
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
  {
    name: "unknown dependency",
    mutate: (d) => (d.guests[1].dependsOn = ["ghost"]),
    expect: [{ path: "guests[1].dependsOn[0]", message: "unknown dependency 'ghost'" }],
  },
  {
    name: "self dependency",
    mutate: (d) => (d.guests[1].dependsOn = ["portainer", "data"]),
    expect: [{ path: "guests[1].dependsOn[1]", message: "'data' depends on itself" }],
  },
  {
    // findCycle walks from the first stuck machine (a) along dependsOn: a needs b, b needs c, c needs a.
    name: "dependency cycle of 3",
    mutate: (d) =>
      d.guests.push(
        lxc(301, "a", { dependsOn: ["b"] }),
        lxc(302, "b", { dependsOn: ["c"] }),
        lxc(303, "c", { dependsOn: ["a"] }),
      ),
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
    expect: [
      {
        path: "templates[1].parent",
        message: "templates clone from each other in a cycle: docker-golden → nvidia-golden → docker-golden",
      },
    ],
  },
  {
    name: "template is its own parent",
    mutate: (d) => (d.templates[2].parent = "nvidia-golden"),
    expect: [
      { path: "templates[2].parent", message: "templates clone from each other in a cycle: nvidia-golden → nvidia-golden" },
    ],
  },
  {
    name: "LXC base template with a vmid",
    mutate: (d) => (d.templates[0].vmid = 8000),
    expect: [
      { path: "templates[0].vmid", message: "LXC base template 'debian-12-base' is a file on a storage and takes no vmid" },
    ],
  },
  {
    name: "VM base template without vmid",
    mutate: (d) => delete d.templates[3].vmid,
    expect: [
      { path: "templates[3].vmid", message: "VM base template 'cloud-base' needs a vmid (a Proxmox VM template is a VM)" },
    ],
  },
];

describe("bad definitions: identity", () => runCases(cases, 19));
