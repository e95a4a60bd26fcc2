// Example-based tests of the plan: stacks/dev.yaml end to end, GPU devices, vLLM defaults, secrets.
import { join } from "node:path";
import { allocate } from "../../plan/ip-allocation";
import { describe, expect, it } from "vitest";
import { parseCidr, parseIp } from "../../definition/ipv4";
import { checkShape } from "../../definition/load";
import { DefinitionError, warningsOf } from "../../definition/problems";
import { NVIDIA_SHARED_DEVICES, lxcGpuDevices, vmHostPci } from "../../plan/gpu";
import { type Plan, type PlannedMachine, buildPlan } from "../../plan/plan";
import type { Definition } from "../../definition/schema";
import { validated, loadDefinition, validate } from "../../validate";

const DEV = join(__dirname, "..", "..", "stacks", "dev.yaml");

function devPlan(): Plan {
  const { definition, problems } = loadDefinition(DEV);
  expect(problems.filter((p) => p.severity === "error")).toEqual([]);
  return buildPlan(definition!);
}

const machine = (plan: Plan, name: string): PlannedMachine => {
  const m = plan.machines.find((x) => x.name === name);
  expect(m, name).toBeDefined();
  return m!;
};

function shaped(raw: unknown): Definition {
  const { definition, problems } = checkShape(raw);
  expect(problems).toEqual([]);
  return definition!;
}

/** A GPU node with an NVIDIA golden template; `guests` are added to it. */
function gpuDefinition(guests: unknown[], templates: unknown[] = []): Definition {
  return shaped({
    nodes: [
      {
        name: "pve",
        ssh: { host: "10.0.0.2", privateKey: { secret: "nodeSshKey" } },
        storage: [{ id: "local", path: "/var/lib/vz", content: ["vztmpl", "rootdir", "iso", "images"] }],
        gpus: [
          { index: 0, pci: "0000:01:00.0", deviceId: "10de:2d04" },
          { index: 1, pci: "0000:02:00.0", deviceId: "10de:2d04" },
        ],
        nvidia: { driverVersion: "580.76.05" },
      },
    ],
    network: {
      bridges: [
        {
          name: "vmbr0",
          subnet: "10.0.0.0/24",
          gateway: "10.0.0.1",
          pools: [{ name: "guests", range: "10.0.0.100-10.0.0.199" }],
        },
      ],
    },
    templates: [
      { name: "debian", source: { storage: "local", file: "vztmpl/debian-12.tar.zst" } },
      { name: "nvidia-golden", vmid: 900, parent: "debian", gpus: [0, 1], features: { nvidia: true } },
      ...templates,
    ],
    guests,
  });
}

