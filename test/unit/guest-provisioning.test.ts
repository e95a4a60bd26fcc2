// GuestProvisioning's resource graph under Pulumi's mocks: order, transport, node-side steps and secrets.
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { buildPlan } from "../../plan/plan";
import { loadDefinition } from "../../validate";
import { type Registered, installRecordingMocks, settle } from "../support/pulumi-mocks";

const TYPE = "pulumi-nodejs:dynamic/phoenix:RemoteScript";
let records: Registered[];
const byName = (name: string) => {
  const r = records.find((x) => x.name === name);
  if (!r) throw new Error(`no resource ${name}; have ${records.map((x) => x.name).join(", ")}`);
  return r;
};
const short = (urn: string) => urn.split("::").pop();

beforeAll(async () => {
  records = await installRecordingMocks("gp");
  const { GuestProvisioning } = await import("../../components/guest-provisioning");
  const dir = join(__dirname, "..", "..", "stacks");
  const plan = buildPlan(loadDefinition(join(dir, "ai-host.yaml")).definition!);
  const machine = (n: string) => plan.machines.find((m) => m.name === n)!;
  const node = { host: "10.0.0.2", privateKey: pulumi.secret("node-key") };
  const secrets = { hfToken: pulumi.secret("hf-secret-value"), portainerAdminPassword: pulumi.secret("pw-secret-value") };
  const container = new (class extends pulumi.CustomResource {})("test:index:Container", "ct", {});
  const common = { node, secrets, definitionDir: dir, dependsOn: [container], apparmorProfiles: plan.nodes[0]!.apparmorProfiles };
  new GuestProvisioning("vllm-gpu0", { ...common, machine: machine("vllm-gpu0") });
  new GuestProvisioning("nvidia-docker-golden", { ...common, machine: machine("nvidia-docker-golden") });
  new GuestProvisioning("workstation", {
    ...common,
    machine: machine("workstation"),
    guest: { host: "10.0.0.50", user: "phoenix" },
  });
  await settle(records);
});

describe("GuestProvisioning", () => {
  it("runs a guest's features in the plan's order, each after the one before, then its health checks", () => {
    const steps = records.filter((r) => r.type === TYPE && r.name.startsWith("vllm-gpu0-")).map((r) => r.name);
    // The AppArmor profile comes with the clone chain (nvidia-docker-golden): its config line is checked here too.
    expect(steps).toEqual(["vllm-gpu0-apparmor", "vllm-gpu0-vllm", "vllm-gpu0-portainer", "vllm-gpu0-health"]);
    expect(byName("vllm-gpu0-apparmor").dependencies.map(short)).toEqual(["ct"]);
    expect(byName("vllm-gpu0-vllm").dependencies.map(short)).toEqual(["vllm-gpu0-apparmor"]);
    expect(byName("vllm-gpu0-portainer").dependencies.map(short)).toEqual(["vllm-gpu0-vllm"]);
    // The health checks take every step's hash as a param (to re-run after any change), so they depend on all of them.
    expect(byName("vllm-gpu0-health").dependencies.map(short).sort()).toEqual([
      "vllm-gpu0-apparmor",
      "vllm-gpu0-portainer",
      "vllm-gpu0-vllm",
    ]);
    expect(byName("vllm-gpu0-vllm").parent).toBe(byName("vllm-gpu0").urn);
    expect(byName("vllm-gpu0").type).toBe("phoenix:index:GuestProvisioning");
  });

  it("containers are reached through the node with pct exec; VMs over SSH to the guest", () => {
    expect(byName("vllm-gpu0-vllm").inputs).toMatchObject({ inContainer: 210, connection: { host: "10.0.0.2" } });
    expect(byName("workstation-docker").inputs.connection).toMatchObject({ host: "10.0.0.50", user: "phoenix" });
    expect(byName("workstation-docker").inputs.inContainer).toBeUndefined();
  });

  it("puts the AppArmor profile and lxc lines on the node first, before anything runs in the container", () => {
    const steps = records.filter((r) => r.type === TYPE && r.name.startsWith("nvidia-docker-golden-")).map((r) => r.name);
    expect(steps).toEqual([
      "nvidia-docker-golden-apparmor",
      "nvidia-docker-golden-docker",
      "nvidia-docker-golden-nvidia-container-toolkit",
    ]);
    const aa = byName("nvidia-docker-golden-apparmor").inputs;
    expect(aa.inContainer).toBeUndefined();
    expect(aa.params).toMatchObject({
      VMID: "902",
      APPARMOR_PROFILE: "lxc-phoenix-gpu",
      LXC_LINES: "lxc.apparmor.profile: lxc-phoenix-gpu",
    });
    expect(aa.params.APPARMOR_PROFILE_TEXT).toContain("profile lxc-phoenix-gpu");
    // Docker and the toolkit agree on daemon.json, runtime included.
    expect(byName("nvidia-docker-golden-docker").inputs.params.DOCKER_DAEMON_JSON_NVIDIA).toBe(
      byName("nvidia-docker-golden-nvidia-container-toolkit").inputs.params.DOCKER_DAEMON_JSON_NVIDIA,
    );
  });

  it("passes secrets only as secrets, never in params", () => {
    const inputs = byName("vllm-gpu0-vllm").inputs;
    expect(JSON.stringify(inputs.params)).not.toContain("hf-secret-value");
    expect(JSON.stringify(inputs.script)).not.toContain("hf-secret-value");
    expect(Object.keys(inputs.secrets)).toEqual(["HF_TOKEN"]);
    expect(byName("vllm-gpu0-portainer").inputs.secrets).toBeUndefined();
  });

  it("ties every step to the machine's incarnation, so a replaced machine is provisioned anew", () => {
    const expected = ["lxc", "pve", 210, "clone:vllm-golden", true, null];
    for (const step of ["vllm-gpu0-apparmor", "vllm-gpu0-vllm", "vllm-gpu0-portainer", "vllm-gpu0-health"])
      expect(byName(step).inputs.triggers).toEqual(expected);
    expect(byName("workstation-docker").inputs.triggers).toEqual(["vm", "pve", 300, "clone:noble-cloud", false, "fast-vm"]);
  });
});
