// Definitions that must validate cleanly, the base the bad-definition table starts from, and every semantic
// mistake reported in one run.
import { describe, expect, it } from "vitest";
import { type Raw, SECRET_VALUE, base, errorPaths, gpuGuest, lxc, problemsOf, vm } from "./support";

/** Valid variations: nothing at all may be reported. */
const valid: { name: string; mutate: (d: Raw) => void }[] = [
  { name: "the base definition itself", mutate: () => {} },
  {
    name: "docker with nesting inherited from the golden template",
    mutate: (d) =>
      d.guests.push({
        vmid: 230,
        name: "web",
        template: "docker-golden",
        features: { docker: { source: "debian", daemon: { "log-driver": "local" } } },
      }),
  },
  {
    name: "vllm whose nvidia and GPUs come from the template chain",
    mutate: (d) => d.guests.push(gpuGuest({ features: { vllm: { model: "Qwen/Qwen3-8B", version: "0.10.2" } } })),
  },
  {
    name: "vllm in a container with docker and the NVIDIA Container Toolkit",
    mutate: (d) =>
      d.guests.push(
        gpuGuest({
          nesting: true,
          features: {
            docker: {},
            "nvidia-container-toolkit": {},
            vllm: { model: "Qwen/Qwen3-8B", version: "0.10.2", install: "container" },
          },
        }),
      ),
  },
  {
    name: "portainer agent registering with the one server",
    mutate: (d) =>
      d.guests.push({
        vmid: 230,
        name: "agent",
        template: "docker-golden",
        network: [{ name: "eth0", bridge: "vmbr0", ip: "auto" }],
        features: { portainer: { role: "agent" } },
      }),
  },
  {
    name: "VM with a cloud-init user",
    mutate: (d) => d.guests.push(vm(300, "vm1", { cloudInit: { user: "ops", password: { secret: "vm1Password" } } })),
  },
];

describe("valid variations", () => {
  it("the shared base is never mutated by a case (each starts from a fresh copy)", () => {
    expect(problemsOf(base())).toEqual([]);
  });
  it.each(valid)("$name", ({ mutate }) => {
    const raw = base();
    mutate(raw);
    expect(problemsOf(raw)).toEqual([]);
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
});
