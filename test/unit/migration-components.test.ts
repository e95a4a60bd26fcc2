// The resource graph of a container that migrates, under Pulumi's unit-test mocks (wiring only: test/e2e/cluster runs
// it for real on a two-node lab): each guest container has a placement it depends on and is deleted with; the one that
// moves keeps the state's node in the preview and is imported where it now runs in the up, keeping what Proxmox read
// back of its create-time fields; a guest that does not move gets neither.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CREATE_TIME_FIELDS } from "../../plan/adoption";
import { buildPlan } from "../../plan/plan";
import { loadDefinition } from "../../validate";
import { type Registered, installRecordingMocks, settle } from "../support/pulumi-mocks";

const CT = "proxmoxve:index/containerLegacy:ContainerLegacy";
const PLACEMENT = "pulumi-nodejs:dynamic/phoenix:GuestPlacement";

/** The dev stack's graph with `data` migrating to another node, as a preview (dry run) or an up registers it. */
async function graph(preview: boolean): Promise<Registered[]> {
  const records = await installRecordingMocks("dev", preview);
  const { PhoenixHypervisor } = await import("../../components/phoenix-hypervisor");
  const pulumi = await import("@pulumi/pulumi");
  const dir = join(__dirname, "..", "..", "stacks");
  const definition = loadDefinition(join(dir, "dev.yaml")).definition!;
  // without the gateway: the up's steps would want a real CA certificate from the mocks
  delete (definition as { gateway?: unknown }).gateway;
  for (const x of [...definition.guests, ...definition.apps]) x.expose = [];
  const plan = buildPlan(definition);
  plan.machines.find((m) => m.name === "data")!.mountPoints = [];
  new PhoenixHypervisor("dev", {
    plan,
    secret: (n) => pulumi.secret(`value-of-${n}`),
    definitionDir: dir,
    migrations: { now: new Map([["data", "lab0"]]), migrated: new Set() },
  });
  await settle(records);
  return records;
}

const byName = (records: Registered[], type: string, name: string) => records.find((x) => x.type === type && x.name === name)!;

describe("a container that migrates", () => {
  it("depends on its placement and is deleted with it; the preview keeps the state's node, the up imports it", async () => {
    const preview = await graph(true);
    const data = byName(preview, CT, "data");
    const placement = byName(preview, PLACEMENT, "data-placement");
    expect(placement.inputs).toMatchObject({ node: "lab", vmid: 210, guest: "data", migrate: true, from: "lab0" });
    expect(data.dependencies).toContain(placement.urn);
    expect(data.deletedWith).toBe(placement.urn);
    expect(data.ignoreChanges).toEqual([...CREATE_TIME_FIELDS.lxc, "nodeName"]);
    expect(data.importId).toBe("");
    // a guest that stays has a placement too (its removal goes through it), and nothing of a migration
    const portainer = byName(preview, CT, "portainer");
    expect(portainer.deletedWith).toBe(byName(preview, PLACEMENT, "portainer-placement").urn);
    expect(portainer.ignoreChanges).toEqual([]);
    expect(byName(preview, PLACEMENT, "portainer-placement").inputs.from).toBeUndefined();
    const clonePlacement = byName(preview, PLACEMENT, "portainer-placement");
    expect(clonePlacement.inputs.migrate).toBe(false); // a clone of its golden template
    // a clone's placement (which deletes it) stands after its golden template: deleted before the template is
    expect(clonePlacement.dependencies).toContain(byName(preview, CT, "docker-golden").urn);
    // a golden template has none: it is not migrated, and the provider deletes it
    expect(preview.find((r) => r.name === "docker-golden-placement")).toBeUndefined();
    expect(byName(preview, CT, "docker-golden").deletedWith).toBe("");

    const up = await graph(false);
    const imported = byName(up, CT, "data");
    expect(imported.importId).toBe("lab/210");
    expect(imported.ignoreChanges).toEqual(CREATE_TIME_FIELDS.lxc);
    expect(byName(up, CT, "portainer").importId).toBe("");
  });
});
