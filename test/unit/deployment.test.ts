// Saying it before it happens and protection (plan/deployment.ts): what an up replaces or deletes between two
// deployment records, why, where the data lives, and what protection refuses. Pure; property tests over the dev stack.
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildPlan, type Plan } from "../../plan/plan";
import {
  type Deployment,
  changesBetween,
  deploymentOf,
  describeChange,
  destroyRefusal,
  protectionRefusals,
  replacementCauses,
} from "../../plan/deployment";
import { loadDefinition } from "../../validate";

const DEV = buildPlan(loadDefinition(join(__dirname, "..", "..", "stacks", "dev.yaml")).definition!);
const plan = (): Plan => structuredClone(DEV);
const BUILDS = new Map([["docker-golden", "b1"]]);
const names = ["docker-golden", "portainer", "data"];
const clone = <T>(x: T): T => structuredClone(x);

describe("changesBetween", () => {
  it("finds nothing between a record and itself, whatever is protected", () => {
    fc.assert(
      fc.property(fc.subarray(names), (protectedNames) => {
        const p = plan();
        for (const m of p.machines) m.protect = protectedNames.includes(m.name);
        const d = deploymentOf(p, BUILDS);
        expect(changesBetween(d, clone(d))).toEqual([]);
        expect(protectionRefusals(changesBetween(d, d))).toEqual([]);
      }),
    );
  });

  it("a field the provider cannot change in place replaces exactly that guest, naming the field; protection refuses it", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.constantFrom("unprivileged", "node", "vmid", "diskStorage"),
        fc.boolean(),
        (name, field, prot) => {
          const p = plan();
          const prev = deploymentOf(p, BUILDS);
          const m = p.machines.find((x) => x.name === name)!;
          m.protect = prot;
          if (field === "unprivileged") m.unprivileged = !m.unprivileged;
          if (field === "node") m.node = "pve2";
          if (field === "vmid") m.vmid += 1000;
          if (field === "diskStorage") m.disk = { storage: "other", size: m.disk?.size ?? 4 };
          const changes = changesBetween(prev, deploymentOf(p, BUILDS));
          expect(changes).toHaveLength(1);
          const c = changes[0]!;
          expect(c.op).toBe("replace");
          if (c.op !== "replace") return;
          expect(c.guest.name).toBe(name);
          expect(c.because.map((b) => b.field)).toEqual([field]);
          const refused = protectionRefusals(changes);
          expect(refused).toHaveLength(prot ? 1 : 0);
          if (prot) {
            expect(refused[0]).toContain(`'${name}'`);
            expect(refused[0]).toContain(`set protect: false on ${m.path}`);
          }
        },
      ),
    );
  });

  it("a golden template's new build replaces it and its clones, and says why", () => {
    const p = plan();
    const changes = changesBetween(deploymentOf(p, BUILDS), deploymentOf(p, new Map([["docker-golden", "b2"]])));
    expect(changes.map((c) => (c.op === "replace" ? [c.guest.name, c.because.map((b) => b.field)] : c.op))).toEqual([
      ["docker-golden", ["build"]],
      ["portainer", ["build"]],
    ]);
    expect(describeChange(changes[1]!)).toBe(
      "guest 'portainer' (CT 200 on lab) will be REPLACED: its golden template is rebuilt (its features, scripts or settings changed). " +
        "Its data lives only in its rootfs, which goes with it; a backup is taken first (backupBeforeReplace).",
    );
  });

  it("a guest gone from the definition is deleted; protected, the delete is refused; a dataset's likewise", () => {
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.boolean(), (name, prot) => {
        const p = plan();
        p.machines.find((m) => m.name === name)!.protect = prot;
        const prev = deploymentOf(p, BUILDS);
        p.machines = p.machines.filter((m) => m.name !== name);
        const changes = changesBetween(prev, deploymentOf(p, BUILDS));
        expect(changes.map((c) => (c.op === "delete" ? c.guest.name : c.op))).toEqual([name]);
        expect(protectionRefusals(changes).length).toBe(prot ? 1 : 0);
      }),
    );
    const p = plan();
    const prev = deploymentOf(p, BUILDS);
    p.nodes[0]!.datasets = p.nodes[0]!.datasets.filter((d) => d.name !== "tank/lxc-disks");
    const refused = protectionRefusals(changesBetween(prev, deploymentOf(p, BUILDS)));
    expect(refused).toEqual([expect.stringMatching(/^dataset 'tank\/lxc-disks' on lab is protected: this up would destroy it/)]);
  });

  it("says where the data lives: only in the rootfs, or on the datasets its mount points use", () => {
    const p = plan();
    const prev = deploymentOf(p, BUILDS);
    for (const m of p.machines) m.unprivileged = !m.unprivileged;
    const text = changesBetween(prev, deploymentOf(p, BUILDS)).map(describeChange).join("\n");
    expect(text).toContain(
      "guest 'data' (CT 210 on lab) will be REPLACED: unprivileged changes from true to false. Its rootfs goes with it; its data on dataset tank/shared-data stays",
    );
    expect(text).toContain(
      "guest 'portainer' (CT 200 on lab) will be REPLACED: unprivileged changes from true to false. Its data lives only in its rootfs",
    );
  });

  it("a larger disk grows in place; a smaller one is a replacement; a new mount point replaces a container", () => {
    const p = plan();
    const prev = deploymentOf(p, BUILDS);
    const data = p.machines.find((m) => m.name === "data")!;
    data.disk = { storage: data.disk!.storage, size: 8 };
    expect(changesBetween(prev, deploymentOf(p, BUILDS))).toEqual([]);
    data.disk = { storage: data.disk.storage, size: 1 };
    data.mountPoints = [];
    const [c] = changesBetween(prev, deploymentOf(p, BUILDS));
    expect(c?.op === "replace" && c.because.map((b) => b.field)).toEqual(["diskSize", "mounts"]);
  });

  it("an older stack without a record, or an empty one, says nothing", () => {
    expect(changesBetween(undefined, deploymentOf(plan(), BUILDS))).toEqual([]);
    expect(changesBetween({ version: 1, guests: {}, datasets: {} } as Deployment, deploymentOf(plan(), BUILDS))).toEqual([]);
  });
});

describe("destroyRefusal", () => {
  it("is empty exactly when nothing is protected, and names every protected guest and dataset with the way out", () => {
    fc.assert(
      fc.property(fc.subarray(names), fc.boolean(), (protectedNames, datasetProtected) => {
        const p = plan();
        for (const m of p.machines) m.protect = protectedNames.includes(m.name);
        for (const d of p.nodes[0]!.datasets) d.protect = datasetProtected;
        const refusal = destroyRefusal(deploymentOf(p, BUILDS));
        expect(refusal === "").toBe(protectedNames.length === 0 && !datasetProtected);
        for (const n of protectedNames) {
          const m = p.machines.find((x) => x.name === n)!;
          expect(refusal).toContain(
            `'${n}' (CT ${m.vmid} on lab) is protected: destroy would delete it. To delete it set protect: false on ${m.path}`,
          );
        }
        if (refusal) expect(refusal.startsWith("pulumi destroy refused; nothing was deleted.")).toBe(true);
      }),
    );
  });
});

describe("replacementCauses", () => {
  it("never reports a build change when the source changes too (the source says it)", () => {
    const d = deploymentOf(plan(), BUILDS).guests["portainer"]!;
    expect(replacementCauses(d, { ...d, source: "adopted", build: null }).map((c) => c.field)).toEqual(["source"]);
  });
});
