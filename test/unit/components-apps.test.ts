// The resource graph of apps under Pulumi's unit-test mocks (wiring only; test/e2e/apps runs them on the lab): the
// dev stack's demo app as one step in its guest, and an app deployed through Portainer as the guest's files plus the
// stack in the server's guest, after the agent's registration; secrets only as secret inputs.
import { mkdtempSync, writeFileSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { readFileSync } from "node:fs";
import { addPortainerAgent } from "../support/dev-agent";
import { beforeAll, describe, expect, it } from "vitest";
import { buildPlan } from "../../plan/plan";
import { loadDefinition } from "../../validate";
import { type Registered, installRecordingMocks, settle, valueOf } from "../support/pulumi-mocks";

const ROOT = join(__dirname, "..", "..");
let records: Registered[];
let apps: Record<string, any>;
const step = (name: string) => {
  const r = records.find((x) => x.type === "pulumi-nodejs:dynamic/phoenix:RemoteScript" && x.name === name);
  if (!r) throw new Error(`no step ${name}; have ${records.map((x) => x.name).join(", ")}`);
  return r;
};
const urnOf = (type: string, name: string) => records.find((x) => x.type === type && x.name === name)!.urn;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "phoenix-components-apps-"));
  cpSync(join(ROOT, "stacks", "apps"), join(dir, "apps"), { recursive: true });
  writeFileSync(
    join(dir, "apps", "q.yaml"),
    "services:\n  q:\n    image: qdrant/qdrant:v1.12\n    ports: ['6333:6333']\n    secrets: [k]\nsecrets:\n  k: { file: ./secrets/API_KEY }\n",
  );
  const d = parse(readFileSync(join(ROOT, "stacks", "dev.yaml"), "utf8"));
  addPortainerAgent(d);
  d.apps.push({
    name: "qdrant",
    compose: "apps/q.yaml",
    guests: ["worker"],
    deploy: "portainer",
    variables: { API_KEY: { secret: "qdrantApiKey" } },
  });
  writeFileSync(join(dir, "dev.yaml"), stringify(d));
  records = await installRecordingMocks("dev");
  const { PhoenixHypervisor } = await import("../../components/phoenix-hypervisor");
  const pulumi = await import("@pulumi/pulumi");
  const def = loadDefinition(join(dir, "dev.yaml")).definition!;
  const hv = new PhoenixHypervisor("dev", {
    plan: buildPlan(def),
    secret: (n) => pulumi.secret(`value-of-${n}`),
    definitionDir: dir,
  });
  apps = await valueOf(hv.apps);
  await settle(records);
});

describe("apps in the resource graph", () => {
  it("deploy: compose — one step in the guest (pct into 200), after the guest is provisioned, replaced with it", () => {
    const s = step("hello-on-portainer");
    expect(s.inputs.inContainer).toBe(200);
    expect(s.inputs.params.APP_NAME).toBe("hello");
    expect(s.inputs.params.APP_FILE_0).toContain("<h1>Hello from Phoenix</h1>");
    // the guest's container and every provisioning step of it (health checks last): docker is there first
    expect(s.dependencies).toEqual(
      expect.arrayContaining([
        urnOf("proxmoxve:index/containerLegacy:ContainerLegacy", "portainer"),
        urnOf("pulumi-nodejs:dynamic/phoenix:RemoteScript", "portainer-health"),
      ]),
    );
    expect(s.replaceWith).toContain(urnOf("proxmoxve:index/containerLegacy:ContainerLegacy", "portainer"));
    expect(s.inputs.deleteScript).toContain("down");
  });

  it("deploy: portainer — the guest's files in 220, the stack in the server's guest after the registration and the files", () => {
    const files = step("qdrant-on-worker-files");
    const stack = step("qdrant-on-worker-stack");
    expect(files.inputs.inContainer).toBe(220);
    expect(stack.inputs.inContainer).toBe(200);
    expect(stack.inputs.params).toMatchObject({ APP_NAME: "qdrant", PORTAINER_ENVIRONMENT: "worker" });
    expect(stack.dependencies).toEqual(
      expect.arrayContaining([files.urn, urnOf("pulumi-nodejs:dynamic/phoenix:RemoteScript", "portainer-portainer-agents")]),
    );
    // the secret file's value travels as a secret input, never as a param
    expect(JSON.stringify(files.inputs.params)).not.toContain("value-of-qdrantApiKey");
    expect(JSON.stringify(stack.inputs.params)).not.toContain("value-of-");
  });

  it("exports each app's URLs on its guests", () => {
    expect(apps.hello).toEqual({ deploy: "compose", guests: { portainer: ["http://10.100.0.10:8080/"] } });
    expect(apps.qdrant.deploy).toBe("portainer");
    expect(apps.qdrant.guests.worker[0]).toMatch(/^http:\/\/10\.100\.0\.1\d\d:6333\/$/);
  });
});
