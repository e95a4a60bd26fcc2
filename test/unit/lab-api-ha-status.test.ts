// HA requests and status in the lab's two-node cluster, as pve-ha-manager's API answers them: migrate and relocate of
// an HA resource (its checks, its answer, then the lab carrying it out as the LRM would), the HA groups a PVE 9 cluster
// refuses once migrated to rules, and /cluster/ha/status derived from resources.cfg and where the guests are.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabClient } from "../../lab/pve/client";
import { MemoryBackend, type MemoryBackendOptions } from "../../lab/pve/memory-backend";
import { type LabApi, startLabApi } from "../../lab/api/server";
import { HaStack } from "../../lab/api/ha-stack";
import { haView, verboseState } from "../../lab/api/ha-status";
import type { ApiContext } from "../../lab/api/context";
import { TaskManager } from "../../lab/pve/tasks";
import { SECRET, TEMPLATE, TOKEN_ID, type TwoNodeLab, guestWatch, startTwoNodeLab } from "../support/lab-cluster-api";

const TIME = /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/;

let lab: TwoNodeLab;
let dir: string;
let api: LabApi;
let pve: LabClient;
let one: MemoryBackend;
let two: MemoryBackend;

const backend = (pool: string, guests: MemoryBackendOptions["guests"] = []) =>
  new MemoryBackend({
    storages: [
      { id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl", "iso", "backup"] },
      { id: "tank-lxc", type: "zfspool", pool: `${pool}/lxc-disks`, content: ["rootdir", "images"] },
    ],
    files: [{ volid: TEMPLATE, size: 120_000_000 }],
    guests,
  });

const createCt = async (client: LabClient, node: string, vmid: number, start: boolean) => {
  const upid = await client.data<string>("POST", `nodes/${node}/lxc`, {
    vmid,
    ostemplate: TEMPLATE,
    hostname: `ct${vmid}`,
    rootfs: "tank-lxc:3",
    start: start ? 1 : 0,
  });
  expect((await client.waitTask(upid)).exitstatus).toBe("OK");
};

beforeAll(async () => {
  one = backend("tank1", [
    { type: "qemu", vmid: 300, config: { name: "vm300", memory: "1024", virtio0: "tank-lxc:vm-300-disk-0,size=4G" } },
  ]);
  two = backend("tank2");
  lab = await startTwoNodeLab("phoenix-lab-ha-status-", one, two);
  ({ dir, api, pve } = lab);
  await createCt(pve, "pve1", 200, true);
  await createCt(pve, "pve2", 201, false);
  await createCt(pve, "pve1", 202, false);
});

afterAll(async () => {
  await lab?.close();
});

const { where, until } = guestWatch(() => pve);

/** The ended task of this type for the guest on a node, once it has run (5 s). */
async function ended(node: string, type: string, vmid: number, after = 0): Promise<{ exitstatus?: string; log: string[] }> {
  for (let i = 0; i < 100; i++) {
    const t = api.nodeTasks
      .get(node)!
      .list()
      .filter((x) => x.type === type && x.id === String(vmid))[after];
    if (t && t.status === "stopped") return { exitstatus: t.exitstatus, log: t.log };
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`no ${type} task for ${vmid} ended on ${node}`);
}

type Entry = Record<string, unknown> & { id: string };
const current = () => pve.data<Entry[]>("GET", "cluster/ha/status/current");
const entry = async (id: string) => (await current()).find((e) => e.id === id);

describe("HA status", () => {
  it("lists its children, and a quorate cluster with its master and one idle LRM per node before any resource", async () => {
    expect(await pve.data("GET", "cluster/ha/status")).toEqual([{ name: "current" }, { name: "manager_status" }]);
    const status = await current();
    expect(status.map((e) => e.id)).toEqual(["quorum", "master", "lrm:pve1", "lrm:pve2"]);
    expect(status[0]).toEqual({ id: "quorum", type: "quorum", node: "pve1", status: "OK", quorate: 1 });
    expect(status[1]).toMatchObject({ type: "master", node: "pve1", timestamp: expect.any(Number) });
    const [, master, lrm1, lrm2] = status.map((e) => /^(\S+) \((\w+), (.*)\)$/.exec(e.status as string));
    expect([master?.[1], master?.[2], lrm1?.[1], lrm1?.[2], lrm2?.[1], lrm2?.[2]]).toEqual([
      "pve1",
      "idle",
      "pve1",
      "idle",
      "pve2",
      "idle",
    ]);
    expect(master?.[3]).toMatch(TIME);
    expect(Math.abs((status[2]!.timestamp as number) - Date.now() / 1000)).toBeLessThan(5);
  });

  it("shows one service per resource with its node, the CRM's state and Proxmox's defaults; an LRM active where one runs", async () => {
    await pve.data("POST", "cluster/ha/resources", { sid: "ct:200", comment: "web" });
    await pve.data("POST", "cluster/ha/resources", { sid: "ct:201", state: "stopped", max_restart: 3 });
    await pve.data("POST", "cluster/ha/resources", { sid: "202", state: "ignored" });
    const status = await current();
    expect(status.map((e) => e.id)).toEqual([
      "quorum",
      "master",
      "lrm:pve1",
      "lrm:pve2",
      "service:ct:200",
      "service:ct:201",
      "service:ct:202",
    ]);
    expect(status[1]!.status).toMatch(/^pve1 \(active, /);
    expect(status[2]!.status).toMatch(/^pve1 \(active, /);
    expect(status[3]!.status).toMatch(/^pve2 \(idle, /);
    expect(status.slice(4)).toEqual([
      {
        id: "service:ct:200",
        type: "service",
        sid: "ct:200",
        node: "pve1",
        crm_state: "started",
        state: "started",
        status: "ct:200 (pve1, started)",
        request_state: "started",
        failback: 1,
        max_restart: 1,
        max_relocate: 1,
        comment: "web",
      },
      {
        id: "service:ct:201",
        type: "service",
        sid: "ct:201",
        node: "pve2",
        crm_state: "stopped",
        state: "stopped",
        status: "ct:201 (pve2, stopped)",
        request_state: "stopped",
        failback: 1,
        max_restart: 3,
        max_relocate: 1,
      },
      // the CRM keeps no state for an ignored resource: no crm_state
      {
        id: "service:ct:202",
        type: "service",
        sid: "ct:202",
        node: "pve1",
        state: "ignored",
        status: "ct:202 (pve1, ignored)",
        request_state: "ignored",
        failback: 1,
        max_restart: 1,
        max_relocate: 1,
      },
    ]);
  });

  it("gives the manager status: master, nodes online, the services the CRM keeps, quorum and each LRM's status", async () => {
    const ms = await pve.data<Record<string, Record<string, unknown>>>("GET", "cluster/ha/status/manager_status");
    expect(Object.keys(ms).sort()).toEqual(["lrm_status", "manager_status", "quorum"]);
    expect(ms.quorum).toEqual({ node: "pve1", quorate: 1 });
    expect(ms.manager_status).toMatchObject({ master_node: "pve1", node_status: { pve1: "online", pve2: "online" } });
    const services = ms.manager_status!.service_status as Record<string, Record<string, unknown>>;
    expect(Object.keys(services).sort()).toEqual(["ct:200", "ct:201"]);
    expect(services["ct:200"]).toMatchObject({ node: "pve1", state: "started", running: 1, uid: expect.any(String) });
    expect(services["ct:201"]).toMatchObject({ node: "pve2", state: "stopped" });
    expect(ms.lrm_status).toEqual({
      pve1: { mode: "active", results: {}, state: "active", timestamp: expect.any(Number) },
      pve2: { mode: "active", results: {}, state: "wait_for_agent_lock", timestamp: expect.any(Number) },
    });
  });

  it("shows a request being carried out as the service's migrate state, with its target", async () => {
    const ha = new HaStack(join(dir, "view-ha"));
    ha.resources.write([{ type: "ct", name: "200", options: {} }]);
    ha.motions.set("ct:200", { cmd: "migrate", node: "pve1", target: "pve2" });
    const lone: ApiContext = {
      node: "pve1",
      backend: one,
      tasks: new TaskManager("pve1"),
      locks: new Map(),
      macPrefix: "BC:24:11",
      version: { version: "9.0.3", release: "9.0", repoid: "x" },
    };
    const view = await haView(lone, ha);
    expect(view.services["ct:200"]).toMatchObject({ node: "pve1", state: "migrate", target: "pve2" });
    expect(verboseState(view.config["ct:200"]!, view.services["ct:200"])).toBe("migrate");
  });
});

describe("HA migrate and relocate requests", () => {
  it("refuses a resource HA does not manage, or a sid it cannot parse, with Proxmox's words", async () => {
    const refusal = async (sid: string) =>
      (await pve.call("POST", `cluster/ha/resources/${sid}/migrate`, { node: "pve2" })).statusText;
    expect(await refusal("ct:202")).toBe("resource 'ct:202' is not HA managed"); // ignored
    expect(await refusal("ct:999")).toBe("resource 'ct:999' is not HA managed");
    expect(await refusal("999")).toBe("unable to detect SID from VMID - VM/CT 999 does not exist");
    expect(await refusal("nonsense")).toBe("unable to parse service id 'nonsense'");
    const noNode = await pve.call("POST", "cluster/ha/resources/ct:200/relocate");
    expect(noNode.status).toBe(400);
    expect(Object.keys(noNode.body.errors ?? {})).toEqual(["node"]);
    expect((await where(202))?.node).toBe("pve1");
  });

  it("migrates a running HA container to the target in restart mode, with its config and volume", async () => {
    const before = await pve.data<Record<string, unknown>>("GET", "nodes/pve1/lxc/200/config");
    expect(await pve.data("POST", "cluster/ha/resources/ct:200/migrate", { node: "pve2" })).toEqual({
      sid: "ct:200",
      "requested-node": "pve2",
    });
    const arrived = await until(200, (r) => r?.node === "pve2" && r.status === "running" && !r.lock);
    expect(arrived).toMatchObject({ node: "pve2", status: "running" });
    const after = await pve.data<Record<string, unknown>>("GET", "nodes/pve2/lxc/200/config");
    expect({ ...after, digest: "" }).toEqual({ ...before, digest: "" });
    expect(two.allVolumes().find((v) => v.volid === "tank-lxc:subvol-200-disk-0")?.size).toBe(3 * 1024 ** 3);
    expect(one.allVolumes().some((v) => v.volid === "tank-lxc:subvol-200-disk-0")).toBe(false);
    // the LRM's migration: a vzmigrate task of root@pam's on the source node, the container shut down first
    const task = await ended("pve1", "vzmigrate", 200);
    expect(task.exitstatus).toBe("OK");
    expect(task.log.some((l) => l.endsWith("shutdown CT 200"))).toBe(true);
    expect(await entry("service:ct:200")).toMatchObject({ node: "pve2", crm_state: "started", state: "started" });
    expect((await entry("lrm:pve2"))?.status).toMatch(/^pve2 \(active, /);
    expect((await entry("lrm:pve1"))?.status).toMatch(/^pve1 \(idle, /);
  });

  it("relocates it back (a bare vmid names the resource): stopped, moved offline, started on the target", async () => {
    expect(await pve.data("POST", "cluster/ha/resources/200/relocate", { node: "pve1" })).toEqual({
      sid: "ct:200",
      "requested-node": "pve1",
    });
    const back = await until(200, (r) => r?.node === "pve1" && r.status === "running" && !r.lock);
    expect(back).toMatchObject({ node: "pve1", status: "running" });
    expect(one.allVolumes().some((v) => v.volid === "tank-lxc:subvol-200-disk-0")).toBe(true);
    expect((await ended("pve2", "vzmigrate", 200)).exitstatus).toBe("OK");
  });

  it("migrates a stopped resource offline: it arrives stopped", async () => {
    await pve.data("POST", "cluster/ha/resources/ct:201/migrate", { node: "pve1" });
    const moved = await until(201, (r) => r?.node === "pve1" && !r.lock);
    expect(moved).toMatchObject({ node: "pve1", status: "stopped" });
    expect(await entry("service:ct:201")).toMatchObject({ node: "pve1", crm_state: "stopped", state: "stopped" });
  });

  it("a running VM: migrate wants it live, which the lab refuses (it stays); relocate shuts it down, moves and starts it", async () => {
    expect((await pve.waitTask(await pve.data<string>("POST", "nodes/pve1/qemu/300/status/start"))).exitstatus).toBe("OK");
    await pve.data("POST", "cluster/ha/resources", { sid: "vm:300" });
    await pve.data("POST", "cluster/ha/resources/vm:300/migrate", { node: "pve2" });
    const live = await ended("pve1", "qmigrate", 300);
    expect(live.exitstatus).toBe("migration aborted");
    expect(live.log.join("\n")).toContain("the lab cannot live-migrate a VM");
    expect(await until(300, (r) => !r?.lock)).toMatchObject({ node: "pve1", status: "running" });

    await pve.data("POST", "cluster/ha/resources/vm:300/relocate", { node: "pve2" });
    const moved = await until(300, (r) => r?.node === "pve2" && r.status === "running" && !r.lock);
    expect(moved).toMatchObject({ node: "pve2", status: "running" });
    expect(two.allVolumes().find((v) => v.volid === "tank-lxc:vm-300-disk-0")?.size).toBe(4 * 1024 ** 3);
    const relocated = await ended("pve1", "qmigrate", 300, 1);
    expect(relocated.exitstatus).toBe("OK");
    expect(relocated.log.some((l) => l.endsWith("shutdown VM 300"))).toBe(true);
    expect(relocated.log.some((l) => l.endsWith("start VM on target node"))).toBe(true);
  });
});

describe("HA groups", () => {
  it("refuses every groups call on PVE 9 as Proxmox does once groups are migrated to rules", async () => {
    const calls: [string, string, Record<string, string>, string][] = [
      ["GET", "cluster/ha/groups", {}, "cannot index groups"],
      ["POST", "cluster/ha/groups", { group: "g1", nodes: "pve1:2,pve2" }, "cannot create group"],
      ["GET", "cluster/ha/groups/g1", {}, "cannot read group"],
      ["PUT", "cluster/ha/groups/g1", { comment: "x" }, "cannot update group"],
      ["DELETE", "cluster/ha/groups/g1", {}, "cannot delete group"],
    ];
    for (const [method, path, params, what] of calls) {
      const r = await pve.call(method, path, params);
      expect([method, path, r.status, r.body.message]).toEqual([
        method,
        path,
        500,
        `${what}: ha groups have been migrated to rules\n`,
      ]);
    }
    // a resource naming a group: PVE 9 refuses the parameter itself, on create and on update alike
    for (const [method, path] of [
      ["POST", "cluster/ha/resources"],
      ["PUT", "cluster/ha/resources/ct:100"],
    ] as const) {
      const r = await pve.call(method, path, { sid: "ct:100", group: "g1" });
      expect([method, r.status, r.body.message]).toEqual([
        method,
        500,
        "invalid parameter 'group': ha groups have been migrated to rules\n",
      ]);
    }
  });
});

describe("an 8.x lab", () => {
  let old: LabApi;
  let client: LabClient;
  const oldDir = mkdtempSync(join(tmpdir(), "phoenix-lab-ha-8-"));

  beforeAll(async () => {
    old = await startLabApi({
      stateDir: oldDir,
      port: 0,
      node: "pve",
      tokens: [{ id: TOKEN_ID, secret: SECRET }],
      backend: backend("tank"),
      unauthorizedDelayMs: 0,
      version: { version: "8.4.1", release: "8.4", repoid: "2a5fa54a8503f96d" },
    });
    client = new LabClient({ url: old.url, token: `${TOKEN_ID}=${SECRET}` });
    await createCt(client, "pve", 100, true);
  });

  afterAll(async () => {
    await old?.close();
    rmSync(oldDir, { recursive: true, force: true });
  });

  it("answers HA groups as a route it does not serve, since it keeps no groups", async () => {
    const r = await client.call("GET", "cluster/ha/groups");
    expect([r.status, r.statusText]).toEqual([501, "Method 'GET /cluster/ha/groups' not implemented"]);
    // PVE 8 looks the group up, and the lab has none
    const named = await client.call("POST", "cluster/ha/resources", { sid: "ct:100", group: "g1" });
    expect([named.status, named.body.message]).toEqual([500, "HA group 'g1' does not exist\n"]);
  });

  it("answers a migrate request with nothing, as PVE 8 does, and shows services without failback", async () => {
    await client.data("POST", "cluster/ha/resources", { sid: "ct:100" });
    // the guest's own node: the CRM ignores the request, the guest stays
    expect(await client.call("POST", "cluster/ha/resources/ct:100/migrate", { node: "pve" })).toMatchObject({
      status: 200,
      body: { data: null },
    });
    const status = await client.data<Entry[]>("GET", "cluster/ha/status/current");
    expect(status.map((e) => e.id)).toEqual(["quorum", "master", "lrm:pve", "service:ct:100"]);
    expect(status[3]).toEqual({
      id: "service:ct:100",
      type: "service",
      sid: "ct:100",
      node: "pve",
      crm_state: "started",
      state: "started",
      status: "ct:100 (pve, started)",
      request_state: "started",
      max_restart: 1,
      max_relocate: 1,
    });
  });
});
