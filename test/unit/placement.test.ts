// Placement by example: stacks/cluster.yaml validates and plans with each guest where it belongs, the lock file keeps
// guests in place, and what fits nowhere (or cannot be kept apart) is reported with its field path and fix.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { loadDefinition } from "../../validate";
import { buildPlan } from "../../plan/plan";
import { placementsOf } from "../../plan/moves";
import { readLockOptions, writeLock } from "../../definition/lock";
import { renderPlan } from "../../plan/render";

const STACK = join(__dirname, "..", "..", "stacks", "cluster.yaml");

/** stacks/cluster.yaml, changed by `edit`, in a directory of its own (where its lock file is written). */
function variant(edit: (d: any) => void = () => {}): string {
  const dir = mkdtempSync(join(tmpdir(), "phx-cluster-"));
  const d = parse(readFileSync(STACK, "utf8"));
  edit(d);
  const file = join(dir, "cluster.yaml");
  writeFileSync(file, stringify(d));
  return file;
}

const nodeOf = (plan: ReturnType<typeof buildPlan>, name: string) => plan.machines.find((m) => m.name === name)?.node;

describe("stacks/cluster.yaml", () => {
  it("validates without a problem and plans each guest on a node, saying why", () => {
    const { definition, problems } = loadDefinition(STACK);
    expect(problems).toEqual([]);
    const plan = buildPlan(definition!);
    expect(Object.fromEntries(plan.placements.map((p) => [p.guest, [p.node, p.how]]))).toEqual({
      db: ["pve2", "pinned"],
      "gpu-worker": ["pve3", "placed"],
      portainer: ["pve1", "placed"],
      "web-1": ["pve1", "placed"],
      "web-2": ["pve2", "placed"],
    });
    // The machines are built on those nodes; the GPU worker got a free GPU and its device nodes.
    expect(nodeOf(plan, "web-2")).toBe("pve2");
    const worker = plan.machines.find((m) => m.name === "gpu-worker")!;
    expect(worker.gpus).toEqual([0]);
    expect(worker.devices.length).toBeGreaterThan(0);
    const portainer = plan.placements.find((p) => p.guest === "portainer")!;
    expect(portainer.reasons.join(" ")).toContain("golden template 'docker-golden' is on 'pve1'");
    expect(plan.placements.find((p) => p.guest === "web-2")!.reasons.join(" ")).toContain("spread 'web': away from web-1");
    expect(renderPlan(plan)).toContain("web-2 → pve2 (placed)");
  });

  it("keeps placed guests where the lock file says when a guest is added before them", () => {
    const file = variant();
    const first = buildPlan(loadDefinition(file).definition!, readLockOptions(file));
    writeLock(file, first.allocations, placementsOf(first));
    const grown = variant((d) =>
      d.guests.push({ vmid: 205, name: "web-0", template: "debian-12-base", spread: "web", cores: 4, memory: 8192 }),
    );
    writeFileSync(grown.replace(/\.yaml$/, ".lock.json"), readFileSync(file.replace(/\.yaml$/, ".lock.json")));
    const loaded = loadDefinition(grown);
    expect(loaded.problems).toEqual([]);
    const second = buildPlan(loaded.definition!, readLockOptions(grown));
    for (const p of first.placements) expect(nodeOf(second, p.guest), p.guest).toBe(p.node);
    expect(
      second.placements
        .filter((p) => p.how === "kept")
        .map((p) => p.guest)
        .sort(),
    ).toEqual(["gpu-worker", "portainer", "web-1", "web-2"]);
    // Without the lock, web-0 (served first) takes pve1 and pushes the others along.
    const fresh = buildPlan(loaded.definition!);
    expect(nodeOf(fresh, "web-0")).toBe("pve1");
    expect(nodeOf(fresh, "web-1")).not.toBe(nodeOf(first, "web-1"));
  });

  it("reports a spread group it cannot keep apart as a warning on the guest's spread", () => {
    const file = variant((d) => {
      d.guests.push({ vmid: 212, name: "web-3", template: "debian-12-base", spread: "web", cores: 4, memory: 8192 });
      d.guests.push({ vmid: 213, name: "web-4", template: "debian-12-base", spread: "web", cores: 4, memory: 8192 });
    });
    const { definition, problems } = loadDefinition(file);
    expect(definition).toBeDefined();
    expect(problems).toEqual([
      expect.objectContaining({
        severity: "warning",
        path: "guests[6].spread",
        message: "'web-4' shares node 'pve1' with 'web-1' of spread group 'web': no other node takes it",
      }),
    ]);
  });

  it("refuses a guest no node takes, naming each node's reason and the fix", () => {
    const file = variant((d) => {
      d.guests[4].gpuCount = 3;
    });
    const { definition, problems } = loadDefinition(file);
    expect(definition).toBeUndefined();
    expect(problems).toEqual([
      expect.objectContaining({
        severity: "error",
        path: "guests[4].node",
        message:
          "no node takes 'gpu-worker': 'pve1': 0 free GPU(s), 3 needed; 'pve2': 32768 MiB of memory do not fit " +
          "(40960 of 65536 MiB taken); 'pve3': 2 free GPU(s), 3 needed",
        fix: expect.stringContaining("set node to one of: pve1, pve2, pve3"),
      }),
    ]);
  });

  it("takes a node's overcommit into account: memory twice the node's lets a guest in", () => {
    const big = (d: any) => {
      d.guests.push({ vmid: 240, name: "cache", template: "debian-12-base", cores: 2, memory: 60000 });
      d.nodes[2].memory = 65536;
    };
    const refused = loadDefinition(variant(big));
    expect(refused.problems.map((p) => p.path)).toEqual(["guests[5].node"]);
    const allowed = loadDefinition(
      variant((d) => {
        big(d);
        d.nodes[2].overcommit = { memory: 2 };
      }),
    );
    expect(allowed.problems).toEqual([]);
    expect(nodeOf(buildPlan(allowed.definition!), "cache")).toBe("pve3");
  });

  it("puts a guest from a base template on node-local storage on the template's node only", () => {
    const { definition, problems } = loadDefinition(
      variant((d) => {
        d.nodes.forEach((n: any) => n.storage.push({ id: "local-tmpl", type: "dir", path: "/srv/tmpl", content: ["vztmpl"] }));
        d.templates.push({ name: "alpine-base", node: "pve2", source: { storage: "local-tmpl", file: "vztmpl/alpine.tar.xz" } });
        d.guests.push({ vmid: 250, name: "small", template: "alpine-base", cores: 1, memory: 256 });
      }),
    );
    expect(problems).toEqual([]);
    const plan = buildPlan(definition!);
    expect(nodeOf(plan, "small")).toBe("pve2");
    expect(plan.placements.find((p) => p.guest === "small")!.reasons[0]).toContain(
      "base template 'alpine-base' is on storage 'local-tmpl' of 'pve2', which is not shared",
    );
  });
});

describe("the demo's one node", () => {
  it("stacks/dev.yaml: every guest is on its only node, as before", () => {
    const { definition, problems } = loadDefinition(join(__dirname, "..", "..", "stacks", "dev.yaml"));
    expect(problems).toEqual([]);
    const plan = buildPlan(definition!);
    expect(plan.placements.map((p) => [p.guest, p.node, p.how])).toEqual([
      ["data", "lab", "pinned"],
      ["portainer", "lab", "pinned"],
    ]);
    expect(plan.placements[0]!.reasons).toEqual(["the definition's only node"]);
  });
});
