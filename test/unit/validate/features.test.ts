// Bad definitions, features (validate/features.ts): what each feature needs from its guest along the clone chain.
import { describe } from "vitest";
import { type Case, gpuGuest, lxc, vm, runCases } from "./support";

const cases: Case[] = [
  {
    name: "docker without nesting in LXC",
    mutate: (d) => (d.guests[1].features = { docker: true }),
    expect: [{ path: "guests[1].features.docker", message: "docker in LXC container 'data' needs nesting" }],
  },
  {
    name: "docker inherited from the golden template, nesting turned off",
    mutate: (d) => (d.guests[0].nesting = false),
    expect: [
      {
        path: "guests[0].features.docker",
        message: "docker in LXC container 'portainer' needs nesting (inherited from debian-12-base → docker-golden)",
      },
    ],
  },
  {
    name: "vllm without nvidia",
    mutate: (d) =>
      d.guests.push(lxc(220, "llm", { gpus: [0], features: { vllm: { model: "Qwen/Qwen3-8B", version: "0.10.2" } } })),
    expect: [{ path: "guests[2].features.vllm", message: "vllm on 'llm' needs the nvidia feature" }],
  },
  {
    name: "vllm without GPU (the clone drops the template's GPUs)",
    mutate: (d) => d.guests.push(gpuGuest({ gpus: [], features: { vllm: { model: "Qwen/Qwen3-8B", version: "0.10.2" } } })),
    expect: [{ path: "guests[2].features.vllm", message: "vllm on 'llm' needs a GPU" }],
  },
  {
    name: "tensorParallelSize > GPUs",
    mutate: (d) =>
      d.guests.push(
        gpuGuest({ gpus: [1], features: { vllm: { model: "Qwen/Qwen3-8B", version: "0.10.2", tensorParallelSize: 2 } } }),
      ),
    expect: [
      { path: "guests[2].features.vllm.tensorParallelSize", message: "tensorParallelSize 2 exceeds the 1 GPU(s) 'llm' has" },
    ],
  },
  {
    name: "nvidia-container-toolkit without docker",
    mutate: (d) => d.guests.push(gpuGuest({ features: { "nvidia-container-toolkit": true } })),
    expect: [
      {
        path: "guests[2].features.nvidia-container-toolkit",
        message: "nvidia-container-toolkit on 'llm' needs the docker feature",
      },
    ],
  },
  {
    name: "nvidia-container-toolkit without nvidia",
    mutate: (d) => (d.guests[0].features["nvidia-container-toolkit"] = true),
    expect: [
      {
        path: "guests[0].features.nvidia-container-toolkit",
        message: "nvidia-container-toolkit on 'portainer' needs the nvidia feature",
      },
    ],
  },
  {
    name: "portainer without docker",
    mutate: (d) => (d.guests[1].features = { portainer: { role: "agent", server: "portainer" } }),
    expect: [
      { path: "guests[1].features.portainer", message: "portainer on 'data' runs on Docker and needs the docker feature" },
    ],
  },
  {
    name: "portainer agent with no server",
    mutate: (d) => (d.guests[0].features.portainer = { role: "agent" }),
    expect: [
      {
        path: "guests[0].features.portainer.server",
        message: "a Portainer agent needs a Portainer server, and none is declared",
      },
    ],
  },
  {
    name: "portainer agent naming an unknown server",
    mutate: (d) =>
      d.guests.push({
        vmid: 230,
        name: "agent",
        template: "docker-golden",
        network: [{ name: "eth0", bridge: "vmbr0", ip: "auto" }],
        features: { portainer: { role: "agent", server: "nowhere" } },
      }),
    expect: [{ path: "guests[2].features.portainer.server", message: "unknown Portainer server 'nowhere'" }],
  },
  {
    name: "portainer agent naming a guest that is not a server",
    mutate: (d) =>
      d.guests.push({
        vmid: 230,
        name: "agent",
        template: "docker-golden",
        network: [{ name: "eth0", bridge: "vmbr0", ip: "auto" }],
        features: { portainer: { role: "agent", server: "data" } },
      }),
    expect: [{ path: "guests[2].features.portainer.server", message: "'data' is not a Portainer server" }],
  },
  {
    name: "vllm in a container without docker",
    mutate: (d) =>
      d.guests.push(gpuGuest({ features: { vllm: { model: "Qwen/Qwen3-8B", version: "0.10.2", install: "container" } } })),
    expect: [
      {
        path: "guests[2].features.vllm.install",
        message: "vllm on 'llm' runs in a container and needs the docker feature",
        fix: "add features.docker, or use install: venv",
      },
    ],
  },
  {
    name: "vllm in a container without the NVIDIA Container Toolkit (a warning)",
    mutate: (d) =>
      d.guests.push(
        gpuGuest({
          nesting: true,
          features: { docker: {}, vllm: { model: "Qwen/Qwen3-8B", install: "container", image: "vllm/vllm-openai:v0.6.3" } },
        }),
      ),
    expect: [
      {
        severity: "warning",
        path: "guests[2].features.vllm.install",
        message: "vllm on 'llm' runs `docker run --gpus all`, which needs the NVIDIA Container Toolkit",
      },
    ],
  },
  {
    name: "a vllm image with the venv install (a warning)",
    mutate: (d) =>
      d.guests.push(
        gpuGuest({ features: { vllm: { model: "Qwen/Qwen3-8B", version: "0.10.2", image: "vllm/vllm-openai:v0.6.3" } } }),
      ),
    expect: [
      {
        severity: "warning",
        path: "guests[2].features.vllm.image",
        message: "vllm on 'llm' installs into a Python venv, so image 'vllm/vllm-openai:v0.6.3' is not used",
      },
    ],
  },
  {
    name: "portainer agent on dhcp: its server cannot know where to reach it",
    mutate: (d) =>
      d.guests.push({
        vmid: 230,
        name: "agent",
        template: "docker-golden",
        network: [{ name: "eth0", bridge: "vmbr0", ip: "dhcp" }],
        features: { portainer: { role: "agent" } },
      }),
    expect: [
      {
        path: "guests[2].network[0].ip",
        message: "Portainer agent 'agent' is registered with its server at its address, and dhcp gives none the plan knows",
      },
    ],
  },
  {
    name: "portainer agent without a network interface",
    mutate: (d) =>
      d.guests.push({
        vmid: 230,
        name: "agent",
        template: "docker-golden",
        network: [],
        features: { portainer: { role: "agent" } },
      }),
    expect: [{ path: "guests[2].network", message: "Portainer agent 'agent' has no network interface for its server to reach" }],
  },
  {
    name: "portainer server with agents but no admin password to register them with",
    mutate: (d) => {
      delete d.guests[0].features.portainer.adminPassword;
      d.guests.push({
        vmid: 230,
        name: "agent",
        template: "docker-golden",
        network: [{ name: "eth0", bridge: "vmbr0", ip: "auto" }],
        features: { portainer: { role: "agent" } },
      });
    },
    expect: [
      {
        path: "guests[0].features.portainer.adminPassword",
        message: "Portainer server 'portainer' registers 1 agent(s) through its API, which needs the admin password",
      },
    ],
  },
  {
    name: "unknown apparmor profile",
    mutate: (d) => (d.guests[1].features = { apparmor: { profile: "lxc-phoenix-gpu" } }),
    expect: [
      { path: "guests[1].features.apparmor.profile", message: "unknown AppArmor profile 'lxc-phoenix-gpu' on node 'lab'" },
    ],
  },
  {
    name: "nvidia feature on a node without nvidia.driverVersion",
    mutate: (d) => delete d.nodes[0].nvidia,
    expect: [
      {
        path: "templates[2].features.nvidia",
        message: "nvidia on 'nvidia-golden' installs the userland matching the node's driver, but node 'lab' declares none",
      },
    ],
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
    expect: [
      {
        path: "guests[2].features.nvidia.cudaVersion",
        message: "CUDA 12.9 differs from CUDA 12.8 at templates[2].features.nvidia.cudaVersion",
      },
    ],
  },
  {
    name: "mixed CUDA versions: three, each differing one named",
    mutate: (d) => {
      d.guests.push(lxc(240, "cuda124", { features: { nvidia: { cudaVersion: "12.4" } } }));
      d.guests.push(lxc(241, "cuda126", { features: { nvidia: { cudaVersion: "12.6", source: "debian" } } }));
    },
    expect: [
      {
        path: "guests[2].features.nvidia.cudaVersion",
        message: "CUDA 12.4 differs from CUDA 12.8 at templates[2].features.nvidia.cudaVersion",
      },
      {
        path: "guests[3].features.nvidia.cudaVersion",
        message: "CUDA 12.6 differs from CUDA 12.8 at templates[2].features.nvidia.cudaVersion",
      },
    ],
  },
  {
    name: "mountPoints on a VM",
    mutate: (d) => d.guests.push(vm(300, "vm1", { mountPoints: [{ hostPath: "/srv", path: "/srv" }] })),
    expect: [{ path: "guests[2].mountPoints", message: "mount points onto host datasets apply to LXC containers only" }],
  },
  {
    name: "nesting on a VM",
    mutate: (d) => d.guests.push(vm(300, "vm1", { nesting: true })),
    expect: [{ path: "guests[2].nesting", message: "nesting applies to LXC containers only" }],
  },
  {
    name: "apparmor on a VM",
    mutate: (d) => d.guests.push(vm(300, "vm1", { features: { apparmor: { profile: "unconfined" } } })),
    expect: [{ path: "guests[2].features.apparmor", message: "AppArmor profiles are attached to LXC containers only" }],
  },
  {
    name: "the node's NVIDIA driver asked for without SSH to the node",
    mutate: (d) => {
      d.nodes[0].nvidia = { driverVersion: "580.76.05", installOnHost: true, runfileSha256: "0".repeat(64) };
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
    expect: [
      {
        path: "guests[2].network[0].ip",
        message: "VM 'vm1' is provisioned over SSH at its first address, which must be known in advance",
      },
    ],
  },
  {
    name: "cloudInit on an LXC",
    mutate: (d) => (d.guests[1].cloudInit = { user: "ops" }),
    expect: [{ path: "guests[1].cloudInit", message: "cloud-init applies to VMs only" }],
  },
];

describe("bad definitions: features", () => runCases(cases, 29));
