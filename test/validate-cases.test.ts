// Bad definitions, one mistake each: every case must report exactly the expected problems
// (path and message), and nothing else at error level.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { checkShape, parseText } from "../stacks/load";
import type { Problem } from "../stacks/problems";
import { validate } from "../stacks/validate";

type Raw = any;
const DEV = parse(readFileSync(join(__dirname, "..", "stacks", "dev.yaml"), "utf8"));

/** dev.yaml plus two GPUs, an NVIDIA driver and a VM template, so every rule has something to break. */
function base(): Raw {
  const d = structuredClone(DEV);
  d.nodes[0].memory = 16384;
  d.nodes[0].gpus = [
    { index: 0, pci: "0000:01:00.0", deviceId: "10de:2d04" },
    { index: 1, pci: "0000:02:00.0", deviceId: "10de:2d04" },
  ];
  d.nodes[0].nvidia = { driverVersion: "580.76.05" };
  d.templates.push(
    { name: "nvidia-golden", vmid: 902, parent: "debian-12-base", gpus: [0, 1], network: [{ ip: "10.100.0.92/24" }], features: { nvidia: true } },
    { name: "cloud", type: "vm", vmid: 9000, source: { storage: "local", file: "iso/noble.img" } },
  );
  return d;
}

function problemsOf(raw: Raw): Problem[] {
  const shaped = checkShape(raw);
  return shaped.definition ? validate(shaped.definition) : shaped.problems;
}

const guest = (d: Raw, name: string) => d.guests.find((g: Raw) => g.name === name);
const template = (d: Raw, name: string) => d.templates.find((t: Raw) => t.name === name);
const vllmGuest = (extra: Raw = {}) => ({ vmid: 220, name: "llm", template: "nvidia-golden", network: [{ ip: "auto" }], gpus: [0], features: { vllm: { model: "m" } }, ...extra });

interface Case {
  name: string;
  edit: (d: Raw) => void;
  expect: { path: string; message: string | RegExp; severity?: "error" | "warning" }[];
}

