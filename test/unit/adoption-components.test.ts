// The resource graph of an adopted, partly protected dev stack under Pulumi's unit-test mocks (wiring only: the
// end-to-end test test/e2e/adopt runs it for real): imports, kept create-time fields, check-first steps, protection,
// and the destroy guard that every other resource is a dependency of.
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { EMPTY_ADOPTION } from "../../definition/adoption";
import { type LiveGuest, matchLive } from "../../plan/adopt-match";
import { CREATE_TIME_FIELDS, adoptionOf } from "../../plan/adoption";
import { buildPlan } from "../../plan/plan";
import { loadDefinition } from "../../validate";
import { type Registered, installRecordingMocks, settle } from "../support/pulumi-mocks";

let records: Registered[];
const CT = "proxmoxve:index/containerLegacy:ContainerLegacy";
const STEP = "pulumi-nodejs:dynamic/phoenix:RemoteScript";
const byName = (type: string, name: string) => records.find((x) => x.type === type && x.name === name)!;

beforeAll(async () => {
  records = await installRecordingMocks("dev");
  const { PhoenixHypervisor } = await import("../../components/phoenix-hypervisor");
  const pulumi = await import("@pulumi/pulumi");
  const dir = join(__dirname, "..", "..", "stacks");
  const plan = buildPlan(loadDefinition(join(dir, "dev.yaml")).definition!);
  plan.machines.find((m) => m.name === "data")!.protect = true;
  // the golden template and the Portainer guest run already (the original built them); data is new
  const live: LiveGuest[] = plan.machines
    .filter((m) => m.name !== "data")
    .map((m) => ({
      vmid: m.vmid,
      node: m.node,
      type: m.type,
      name: m.name,
      template: m.kind === "template",
      config: { unprivileged: 1 },
    }));
  const record = matchLive(plan, [{ node: "lab", guests: live }], EMPTY_ADOPTION, new Set()).record;
  new PhoenixHypervisor("dev", {
    plan,
    secret: (n) => pulumi.secret(`value-of-${n}`),
    definitionDir: dir,
    adoption: adoptionOf(record, plan, new Set()),
  });
  await settle(records);
});

describe("an adopted dev stack", () => {
  it("imports the running guests under the program's own URNs, keeping their create-time origin", () => {
    const portainer = byName(CT, "portainer");
    expect(portainer.importId).toBe("lab/200");
    expect(portainer.ignoreChanges).toEqual(CREATE_TIME_FIELDS.lxc);
    // kept as it runs: its template's rebuild does not take it along
    expect(portainer.replaceWith).toEqual([]);
    const golden = byName(CT, "docker-golden");
    expect(golden.importId).toBe("lab/901");
    expect(golden.ignoreChanges).toEqual(["template", "started", ...CREATE_TIME_FIELDS.lxc]);
    expect(golden.replacementTrigger).toBeUndefined();
    const data = byName(CT, "data");
    expect(data.importId).toBe("");
    expect(data.ignoreChanges).toEqual([]);
  });

  it("gives the adopted guests' steps the check-first mode, and the others none", () => {
    expect(byName(STEP, "portainer-portainer").inputs.adopt).toBe(true);
    expect(byName(STEP, "portainer-health").inputs.adopt).toBe(true);
    expect(byName(STEP, "docker-golden-docker").inputs.adopt).toBe(true);
    expect(byName(STEP, "docker-golden-freeze").inputs.adopt).toBe(true);
    expect(byName(STEP, "portainer-portainer").inputs.triggers).toEqual(["lxc", "lab", 200, "adopted"]);
  });

  it("protects a protected guest's container with Pulumi's protect too", () => {
    expect(byName(CT, "data").protect).toBe(true);
    expect(byName(CT, "portainer").protect).toBe(false);
  });

  it("makes the destroy guard depend on every other resource, refusing while data is protected", () => {
    const guard = byName("pulumi-nodejs:dynamic/phoenix:DestroyGuard", "dev-destroy-guard");
    const others = records.filter((r) => r.custom && r !== guard && !r.type.startsWith("pulumi:providers:"));
    for (const r of others) expect(guard.dependencies, `${r.type} ${r.name}`).toContain(r.urn);
    expect(guard.inputs.refusal).toContain("guest 'data' (CT 210 on lab) is protected: destroy would delete it");
    // the dataset of stacks/dev.yaml that is protected by default
    expect(guard.inputs.refusal).toContain("dataset 'tank/lxc-disks' on lab is protected");
  });
});