describe("dev.yaml", () => {
  it("orders docker-golden before portainer, and portainer before data (dependsOn)", () => {
    const order = devPlan().machines.map((m) => m.name);
    expect(order).toEqual(["docker-golden", "portainer", "data"]);
    expect(order.indexOf("docker-golden")).toBeLessThan(order.indexOf("portainer"));
    expect(order.indexOf("portainer")).toBeLessThan(order.indexOf("data"));
  });

  it("records the prerequisites: the golden template, and declared dependencies", () => {
    const plan = devPlan();
    expect(machine(plan, "docker-golden").dependsOn).toEqual([]);
    expect(machine(plan, "portainer").dependsOn).toEqual(["docker-golden"]);
    expect(machine(plan, "data").dependsOn).toEqual(["portainer"]);
    expect(machine(plan, "portainer").source).toEqual({
      kind: "clone",
      template: "docker-golden",
      vmid: 901,
      snapshot: "golden",
    });
    expect(machine(plan, "data").source).toEqual({
      kind: "create",
      template: "debian-12-base",
      storage: "local",
      file: "vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
    });
  });

  it("gives data an address from the pool 10.100.0.100–199, and keeps static addresses", () => {
    const plan = devPlan();
    expect(Object.keys(plan.allocations)).toEqual(["data/eth0"]);
    const cidr = plan.allocations["data/eth0"]!;
    expect(cidr).toMatch(/^10\.100\.0\.\d{1,3}\/24$/);
    const a = parseCidr(cidr)!.address;
    expect(a).toBeGreaterThanOrEqual(parseIp("10.100.0.100")!);
    expect(a).toBeLessThanOrEqual(parseIp("10.100.0.199")!);
    expect(machine(plan, "data").network).toEqual([
      { name: "eth0", bridge: "vmbr0", ip: cidr, gateway: "10.100.0.1", allocated: true },
    ]);
    expect(machine(plan, "portainer").network).toEqual([
      { name: "eth0", bridge: "vmbr0", ip: "10.100.0.10/24", gateway: "10.100.0.1", allocated: false },
    ]);
    // The lock file's record is honoured.
    const { definition } = loadDefinition(DEV);
    expect(buildPlan(definition!, { previousAllocations: { "data/eth0": "10.100.0.150/24" } }).allocations).toEqual({
      "data/eth0": "10.100.0.150/24",
    });
  });

  it("mounts tank/shared-data from /tank/shared-data and asks for the datasets first", () => {
    const data = machine(devPlan(), "data");
    expect(data.mountPoints).toEqual([
      {
        id: "mp0",
        source: "/tank/shared-data",
        dataset: "tank/shared-data",
        path: "/data",
        readOnly: false,
        backup: false,
        // container uid/gid 1000 of an unprivileged container: host 101000
        owner: { uid: 1000, gid: 1000, hostUid: 101000, hostGid: 101000 },
      },
    ]);
    // Its disk's storage (tank-lxc) lives on tank/lxc-disks.
    expect(data.datasets).toEqual(["tank/lxc-disks", "tank/shared-data"]);
  });

  it("inherits nesting and docker from the golden template; provisions only the machine's own features", () => {
    const plan = devPlan();
    const portainer = machine(plan, "portainer");
    expect(portainer.nesting).toBe(true);
    expect(portainer.keyctl).toBe(true);
    // Features say what the chain declared; the template's source: debian is not reset by a default.
    expect(portainer.features.docker).toEqual({ source: "debian", daemon: LAB_MIRROR });
    expect(portainer.provisioners.map((p) => p.feature)).toEqual(["portainer"]);
    expect(machine(plan, "docker-golden").provisioners.map((p) => p.feature)).toEqual(["docker"]);
    expect(machine(plan, "data").nesting).toBe(false);
  });

  it("lists the secrets the stack needs, sorted", () => {
    const { secrets } = devPlan();
    expect(secrets).toEqual(expect.arrayContaining(["nodeSshKey", "portainerAdminPassword", "proxmoxRootPassword"]));
    // dev.yaml also takes the guests' SSH public key from config (access.sshKeys: [{ secret: guestSshPublicKey }]).
    expect(secrets).toEqual(["guestSshPublicKey", "nodeSshKey", "portainerAdminPassword", "proxmoxRootPassword"]);
  });

  it("plans no GPU devices for a node without GPUs", () => {
    const plan = devPlan();
    for (const m of plan.machines) {
      expect(m.devices).toEqual([]);
      expect(m.hostpci).toEqual([]);
    }
    expect(plan.nodes).toEqual([expect.objectContaining({ name: "lab", gpuMappings: [] })]);
    expect(warningsOf(loadDefinition(DEV).problems)).toEqual([]);
  });
});

describe("GPU devices", () => {
  it("an LXC with gpus [1, 0] gets /dev/nvidia0, /dev/nvidia1, then the shared devices", () => {
    const gpus = [1, 0];
    expect(lxcGpuDevices(gpus)).toEqual(["/dev/nvidia0", "/dev/nvidia1", ...NVIDIA_SHARED_DEVICES]);
    expect(lxcGpuDevices(gpus).slice(2)).toEqual([
      "/dev/nvidiactl",
      "/dev/nvidia-uvm",
      "/dev/nvidia-uvm-tools",
      "/dev/nvidia-modeset",
      "/dev/nvidia-caps/nvidia-cap1",
      "/dev/nvidia-caps/nvidia-cap2",
    ]);
    expect(gpus).toEqual([1, 0]); // the argument is not sorted in place
    expect(lxcGpuDevices([])).toEqual([]);
  });

  it("a VM with gpus [1, 0] gets hostpci0/1 referencing the node's mappings in index order", () => {
    expect(vmHostPci("pve", [1, 0])).toEqual([
      { device: "hostpci0", mapping: "pve-gpu0", pcie: true },
      { device: "hostpci1", mapping: "pve-gpu1", pcie: true },
    ]);
    expect(vmHostPci("pve", [])).toEqual([]);
  });

  it("buildPlan gives the same devices to a container with gpus [1, 0]", () => {
    const plan = buildPlan(validated(gpuDefinition([{ vmid: 200, name: "ct", template: "nvidia-golden", gpus: [1, 0] }])));
    const ct = machine(plan, "ct");
    expect(ct.gpus).toEqual([0, 1]);
    expect(ct.devices).toEqual(["/dev/nvidia0", "/dev/nvidia1", ...NVIDIA_SHARED_DEVICES]);
    expect(ct.hostpci).toEqual([]);
    // The template's GPUs reach its clones unless they say otherwise.
    expect(machine(plan, "nvidia-golden").devices).toEqual(ct.devices);
  });

  it("buildPlan passes a VM's GPUs through PCI mappings", () => {
    const def = gpuDefinition(
      [{ vmid: 300, name: "vm", type: "vm", template: "cloud", gpus: [1] }],
      [{ name: "cloud", type: "vm", vmid: 9000, source: { storage: "local", file: "iso/noble.img" } }],
    );
    // nvidia-golden (a container) also holds GPU 1, but no guest container does.
    const plan = buildPlan(validated(def));
    expect(machine(plan, "vm").hostpci).toEqual([{ device: "hostpci0", mapping: "pve-gpu1", pcie: true }]);
    expect(machine(plan, "vm").devices).toEqual([]);
    expect(plan.nodes[0]!.gpuMappings.map((g) => g.id)).toEqual(["pve-gpu0", "pve-gpu1"]);
  });
});

