// The HA resources' wiring under Pulumi's unit-test mocks (test/e2e/cluster makes them for real on a two-node lab):
// each HA guest's resource once its container exists and made anew with it; rules after the resources they name.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildPlan } from "../../plan/plan";
import { loadDefinition } from "../../validate";
import { type Registered, installRecordingMocks, settle } from "../support/pulumi-mocks";

const CT = "proxmoxve:index/containerLegacy:ContainerLegacy";
const HA_RESOURCE = "proxmoxve:index/haresource:Haresource";
const HA_RULE = "proxmoxve:index/harule:Harule";

async function graph(): Promise<Registered[]> {
  const records = await installRecordingMocks("cluster", true);
  const { PhoenixHypervisor } = await import("../../components/phoenix-hypervisor");
  const pulumi = await import("@pulumi/pulumi");
  const dir = join(__dirname, "..", "..", "stacks");
  const plan = buildPlan(loadDefinition(join(dir, "cluster.yaml")).definition!);
  new PhoenixHypervisor("cluster", { plan, secret: (n) => pulumi.secret(`value-of-${n}`), definitionDir: dir });
  await settle(records);
  return records;
}

const one = (records: Registered[], type: string, name: string) => {
  const hits = records.filter((x) => x.type === type && x.name === name);
  expect(hits, `${type} ${name}`).toHaveLength(1);
  return hits[0]!;
};

describe("HighAvailability", () => {
  it("makes an HA resource per HA guest after its container, and the rules after the resources they name", async () => {
    const records = await graph();
    expect(
      records
        .filter((r) => r.type === HA_RESOURCE)
        .map((r) => r.name)
        .sort(),
    ).toEqual(["db-ha", "web-1-ha", "web-2-ha"]);
    const db = one(records, HA_RESOURCE, "db-ha");
    const dbCt = one(records, CT, "db");
    expect(db.inputs).toMatchObject({ resourceId: "ct:220", state: "started", maxRestart: 2, maxRelocate: 1 });
    expect(db.dependencies).toContain(dbCt.urn);
    expect(db.replaceWith).toEqual([dbCt.urn]);
    expect(db.deleteBeforeReplace).toBe(true);
    // a guest without ha has none
    expect(records.find((r) => r.type === HA_RESOURCE && r.name === "portainer-ha")).toBeUndefined();

    const spread = one(records, HA_RULE, "ha-rule-phoenix-spread-web");
    expect(spread.inputs).toMatchObject({ rule: "phoenix-spread-web", type: "resource-affinity", affinity: "negative" });
    expect(spread.inputs.resources).toEqual(["ct:210", "ct:211"]);
    const members = ["web-1", "web-2"];
    expect(spread.dependencies).toEqual(expect.arrayContaining(members.map((m) => one(records, HA_RESOURCE, `${m}-ha`).urn)));
    expect(spread.replaceWith.sort()).toEqual(members.map((m) => one(records, CT, m).urn).sort());
    const node = one(records, HA_RULE, "ha-rule-phoenix-node-db");
    expect(node.inputs).toMatchObject({ type: "node-affinity", nodes: { pve2: 2, pve1: 1 }, strict: false });
    expect(node.dependencies).toContain(db.urn);
  });
});
