// GPU passthrough for VMs: a cluster PCI mapping per GPU a VM uses, referenced by hostpci.
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { beforeAll, expect, it } from "vitest";
import { checkShape } from "../../definition/load";
import { buildPlan } from "../../plan/plan";
import { validate, validated } from "../../validate";
import { type Registered, installRecordingMocks, settle } from "../support/pulumi-mocks";

let records: Registered[];

function aiHostWithGpuVm() {
  const raw = parse(readFileSync(join(__dirname, "..", "..", "stacks", "ai-host.yaml"), "utf8"));
  raw.guests = raw.guests.filter((g: any) => !["vllm-gpu1", "vllm-dual", "ollama"].includes(g.name));
  raw.apps = []; // Open WebUI is wired to the guests left out here
  raw.guests.find((g: any) => g.name === "workstation").gpus = [1];
  raw.nodes[0].nvidia.installOnHost = true;
  raw.nodes[0].nvidia.runfileSha256 = "0".repeat(64);
  return checkShape(raw).definition!;
}

beforeAll(async () => {
  records = await installRecordingMocks("gpu-vm");
  const { PhoenixHypervisor } = await import("../../components/phoenix-hypervisor");
  const pulumi = await import("@pulumi/pulumi");
  const def = aiHostWithGpuVm();
  expect(validate(def).filter((p) => p.severity === "error")).toEqual([]);
  new PhoenixHypervisor("gpu-vm", {
    plan: buildPlan(validated(def)),
    secret: (n) => pulumi.secret(n),
    definitionDir: join(__dirname, "..", "..", "stacks"),
  });
  await settle(records);
});

it("maps only the GPUs VMs use, and the VM references the mapping", () => {
  const pci = records.filter((r) => r.type === "proxmoxve:hardware/mapping/pciLegacy:PciLegacy");
  expect(pci.map((r) => r.inputs)).toEqual([
    {
      name: "pve-gpu1",
      comment: "GPU 1 of pve (managed by Phoenix)",
      maps: [{ node: "pve", path: "0000:02:00.0", id: "10de:2d04", iommuGroup: 15 }],
    },
  ]);
  const vm = records.find((r) => r.type === "proxmoxve:index/vmLegacy:VmLegacy")!;
  expect(vm.inputs.hostpcis).toEqual([{ device: "hostpci0", mapping: "pve-gpu1", pcie: true }]);
  expect(vm.inputs.machine).toBe("q35");
  // Depending on a component waits for its children: the VM waits for the mapping.
  expect(records.find((r) => r.type === "phoenix:index:QemuVm")!.dependencies).toContain(pci[0]!.urn);
});

it("installs the node's NVIDIA driver first when asked, and every machine on the node waits for it", () => {
  const driver = records.filter((r) => r.type === "pulumi-nodejs:dynamic/phoenix:RemoteScript" && r.name === "pve-nvidia-driver");
  expect(driver).toHaveLength(1);
  expect(driver[0]!.inputs.params).toMatchObject({ NVIDIA_DRIVER_VERSION: "580.76.05" });
  expect(driver[0]!.inputs.inContainer).toBeUndefined();
  const machines = records.filter((r) => r.type === "phoenix:index:LxcContainer" || r.type === "phoenix:index:QemuVm");
  expect(machines.length).toBeGreaterThan(0);
  for (const m of machines) expect(m.dependencies, m.name).toContain(driver[0]!.urn);
});

it("rejects a GPU shared between a VM and a container", () => {
  const raw = parse(readFileSync(join(__dirname, "..", "..", "stacks", "ai-host.yaml"), "utf8"));
  raw.guests.find((g: any) => g.name === "workstation").gpus = [1];
  const problems = validate(checkShape(raw).definition!);
  expect(problems).toContainEqual(
    expect.objectContaining({
      path: "guests[4].gpus",
      message: "GPU 1 is passed through to VM 'workstation' and also used by container 'vllm-gpu1'",
    }),
  );
});