describe("vLLM settings", () => {
  const vllmSettings = (plan: Plan, name: string) =>
    machine(plan, name).provisioners.find((p) => p.feature === "vllm")!.settings as Record<string, unknown>;

  it("tensorParallelSize defaults to the number of GPUs the guest has", () => {
    const plan = buildPlan(
      validated(
        gpuDefinition([
          {
            vmid: 200,
            name: "dual",
            template: "nvidia-golden",
            features: { vllm: { model: "Qwen/Qwen3-32B", gpuMemoryUtilization: 0.3 } },
          },
          {
            vmid: 201,
            name: "single",
            template: "nvidia-golden",
            gpus: [1],
            features: { vllm: { model: "Qwen/Qwen3-8B", servedModelName: "qwen", gpuMemoryUtilization: 0.3 } },
          },
          {
            vmid: 202,
            name: "pinned",
            template: "nvidia-golden",
            features: { vllm: { model: "Qwen/Qwen3-8B", tensorParallelSize: 1, gpuMemoryUtilization: 0.3 } },
          },
        ]),
      ),
    );
    expect(vllmSettings(plan, "dual")).toMatchObject({
      model: "Qwen/Qwen3-32B",
      tensorParallelSize: 2,
      servedModelName: "Qwen/Qwen3-32B",
      port: 8000,
      install: "venv",
    });
    expect(vllmSettings(plan, "single")).toMatchObject({ tensorParallelSize: 1, servedModelName: "qwen" });
    expect(vllmSettings(plan, "pinned")).toMatchObject({ tensorParallelSize: 1 });
  });

  it("the nvidia provisioner carries the node's driver version", () => {
    const plan = buildPlan(validated(gpuDefinition([])));
    const nvidia = machine(plan, "nvidia-golden").provisioners.find((p) => p.feature === "nvidia")!;
    expect(nvidia).toEqual({ feature: "nvidia", transport: "pct", settings: { source: "nvidia", driverVersion: "580.76.05" } });
    expect(plan.nodes[0]!.nvidiaDriver).toEqual({ version: "580.76.05", installOnHost: false });
  });
});

describe("Portainer agents", () => {
  const agent = (vmid: number, name: string, network: unknown[], portainer: Record<string, unknown> = {}) => ({
    vmid,
    name,
    template: "docker-golden",
    network,
    features: { portainer: { role: "agent", ...portainer } },
  });
  function devWith(guests: unknown[]) {
    const { definition } = loadDefinition(DEV);
    const raw = JSON.parse(JSON.stringify(definition));
    raw.guests.push(...guests);
    return buildPlan(validated(shaped(raw)));
  }

  it("dev.yaml has a server and no agent: nothing to register", () => {
    expect(devPlan().portainer).toEqual([]);
  });

  it("agents register with the one server at their first address and agent port, sorted by name", () => {
    const plan = devWith([
      agent(231, "zeta", [{ name: "eth0", bridge: "vmbr0", ip: "10.100.0.31/24", gateway: "10.100.0.1" }]),
      agent(232, "alpha", [{ name: "eth0", bridge: "vmbr0", ip: "auto" }], { port: 9101 }),
    ]);
    const alpha = machine(plan, "alpha").network[0]!.ip.split("/")[0];
    expect(plan.portainer).toEqual([
      {
        server: "portainer",
        adminPassword: { secret: "portainerAdminPassword" },
        agents: [
          { name: "alpha", url: `tcp://${alpha}:9101` },
          { name: "zeta", url: "tcp://10.100.0.31:9001" },
        ],
      },
    ]);
  });

  it("a golden template with the agent role registers nothing itself; its clones do", () => {
    const { definition } = loadDefinition(DEV);
    const raw = JSON.parse(JSON.stringify(definition));
    raw.templates.push({
      vmid: 902,
      name: "agent-golden",
      parent: "docker-golden",
      network: [{ name: "eth0", bridge: "vmbr0", ip: "10.100.0.92/24" }],
      features: { portainer: { role: "agent" } },
    });
    raw.guests.push({
      vmid: 240,
      name: "gpu-box",
      template: "agent-golden",
      network: [{ name: "eth0", bridge: "vmbr0", ip: "auto" }],
    });
    const plan = buildPlan(validated(shaped(raw)));
    expect(plan.portainer.flatMap((p) => p.agents.map((a) => a.name))).toEqual(["gpu-box"]);
  });
});