const cases: Case[] = [
  // shape
  { name: "unknown field", edit: (d) => (d.guests[0].colour = "blue"), expect: [{ path: "guests[0].colour", message: "unknown field 'colour'" }] },
  { name: "wrong type", edit: (d) => (d.guests[0].cores = "two"), expect: [{ path: "guests[0].cores", message: "expected number, got string" }] },
  { name: "missing required field", edit: (d) => delete d.guests[0].template, expect: [{ path: "guests[0].template", message: "missing required field (expected string)" }] },
  { name: "bad CIDR text", edit: (d) => (d.guests[1].network[0].ip = "10.100.0.300"), expect: [{ path: "guests[1].network[0].ip", message: /^expected a static CIDR such as 10\.0\.0\.5\/24/ }] },
  { name: "bad MAC text", edit: (d) => (d.guests[1].network[0].mac = "52:54:00:zz:00:01"), expect: [{ path: "guests[1].network[0].mac", message: "a MAC address such as 52:54:00:12:34:56" }] },
  { name: "not an SSH public key", edit: (d) => (d.access.sshKeys = ["not a key"]), expect: [{ path: "access.sshKeys[0]", message: "an OpenSSH public key such as ssh-ed25519 AAAA… user@host" }] },
  { name: "no nodes", edit: (d) => (d.nodes = []), expect: [{ path: "nodes", message: "declare at least one Proxmox node" }] },
  // identity
  { name: "duplicate vmid", edit: (d) => (d.guests[1].vmid = 200), expect: [{ path: "guests[1].vmid", message: "vmid 200 is already used by guests[0] (portainer)" }] },
  { name: "duplicate name", edit: (d) => d.guests.push({ vmid: 211, name: "portainer", template: "debian-12-base" }), expect: [{ path: "guests[2].name", message: "name 'portainer' is already used by guests[0]" }] },
  { name: "vmid below range", edit: (d) => (d.guests[1].vmid = 99), expect: [{ path: "guests[1].vmid", message: "vmid 99 is outside Proxmox's range 100–999999999" }] },
  { name: "vmid above range", edit: (d) => (d.guests[1].vmid = 1_000_000_000), expect: [{ path: "guests[1].vmid", message: "vmid 1000000000 is outside Proxmox's range 100–999999999" }] },
  { name: "unknown node", edit: (d) => (d.guests[1].node = "pve2"), expect: [{ path: "guests[1].node", message: "unknown node 'pve2'" }] },
  {
    name: "node required with two nodes",
    edit: (d) => d.nodes.push({ name: "lab2" }),
    expect: ["templates[0]", "templates[1]", "templates[2]", "templates[3]", "guests[0]", "guests[1]"].map((p) => ({ path: `${p}.node`, message: "node is required when the definition declares more than one node" })),
  },
  { name: "unknown template", edit: (d) => (d.guests[1].template = "ubuntu"), expect: [{ path: "guests[1].template", message: "unknown template 'ubuntu'" }] },
  { name: "guest used as template", edit: (d) => (d.guests[1].template = "portainer"), expect: [{ path: "guests[1].template", message: "'portainer' is a guest, not a template" }] },
  { name: "LXC from a VM template", edit: (d) => (d.guests[1].template = "cloud"), expect: [{ path: "guests[1].template", message: "lxc 'data' cannot be made from vm template 'cloud'" }] },
  { name: "unknown dependency", edit: (d) => (d.guests[1].dependsOn = ["db"]), expect: [{ path: "guests[1].dependsOn[0]", message: "unknown dependency 'db'" }] },
  { name: "self dependency", edit: (d) => (d.guests[1].dependsOn = ["data"]), expect: [{ path: "guests[1].dependsOn[0]", message: "'data' depends on itself" }] },
  {
    name: "dependency cycle of three",
    edit: (d) => {
      d.guests.push({ vmid: 211, name: "c", template: "debian-12-base", network: [{ ip: "auto" }], dependsOn: ["data"] });
      guest(d, "portainer").dependsOn = ["c"];
    },
    expect: [{ path: "guests[0].dependsOn", message: "dependency cycle: portainer → c → data → portainer" }],
  },
  {
    name: "template parent cycle",
    edit: (d) => {
      template(d, "docker-golden").parent = "nvidia-golden";
      template(d, "nvidia-golden").parent = "docker-golden";
    },
    expect: [{ path: "templates[1].parent", message: "templates clone from each other in a cycle: docker-golden → nvidia-golden → docker-golden" }],
  },
  { name: "LXC base template with a vmid", edit: (d) => (d.templates[0].vmid = 800), expect: [{ path: "templates[0].vmid", message: "LXC base template 'debian-12-base' is a file on a storage and takes no vmid" }] },
  { name: "VM base template without vmid", edit: (d) => delete template(d, "cloud").vmid, expect: [{ path: "templates[3].vmid", message: "VM base template 'cloud' needs a vmid (a Proxmox VM template is a VM)" }] },
  // network
  { name: "static IP outside the subnet", edit: (d) => (d.guests[0].network[0].ip = "10.200.0.10/24"), expect: [{ path: "guests[0].network[0].ip", message: "10.200.0.10/24 is outside bridge 'vmbr0' subnet 10.100.0.0/24" }] },
  { name: "static IP is the gateway", edit: (d) => (d.guests[0].network[0].ip = "10.100.0.1/24"), expect: [{ path: "guests[0].network[0].ip", message: "10.100.0.1 is the gateway's address" }] },
  { name: "static IPs collide", edit: (d) => (d.guests[1].network[0].ip = "10.100.0.10/24"), expect: [{ path: "guests[1].network[0].ip", message: "10.100.0.10 is already used by guests[0].network[0] (portainer)" }] },
  { name: "prefix differs from the bridge", edit: (d) => (d.guests[0].network[0].ip = "10.100.0.10/16"), expect: [{ path: "guests[0].network[0].ip", message: "prefix /16 differs from bridge 'vmbr0' subnet 10.100.0.0/24" }] },
  { name: "unknown bridge", edit: (d) => (d.guests[1].network[0].bridge = "vmbr9"), expect: [{ path: "guests[1].network[0].bridge", message: "unknown bridge 'vmbr9'" }] },
  { name: "auto address without a pool", edit: (d) => (d.network.bridges[0].pools = []), expect: [{ path: "guests[1].network[0].ip", message: "ip is auto but bridge 'vmbr0' has no address pool" }] },
  { name: "unknown pool", edit: (d) => (d.guests[1].network[0].pool = "spare"), expect: [{ path: "guests[1].network[0].pool", message: "bridge 'vmbr0' has no pool 'spare'" }] },
  {
    name: "pool runs dry",
    edit: (d) => {
      d.network.bridges[0].pools[0].range = "10.100.0.100-10.100.0.101";
      d.guests.push({ vmid: 211, name: "b", template: "debian-12-base" }, { vmid: 212, name: "c", template: "debian-12-base" });
    },
    expect: [{ path: "network.bridges[0].pools[0].range", message: "pool 'guests' on bridge 'vmbr0' runs dry: 3 interfaces ask for an address, 2 are free (10.100.0.100–10.100.0.101, less static and gateway addresses)" }],
  },
  { name: "pool outside the subnet", edit: (d) => (d.network.bridges[0].pools[0].range = "10.100.1.1-10.100.1.9"), expect: [{ path: "network.bridges[0].pools[0].range", message: "range 10.100.1.1-10.100.1.9 is not inside 10.100.0.0/24" }] },
  { name: "gateway outside the subnet", edit: (d) => (d.network.bridges[0].gateway = "10.101.0.1"), expect: [{ path: "network.bridges[0].gateway", message: "gateway 10.101.0.1 is not a host address in 10.100.0.0/24" }] },
  {
    name: "MAC collision",
    edit: (d) => {
      d.guests[0].network[0].mac = "52:54:00:00:00:01";
      d.guests[1].network[0].mac = "52:54:00:00:00:01";
    },
    expect: [{ path: "guests[1].network[0].mac", message: "MAC 52:54:00:00:00:01 is already used by guests[0].network[0]" }],
  },
  { name: "multicast MAC", edit: (d) => (d.guests[1].network[0].mac = "01:00:5e:00:00:01"), expect: [{ path: "guests[1].network[0].mac", message: "MAC 01:00:5e:00:00:01 is a multicast address" }] },
  // GPUs and features
  { name: "GPU not on the node", edit: (d) => d.guests.push(vllmGuest({ gpus: [2] })), expect: [{ path: "guests[2].gpus[0]", message: "GPU 2 does not exist on node 'lab'" }] },
  { name: "GPU listed twice", edit: (d) => d.guests.push(vllmGuest({ gpus: [0, 0] })), expect: [{ path: "guests[2].gpus", message: "a GPU index is listed twice" }] },
  { name: "docker without nesting", edit: (d) => (template(d, "docker-golden").nesting = false), expect: [{ path: "templates[1].features.docker", message: "docker in LXC container 'docker-golden' needs nesting" }, { path: "guests[0].features.docker", message: "docker in LXC container 'portainer' needs nesting (inherited from debian-12-base → docker-golden)" }] },
  { name: "vllm without nvidia", edit: (d) => d.guests.push(vllmGuest({ template: "debian-12-base" })), expect: [{ path: "guests[2].features.vllm", message: "vllm on 'llm' needs the nvidia feature" }] },
  { name: "vllm without a GPU", edit: (d) => d.guests.push(vllmGuest({ gpus: [] })), expect: [{ path: "guests[2].features.vllm", message: "vllm on 'llm' needs a GPU" }] },
  { name: "tensor parallel beyond the GPUs", edit: (d) => d.guests.push(vllmGuest({ features: { vllm: { model: "m", tensorParallelSize: 2 } } })), expect: [{ path: "guests[2].features.vllm.tensorParallelSize", message: "tensorParallelSize 2 exceeds the 1 GPU(s) 'llm' has" }] },
  { name: "nvidia-container-toolkit without docker", edit: (d) => (template(d, "nvidia-golden").features["nvidia-container-toolkit"] = true), expect: [{ path: "templates[2].features.nvidia-container-toolkit", message: "nvidia-container-toolkit on 'nvidia-golden' needs the docker feature" }] },
  { name: "portainer without docker", edit: (d) => (guest(d, "data").features = { portainer: { role: "server" } }), expect: [{ path: "guests[1].features.portainer", message: "portainer on 'data' runs on Docker and needs the docker feature" }] },
  {
    name: "portainer agent without a server",
    edit: (d) => (guest(d, "portainer").features.portainer = { role: "agent" }),
    expect: [{ path: "guests[0].features.portainer.server", message: "a Portainer agent needs a Portainer server, and none is declared" }],
  },
  { name: "unknown AppArmor profile", edit: (d) => (guest(d, "data").features = { apparmor: { profile: "lxc-strict" } }), expect: [{ path: "guests[1].features.apparmor.profile", message: "unknown AppArmor profile 'lxc-strict' on node 'lab'" }] },
  { name: "nvidia on a node without a driver", edit: (d) => delete d.nodes[0].nvidia, expect: [{ path: "templates[2].features.nvidia", message: "nvidia on 'nvidia-golden' installs the userland matching the node's driver, but node 'lab' declares none" }] },
  {
    name: "mixed CUDA versions",
    edit: (d) => {
      template(d, "nvidia-golden").features.nvidia = { cudaVersion: "12.8" };
      d.guests.push(vllmGuest({ features: { nvidia: { cudaVersion: "12.4" }, vllm: { model: "m" } } }));
    },
    expect: [{ path: "guests[2].features.nvidia.cudaVersion", message: "CUDA 12.4 differs from CUDA 12.8 at templates[2].features.nvidia.cudaVersion" }],
  },
  { name: "GPU shared by a VM and a container", edit: (d) => d.guests.push(vllmGuest(), { vmid: 300, name: "vm", type: "vm", template: "cloud", gpus: [0] }), expect: [{ path: "guests[3].gpus", message: "GPU 0 is passed through to VM 'vm' and also used by container 'llm'" }] },
  // storage, datasets, mounts
  { name: "unknown dataset", edit: (d) => (guest(d, "data").mountPoints[0].dataset = "tank/nope"), expect: [{ path: "guests[1].mountPoints[0].dataset", message: "unknown dataset 'tank/nope' on node 'lab'" }] },
  { name: "mount with dataset and hostPath", edit: (d) => (guest(d, "data").mountPoints[0].hostPath = "/srv"), expect: [{ path: "guests[1].mountPoints[0]", message: "a mount point needs exactly one of dataset or hostPath" }] },
  { name: "dataset on an undeclared pool", edit: (d) => d.nodes[0].zfs.datasets.push({ name: "bulk/models" }), expect: [{ path: "nodes[0].zfs.datasets[2].name", message: "dataset 'bulk/models' is on pool 'bulk', which node 'lab' does not declare" }] },
  { name: "unknown storage", edit: (d) => (guest(d, "data").disk.storage = "ssd"), expect: [{ path: "guests[1].disk.storage", message: "unknown storage 'ssd' on node 'lab'" }] },
  { name: "storage without rootdir content", edit: (d) => (guest(d, "data").disk.storage = "local"), expect: [{ path: "guests[1].disk.storage", message: "storage 'local' does not hold rootdir content (it holds vztmpl, iso, backup, snippets)" }] },
  { name: "datasets without node SSH", edit: (d) => delete d.nodes[0].ssh, expect: [{ path: "nodes[0].ssh", message: "node 'lab' declares ZFS datasets but no SSH access to manage them" }, ...["templates[1]", "templates[2]"].map((p) => ({ path: `${p}.node`, message: /is frozen through SSH to node 'lab', which has none$/ }))] },
  // VM/LXC-only settings
  { name: "mount points on a VM", edit: (d) => d.guests.push({ vmid: 300, name: "vm", type: "vm", template: "cloud", mountPoints: [{ dataset: "tank/shared-data", path: "/data" }] }), expect: [{ path: "guests[2].mountPoints", message: "mount points onto host datasets apply to LXC containers only" }] },
  { name: "nesting on a VM", edit: (d) => d.guests.push({ vmid: 300, name: "vm", type: "vm", template: "cloud", nesting: true }), expect: [{ path: "guests[2].nesting", message: "nesting applies to LXC containers only" }] },
  { name: "cloud-init on a container", edit: (d) => (guest(d, "data").cloudInit = { user: "me" }), expect: [{ path: "guests[1].cloudInit", message: "cloud-init applies to VMs only" }] },
  // capacity
  { name: "guest larger than its node", edit: (d) => (guest(d, "data").memory = 32768), expect: [{ path: "guests[1].memory", message: "'data' asks for 32768 MiB, node 'lab' has 16384 MiB" }] },
  { name: "more cores than the node", edit: (d) => (guest(d, "data").cores = 4), expect: [{ path: "guests[1].cores", message: "'data' asks for 4 cores, node 'lab' has 2" }] },
  // secrets
  { name: "plaintext admin password", edit: (d) => (guest(d, "portainer").features.portainer.adminPassword = "hunter2-secret"), expect: [{ path: "guests[0].features.portainer.adminPassword", message: "plaintext secret in the definition (the value is not shown here)" }] },
  { name: "plaintext API token", edit: (d) => (d.nodes[0].api.token = "root@pam!x=abc"), expect: [{ path: "nodes[0].api.token", message: "plaintext secret in the definition (the value is not shown here)" }] },
  { name: "token-like vLLM argument", edit: (d) => d.guests.push(vllmGuest({ features: { vllm: { model: "m", args: { "api-key": "sk-123" } } } })), expect: [{ path: "guests[2].features.vllm.args.api-key", message: "'api-key' looks like a secret given in plaintext (the value is not shown here)" }] },
];

