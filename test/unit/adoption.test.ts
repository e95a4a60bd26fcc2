// Adopting a running host (plan/adopt-match.ts, plan/adoption.ts, definition/adoption.ts): what runs matched to the
// definition, the record that follows, what the program does with it. Pure; property tests over the dev stack.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EMPTY_ADOPTION, adoptionText, readAdoption, writeAdoption } from "../../definition/adoption";
import { type LiveGuest, gibOf, matchLive, observedOf } from "../../plan/adopt-match";
import { CREATE_TIME_FIELDS, adoptionOf, keepPaths } from "../../plan/adoption";
import { deploymentOf } from "../../plan/deployment";
import { buildPlan, type Plan } from "../../plan/plan";
import { loadDefinition } from "../../validate";

const DEV = buildPlan(loadDefinition(join(__dirname, "..", "..", "stacks", "dev.yaml")).definition!);
const plan = (): Plan => structuredClone(DEV);

/** The dev stack's machines as the original's scripts would have left them running. */
function liveOf(p: Plan, over: Partial<Record<number, Record<string, unknown>>> = {}): LiveGuest[] {
  return p.machines.map((m) => ({
    vmid: m.vmid,
    node: m.node,
    type: m.type,
    name: m.name,
    template: m.kind === "template",
    config: {
      hostname: m.name,
      unprivileged: m.unprivileged ? 1 : 0,
      rootfs: `${m.disk?.storage ?? "local"}:subvol-${m.vmid}-disk-0,size=${m.disk?.size ?? 4}G`,
      ...Object.fromEntries(m.mountPoints.map((mp, i) => [`mp${i}`, `${mp.source},mp=${mp.path}`])),
      ...(m.kind === "template" ? { template: 1 } : {}),
      ...over[m.vmid],
    },
  }));
}
const unmanaged = (vmid: number): LiveGuest => ({
  vmid,
  node: "lab",
  type: "lxc",
  name: `other-${vmid}`,
  template: false,
  config: {},
});

describe("observedOf", () => {
  it("reads privilege mode, root disk storage and size, and mount points from a container's config", () => {
    const g = liveOf(plan(), { 210: { unprivileged: 0, rootfs: "tank-lxc:subvol-210-disk-0,size=3G" } }).find(
      (x) => x.vmid === 210,
    )!;
    expect(observedOf(g)).toEqual({
      unprivileged: false,
      diskStorage: "tank-lxc",
      diskSize: 3,
      mounts: ["/tank/shared-data -> /data"],
    });
  });

  it("reads a VM's first disk (not its cloud-init drive or CD-ROM)", () => {
    const vm: LiveGuest = {
      vmid: 300,
      node: "lab",
      type: "vm",
      name: "vm",
      template: false,
      config: {
        ide2: "local:cloudinit,media=cdrom",
        scsi0: "fast:vm-300-disk-0,size=32G",
        virtio1: "fast:vm-300-disk-1,size=512M",
      },
    };
    expect(observedOf(vm)).toEqual({ diskStorage: "fast", diskSize: 32 });
    expect(gibOf("512M")).toBe(0.5);
    expect(gibOf("1T")).toBe(1024);
  });
});

describe("matchLive", () => {
  it("adopts what runs and is not in the stack, leaves unmanaged guests alone, and is idempotent", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 100, max: 999 }), { maxLength: 5 }),
        fc.subarray(["docker-golden", "portainer", "data"]),
        fc.subarray(["docker-golden", "portainer", "data"]),
        (extra, running, held) => {
          const p = plan();
          const planned = new Set(p.machines.map((m) => m.vmid));
          const live = [
            ...liveOf(p).filter((g) => running.includes(g.name)),
            ...extra.filter((v) => !planned.has(v)).map(unmanaged),
          ];
          const first = matchLive(p, [{ node: "lab", guests: live, datasets: [] }], EMPTY_ADOPTION, new Set(held));
          // unmanaged: exactly what runs and the definition does not name
          expect(first.unmanaged.map((g) => g.vmid).sort()).toEqual(extra.filter((v) => !planned.has(v)).sort());
          for (const g of first.guests) {
            const expected = held.includes(g.machine.name) ? "in-stack" : running.includes(g.machine.name) ? "adopt" : "missing";
            expect(g.status).toBe(expected);
          }
          expect(Object.keys(first.record.guests).sort()).toEqual(running.filter((n) => !held.includes(n)).sort());
          // adopting twice (the same node, the record it wrote) writes the same record
          const again = matchLive(p, [{ node: "lab", guests: live, datasets: [] }], first.record, new Set(held));
          expect(adoptionText(again.record)).toBe(adoptionText(first.record));
          // once the stack holds them (after the up), adopting keeps their entries and adds none
          const after = matchLive(p, [{ node: "lab", guests: live, datasets: [] }], first.record, new Set([...held, ...running]));
          expect(adoptionText(after.record)).toBe(adoptionText(first.record));
        },
      ),
    );
  });

  it("keeps, as it runs, what Proxmox cannot change in place, and says why", () => {
    const p = plan();
    const live = liveOf(p, { 210: { unprivileged: 0, rootfs: "other:subvol-210-disk-0,size=8G", mp0: undefined } });
    const m = matchLive(p, [{ node: "lab", guests: live }], EMPTY_ADOPTION, new Set());
    const data = m.guests.find((g) => g.machine.name === "data")!;
    expect(data.status === "adopt" && data.keep.map((k) => k.path)).toEqual([
      "unprivileged",
      "disk.datastoreId",
      "disk.size",
      "mountPoints",
    ]);
    expect(m.record.guests.data!.keep).toEqual(["unprivileged", "disk.datastoreId", "disk.size", "mountPoints"]);
    expect(m.datasets.every((d) => d.status === "unknown")).toBe(true);
  });

  it("refuses a vmid that runs as another kind of machine, and marks rebuilds", () => {
    const p = plan();
    const live = liveOf(p, {}).map((g) => (g.vmid === 200 ? { ...g, type: "vm" as const } : g));
    const m = matchLive(p, [{ node: "lab", guests: live }], EMPTY_ADOPTION, new Set(), [], new Set(["data"]));
    expect(m.guests.find((g) => g.machine.vmid === 200)).toMatchObject({
      status: "conflict",
      why: expect.stringContaining("is a VM"),
    });
    expect(m.record.guests.portainer).toBeUndefined();
    expect(m.record.guests.data!.rebuild).toBe(true);
  });
});