describe("invalid definitions", () => {
  it("a definition with errors never becomes a plan's input: validated() refuses it, naming each error", () => {
    const def = gpuDefinition([{ vmid: 200, name: "ct", template: "nowhere" }]);
    expect(() => validated(def)).toThrow(DefinitionError);
    expect(() => validated(def)).toThrow("guests[0].template: unknown template 'nowhere'");
  });

  // Found by this suite: overlapping pools once handed out the same address twice.
  it("overlapping pools on one bridge never give two guests the same address", () => {
    const def = shaped({
      nodes: [{ name: "pve", storage: [{ id: "local", path: "/var/lib/vz" }] }],
      network: {
        bridges: [
          {
            name: "vmbr0",
            subnet: "10.0.0.0/24",
            gateway: "10.0.0.1",
            pools: [
              { name: "a", range: "10.0.0.100-10.0.0.100" },
              { name: "b", range: "10.0.0.100-10.0.0.100" },
            ],
          },
        ],
      },
      templates: [{ name: "debian", source: { storage: "local", file: "vztmpl/debian-12.tar.zst" } }],
      guests: [
        { vmid: 100, name: "x", template: "debian", network: [{ ip: "auto", pool: "a" }] },
        { vmid: 101, name: "y", template: "debian", network: [{ ip: "auto", pool: "b" }] },
      ],
    });
    expect(validate(def)).toContainEqual(
      expect.objectContaining({
        severity: "error",
        path: "network.bridges[0].pools[1].range",
        message: "pool 'b' overlaps pool 'a' on bridge 'vmbr0'",
      }),
    );
    // And the allocator itself never hands out one address twice within a bridge's address space.
    const a = { id: "vmbr0/a", space: "vmbr0", first: 100, last: 101, reserved: new Set<number>() };
    const b = { id: "vmbr0/b", space: "vmbr0", first: 101, last: 102, reserved: new Set<number>() };
    const { addresses } = allocate([
      { key: "x/eth0", pool: a, vmid: 100 },
      { key: "y/eth0", pool: a, vmid: 101 },
      { key: "z/eth0", pool: b, vmid: 102 },
    ]);
    // 100..102 is the whole space: three requests, three different addresses.
    expect([...addresses.values()].sort()).toEqual([100, 101, 102]);
  });
});

/** dev.yaml's Docker daemon settings: the lab's registry mirror. */
const LAB_MIRROR = { "registry-mirrors": ["http://10.100.0.1:5000"], "insecure-registries": ["10.100.0.1:5000"] };

describe("feature settings along the clone chain", () => {
  it("a clone's settings merge over its template's; defaults fill only what nobody set", () => {
    const raw = JSON.parse(JSON.stringify(loadDefinition(join(__dirname, "..", "..", "stacks", "dev.yaml")).definition));
    raw.guests[0].features.docker = { daemon: { "log-driver": "journald" } };
    const plan = buildPlan(validated(checkShape(raw).definition!));
    const portainer = plan.machines.find((m) => m.name === "portainer")!;
    expect(portainer.features.docker).toEqual({ source: "debian", daemon: { "log-driver": "journald" } });
    expect(portainer.provisioners.find((p) => p.feature === "docker")!.settings).toEqual({
      source: "debian",
      daemon: { "log-driver": "journald" },
    });
    const golden = plan.machines.find((m) => m.name === "docker-golden")!;
    expect(golden.provisioners[0]!.settings).toEqual({ source: "debian", daemon: LAB_MIRROR });
  });
});