describe("each bad definition reports exactly its problem", () => {
  it("starts from a valid base", () => {
    expect(problemsOf(base()).filter((p) => p.severity === "error")).toEqual([]);
  });

  it("has at least 40 cases", () => expect(cases.length).toBeGreaterThanOrEqual(40));

  it.each(cases.map((c) => [c.name, c] as const))("%s", (_, c) => {
    const d = base();
    c.edit(d);
    const problems = problemsOf(d);
    for (const e of c.expect)
      expect(problems).toContainEqual(expect.objectContaining({ severity: e.severity ?? "error", path: e.path, message: typeof e.message === "string" ? e.message : expect.stringMatching(e.message) }));
    const expectedErrors = c.expect.filter((e) => (e.severity ?? "error") === "error").map((e) => e.path).sort();
    expect(problems.filter((p) => p.severity === "error").map((p) => p.path).sort()).toEqual(expectedErrors);
    for (const p of problems) expect(p.fix, `${p.path} has a fix`).toBeTruthy();
  });
});

describe("warnings and whole-definition reporting", () => {
  it("warns with the figures when guests overcommit the node's memory", () => {
    const d = base();
    guest(d, "portainer").memory = 9000;
    guest(d, "data").memory = 9000;
    const problems = problemsOf(d);
    expect(problems.filter((p) => p.severity === "error")).toEqual([]);
    expect(problems).toContainEqual(
      expect.objectContaining({ severity: "warning", path: "nodes[0].memory", message: "guests on 'lab' ask for 18000 MiB of memory in total, the node has 16384 MiB (overcommit 1.10×)" }),
    );
  });

  it("never echoes a plaintext secret and says which config command to run", () => {
    const d = base();
    guest(d, "portainer").features.portainer.adminPassword = "hunter2-secret";
    const [p] = problemsOf(d).filter((x) => x.severity === "error");
    expect(JSON.stringify(p)).not.toContain("hunter2");
    expect(p!.fix).toBe("run `pulumi config set --secret phoenix:portainerAdminPassword <value>` and write { secret: portainerAdminPassword } here");
  });

  it("reports several different mistakes at once", () => {
    const d = base();
    d.guests[1].vmid = 200;
    d.guests[1].network[0].bridge = "vmbr9";
    guest(d, "portainer").features.portainer.adminPassword = "pw";
    d.nodes[0].gpus.push({ index: 0, pci: "0000:03:00.0" });
    const paths = problemsOf(d).filter((p) => p.severity === "error").map((p) => p.path).sort();
    expect(paths).toEqual(["guests[0].features.portainer.adminPassword", "guests[1].network[0].bridge", "guests[1].vmid", "nodes[0].gpus[2].index"]);
  });

  it("accepts vllm whose nvidia comes from the clone chain (the reference 801/802 case)", () => {
    const d = base();
    d.guests.push(vllmGuest());
    expect(problemsOf(d).filter((p) => p.severity === "error")).toEqual([]);
  });

  it("accepts docker whose nesting comes from the golden template", () => {
    const d = base();
    expect(guest(d, "portainer").nesting).toBeUndefined();
    guest(d, "portainer").features.docker = { source: "debian" };
    expect(problemsOf(d).filter((p) => p.severity === "error")).toEqual([]);
  });

  it("reports YAML syntax errors with their line", () => {
    const { problems } = parseText("nodes:\n  - name: lab\n   bad: indent\n", "x.yaml");
    expect(problems[0]).toMatchObject({ severity: "error", path: "" });
    expect(problems[0]!.message).toMatch(/^not valid YAML at line 3, column \d+/);
  });
});