describe("adoptionOf", () => {
  const record = () => matchLive(plan(), [{ node: "lab", guests: liveOf(plan()) }], EMPTY_ADOPTION, new Set()).record;

  it("imports each adopted guest until the stack holds it, ignoring its create-time origin and what it keeps", () => {
    const r = record();
    r.guests.data!.keep = ["disk.size"];
    const before = adoptionOf(r, plan(), new Set());
    expect(before.guests.get("portainer")).toEqual({
      importId: "lab/200",
      ignoreChanges: CREATE_TIME_FIELDS.lxc,
      observed: r.guests.portainer!.observed,
      checkFirst: true,
    });
    expect(before.guests.get("data")!.ignoreChanges).toEqual([...CREATE_TIME_FIELDS.lxc, "disk.size"]);
    const after = adoptionOf(r, plan(), new Set(["portainer", "data", "docker-golden"]));
    expect(after.guests.get("portainer")!.importId).toBeUndefined();
    expect(after.guests.get("portainer")!.ignoreChanges).toEqual(CREATE_TIME_FIELDS.lxc);
  });

  it("a rebuild takes effect once the stack holds the guest; an entry that no longer matches is set aside with a note", () => {
    const r = record();
    r.guests.portainer!.rebuild = true;
    r.guests.data!.vmid = 211;
    const pending = adoptionOf(r, plan(), new Set());
    expect(pending.guests.has("portainer")).toBe(true);
    expect(pending.notes).toContain("'portainer' is rebuilt by the up after this one: this up imports it as it runs first");
    expect(pending.guests.has("data")).toBe(false);
    expect(pending.notes.some((n) => n.includes("'data' was adopted as lxc 211 on lab"))).toBe(true);
    expect(adoptionOf(r, plan(), new Set(["portainer"])).guests.has("portainer")).toBe(false);
  });

  it("an adopted guest's deployment record keeps its origin and the observed values it keeps, nothing else", () => {
    const p = plan();
    const r = record();
    r.guests.data!.observed = { unprivileged: false, diskStorage: "tank-lxc", diskSize: 3, mounts: [] };
    r.guests.data!.keep = keepPaths(
      p.machines.find((m) => m.name === "data")!,
      r.guests.data!.observed,
    );
    expect(r.guests.data!.keep).toEqual(["unprivileged", "disk.size", "mountPoints"]);
    const d = deploymentOf(p, new Map(), adoptionOf(r, p, new Set()).guests).guests.data!;
    expect(d).toMatchObject({
      source: "adopted",
      build: null,
      unprivileged: false,
      diskStorage: "tank-lxc",
      diskSize: 3,
      mounts: [],
    });
  });
});

describe("the record file", () => {
  it("reads what it wrote, writes only on change, and names the field of a bad one", () => {
    const dir = mkdtempSync(join(tmpdir(), "phx-adopt-"));
    try {
      const file = join(dir, "dev.yaml");
      expect(readAdoption(file)).toEqual({ record: EMPTY_ADOPTION, problems: [] });
      const r = record0();
      expect(writeAdoption(file, r)).toBe(true);
      expect(writeAdoption(file, r)).toBe(false);
      expect(adoptionText(readAdoption(file).record)).toBe(adoptionText(r));
      writeFileSync(join(dir, "dev.adopted.json"), JSON.stringify({ version: 1, guests: { x: { vmid: "200" } } }));
      const bad = readAdoption(file);
      expect(bad.problems.map((p) => p.path)).toContain("dev.adopted.json:guests.x.vmid");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function record0() {
  return matchLive(plan(), [{ node: "lab", guests: liveOf(plan()) }], EMPTY_ADOPTION, new Set()).record;
}
