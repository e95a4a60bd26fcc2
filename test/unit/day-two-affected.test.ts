// What a restore or rollback of one guest makes the day-two verbs refresh: the guest's own component, the apps on it and
// the apps deployed through a Portainer server on it, found in a stack's state with everything under them — and nothing
// of other guests or apps (the backups e2e test saw an app lost by a rollback surface only at a later refresh).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { addPortainerAgent } from "../support/dev-agent";
import { describe, expect, it } from "vitest";
import { affectedBy, machineOf, underComponents } from "../../cli/day-two-stack";
import { checkShape } from "../../definition/load";
import { buildPlan } from "../../plan/plan";
import { validated } from "../../validate";

const ROOT = join(__dirname, "..", "..");

function devWithAgent() {
  const d = parse(readFileSync(join(ROOT, "stacks", "dev.yaml"), "utf8"));
  addPortainerAgent(d);
  d.apps.push({ name: "qdrant", compose: "apps/hello/compose.yaml", guests: ["worker"], deploy: "portainer" });
  d.apps.push({ name: "page", compose: "apps/hello/compose.yaml", guests: ["portainer", "worker"] });
  const shaped = checkShape(d);
  expect(shaped.problems).toEqual([]);
  return buildPlan(validated(shaped.definition!));
}

const P = "urn:pulumi:dev::phoenix-hypervisor::phoenix:index:PhoenixHypervisor";
const state = [
  { urn: `${P}::dev` },
  { urn: `${P}$phoenix:index:LxcContainer::portainer`, parent: `${P}::dev` },
  {
    urn: `${P}$phoenix:index:LxcContainer$proxmoxve:CT/container:Container::portainer`,
    parent: `${P}$phoenix:index:LxcContainer::portainer`,
  },
  {
    urn: `${P}$phoenix:index:LxcContainer$phoenix:index:GuestProvisioning::portainer-provision`,
    parent: `${P}$phoenix:index:LxcContainer::portainer`,
  },
  {
    urn: `${P}$phoenix:index:LxcContainer$phoenix:index:GuestProvisioning$pulumi-nodejs:dynamic:Resource::portainer-docker`,
    parent: `${P}$phoenix:index:LxcContainer$phoenix:index:GuestProvisioning::portainer-provision`,
  },
  { urn: `${P}$phoenix:index:LxcContainer::data`, parent: `${P}::dev` },
  { urn: `${P}$phoenix:index:AppDeployment::hello-on-portainer`, parent: `${P}::dev` },
  {
    urn: `${P}$phoenix:index:AppDeployment$pulumi-nodejs:dynamic:Resource::hello-on-portainer-compose`,
    parent: `${P}$phoenix:index:AppDeployment::hello-on-portainer`,
  },
  { urn: `${P}$phoenix:index:AppDeployment::qdrant-on-worker`, parent: `${P}::dev` },
  { urn: `${P}$phoenix:index:LxcContainer::my-portainer`, parent: `${P}::dev` },
];

describe("what a guest's restore or rollback refreshes", () => {
  const plan = devWithAgent();

  it("the Portainer server: itself, the app on it, and the app deployed through it on another guest", () => {
    expect(affectedBy(plan, machineOf(plan, "portainer"))).toEqual([
      { type: "LxcContainer", name: "portainer" },
      { type: "AppDeployment", name: "hello-on-portainer" },
      { type: "AppDeployment", name: "qdrant-on-worker" },
      { type: "AppDeployment", name: "page-on-portainer" },
    ]);
  });

  it("an agent or a plain guest: itself and the apps on it, not apps on other guests", () => {
    expect(affectedBy(plan, machineOf(plan, "worker"))).toEqual([
      { type: "LxcContainer", name: "worker" },
      { type: "AppDeployment", name: "qdrant-on-worker" },
      { type: "AppDeployment", name: "page-on-worker" },
    ]);
    expect(affectedBy(plan, machineOf(plan, "data"))).toEqual([{ type: "LxcContainer", name: "data" }]);
  });

  it("finds those components in the state with everything under them, by exact type and name", () => {
    const urns = underComponents(state, affectedBy(plan, machineOf(plan, "portainer")));
    expect(urns.map((u) => u.split("::").pop()).sort()).toEqual([
      "hello-on-portainer",
      "hello-on-portainer-compose",
      "portainer",
      "portainer",
      "portainer-docker",
      "portainer-provision",
      "qdrant-on-worker",
    ]);
    expect(urns.some((u) => u.endsWith("::my-portainer") || u.endsWith("::data"))).toBe(false);
  });

  it("nothing when the state holds none of them", () => {
    expect(underComponents(state, [{ type: "QemuVm", name: "portainer" }])).toEqual([]);
  });
});
