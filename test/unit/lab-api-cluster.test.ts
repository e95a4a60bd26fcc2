// The lab as a cluster of two nodes behind one API (in-memory backends over loopback HTTPS): every node's routes
// answer through it, each node keeps its own guests and storages, /cluster/status, /cluster/resources, /nodes and
// /cluster/nextid see them all, containers and VMs migrate between nodes with their vmid, config and volumes
// (offline and restart mode, Proxmox's refusals), HA resources are kept in /etc/pve/ha/resources.cfg and HA rules
// in /etc/pve/ha/rules.cfg with pve-ha-manager's checks.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabClient } from "../../lab/pve/client";
import { MemoryBackend, type MemoryBackendOptions } from "../../lab/pve/memory-backend";
import { TEMPLATE, type TwoNodeLab, startTwoNodeLab } from "../support/lab-cluster-api";

let lab: TwoNodeLab;
let dir: string;
let one: MemoryBackend;
let two: MemoryBackend;
let pve: LabClient;

const storages = (pool: string) => [
  { id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl", "iso", "backup", "snippets", "import"] },
  { id: "tank-lxc", type: "zfspool", pool: `${pool}/lxc-disks`, content: ["rootdir", "images"] },
  { id: "other-lxc", type: "zfspool", pool: `${pool}/other`, content: ["rootdir", "images"] },
];
const node = (pool: string, guests: MemoryBackendOptions["guests"] = []) =>
  new MemoryBackend({ storages: storages(pool), files: [{ volid: TEMPLATE, size: 120_000_000 }], guests });

beforeAll(async () => {
  one = node("tank1", [
    {
      type: "qemu",
      vmid: 300,
      config: {
        name: "vm300",
        memory: "1024",
        virtio0: "tank-lxc:vm-300-disk-0,size=4G",
        net0: "virtio=BC:24:11:00:01:2C,bridge=vmbr0",
      },
    },
  ]);
  two = node("tank2");
  lab = await startTwoNodeLab("phoenix-lab-cluster-", one, two);
  ({ dir, pve } = lab);
});

afterAll(async () => {
  await lab?.close();
});

const create = (nodeName: string, vmid: number, extra: Record<string, string> = {}) =>
  pve.task("POST", `nodes/${nodeName}/lxc`, {
    vmid,
    ostemplate: TEMPLATE,
    hostname: `ct${vmid}`,
    storage: "tank-lxc",
    rootfs: "tank-lxc:2",
    net0: "name=eth0,bridge=vmbr0,ip=dhcp",
    ...extra,
  });
const vmids = async (nodeName: string, type = "lxc") =>
  (await pve.data<{ vmid: number }[]>("GET", `nodes/${nodeName}/${type}`)).map((g) => Number(g.vmid)).sort();
const refusal = async (method: string, path: string, params: Record<string, string | number> = {}) => {
  const r = await pve.call(method, path, params);
  return { status: r.status, text: r.statusText, errors: r.body.errors };
};
/** Runs a task to its end: exit status and log. */
const run = async (method: string, path: string, params: Record<string, string | number> = {}) => {
  const upid = await pve.data<string>(method, path, params);
  const { exitstatus } = await pve.waitTask(upid);
  const log = await pve.taskLog(upid);
  // migration lines carry the local time first, as AbstractMigrate prints them
  expect(log.slice(0, -1).every((l) => !/migrate/.test(path) || /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /.test(l))).toBe(true);
  return { upid, exitstatus, log: log.map((l) => l.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /, "")) };
};

describe("one API for every node", () => {
  it("lists both nodes, and /cluster/status has the cluster and each node with its id, address and `local`", async () => {
    expect((await pve.data<{ node: string }[]>("GET", "nodes")).map((n) => n.node)).toEqual(["pve1", "pve2"]);
    const status = await pve.data<Record<string, unknown>[]>("GET", "cluster/status");
    expect(status[0]).toMatchObject({ id: "cluster", type: "cluster", nodes: 2, quorate: 1 });
    expect(status.slice(1)).toEqual([
      { id: "node/pve1", type: "node", name: "pve1", nodeid: 1, ip: "127.0.0.1", online: 1, local: 1, level: "" },
      { id: "node/pve2", type: "node", name: "pve2", nodeid: 2, ip: "127.0.0.1", online: 1, local: 0, level: "" },
    ]);
  });

  it("creates a guest on the node the request names, and only there", async () => {
    expect(await create("pve2", 100)).toBe("OK");
    expect(await vmids("pve2")).toEqual([100]);
    expect(await vmids("pve1")).toEqual([]);
    expect((await two.listGuests()).map((g) => g.vmid)).toEqual([100]);
    expect(await one.readConfig("lxc", 100)).toBeUndefined();
    expect((await pve.data<{ rootfs: string }>("GET", "nodes/pve2/lxc/100/config")).rootfs).toMatch(
      /^tank-lxc:subvol-100-disk-0,size=2G$/,
    );
    expect((await refusal("GET", "nodes/pve1/lxc/100/config")).text).toBe(
      "Configuration file 'nodes/pve1/lxc/100.conf' does not exist",
    );
  });

  it("keeps vmids unique across the nodes: a create on another node is refused, nextid skips them", async () => {
    expect((await refusal("POST", "nodes/pve1/lxc", { vmid: 100, ostemplate: TEMPLATE, storage: "tank-lxc" })).text).toBe(
      "CT 100 already exists on node 'pve2'",
    );
    expect((await refusal("POST", "nodes/pve1/lxc", { vmid: 300, ostemplate: TEMPLATE, storage: "tank-lxc" })).text).toBe(
      "VM 300 already exists on node 'pve1'",
    );
    expect(await pve.data("GET", "cluster/nextid")).toBe("101");
    expect((await refusal("GET", "cluster/nextid", { vmid: 100 })).errors).toEqual({ vmid: "VM 100 already exists" });
  });

  it("lists every node's guests, storages and nodes in /cluster/resources, filtered by type", async () => {
    const vms = await pve.data<Record<string, unknown>[]>("GET", "cluster/resources", { type: "vm" });
    expect(vms.map((v) => [v.id, v.node, v.vmid, v.status]).sort()).toEqual([
      ["lxc/100", "pve2", 100, "stopped"],
      ["qemu/300", "pve1", 300, "stopped"],
    ]);
    const stores = await pve.data<Record<string, unknown>[]>("GET", "cluster/resources", { type: "storage" });
    expect(stores.map((s) => s.id).sort()).toEqual([
      "storage/pve1/local",
      "storage/pve1/other-lxc",
      "storage/pve1/tank-lxc",
      "storage/pve2/local",
      "storage/pve2/other-lxc",
      "storage/pve2/tank-lxc",
    ]);
    const nodes = await pve.data<Record<string, unknown>[]>("GET", "cluster/resources", { type: "node" });
    expect(nodes.map((n) => n.node)).toEqual(["pve1", "pve2"]);
    const all = await pve.data<{ type: string }[]>("GET", "cluster/resources");
    // guests (pve1's, then pve2's), then storages, then nodes, as Cluster.pm lists them
    expect(all.map((r) => r.type)).toEqual(["qemu", "lxc", ...Array<string>(6).fill("storage"), "node", "node"]);
  });

  it("answers a node it does not have as Proxmox does (500, hostname lookup failed), and each node's tasks at its node", async () => {
    expect(await refusal("GET", "nodes/pve9/lxc")).toEqual({
      status: 500,
      text: "hostname lookup 'pve9' failed - failed to get address info for: pve9: Name or service not known",
      errors: undefined,
    });
    const { upid } = await run("POST", "nodes/pve2/lxc/100/status/start");
    expect(upid).toMatch(/^UPID:pve2:/);
    expect((await refusal("GET", `nodes/pve1/tasks/${encodeURIComponent(upid)}/status`)).text).toBe("no such task");
    await run("POST", "nodes/pve2/lxc/100/status/stop");
  });
});

describe("migration between the nodes", () => {
  it("refuses the local node, an unknown node, a missing guest and an unknown target storage before any task", async () => {
    expect(await refusal("POST", "nodes/pve2/lxc/100/migrate", { target: "pve2" })).toEqual({
      status: 400,
      text: "Parameter verification failed.",
      errors: { target: "target is local node." },
    });
    expect((await refusal("POST", "nodes/pve2/lxc/100/migrate", { target: "pve7" })).text).toBe("no such cluster node 'pve7'");
    expect((await refusal("POST", "nodes/pve1/lxc/100/migrate", { target: "pve2" })).text).toBe(
      "Configuration file 'nodes/pve1/lxc/100.conf' does not exist",
    );
    expect((await refusal("POST", "nodes/pve2/lxc/100/migrate", { target: "pve1", "target-storage": "nope" })).text).toBe(
      "storage 'nope' is not available on node 'pve1'",
    );
    expect((await refusal("POST", "nodes/pve2/lxc/100/migrate", { target: "pve1", "target-storage": "a:b:c" })).errors).toEqual({
      "target-storage": "failed to parse storage map: invalid format - 'a:b:c'",
    });
  });

  it("moves a stopped container with its vmid, config and volume (a vzmigrate task on the source node)", async () => {
    const before = await pve.data<Record<string, unknown>>("GET", "nodes/pve2/lxc/100/config");
    const { upid, exitstatus, log } = await run("POST", "nodes/pve2/lxc/100/migrate", { target: "pve1" });
    expect(exitstatus).toBe("OK");
    expect(upid).toMatch(/^UPID:pve2:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vzmigrate:100:root@pam!phoenix:$/);
    expect(log).toContain("starting migration of CT 100 to node 'pve1' (127.0.0.1)");
    expect(log).toContain("volume 'tank-lxc:subvol-100-disk-0' is 'tank-lxc:subvol-100-disk-0' on the target");
    expect(log.at(-2)).toMatch(/^migration finished successfully \(duration \d\d:\d\d:\d\d\)$/);
    expect(await vmids("pve1")).toEqual([100]);
    expect(await vmids("pve2")).toEqual([]);
    const after = await pve.data<Record<string, unknown>>("GET", "nodes/pve1/lxc/100/config");
    expect({ ...after, digest: "" }).toEqual({ ...before, digest: "" });
    expect(one.allVolumes().map((v) => v.volid)).toContain("tank-lxc:subvol-100-disk-0");
    expect(two.allVolumes().map((v) => v.volid)).not.toContain("tank-lxc:subvol-100-disk-0");
    const res = await pve.data<{ id: string; node: string }[]>("GET", "cluster/resources", { type: "vm" });
    expect(res.find((r) => r.id === "lxc/100")?.node).toBe("pve1");
  });

  it("maps volumes to another storage of the target with target-storage", async () => {
    const { exitstatus } = await run("POST", "nodes/pve1/lxc/100/migrate", {
      target: "pve2",
      "target-storage": "tank-lxc:other-lxc",
    });
    expect(exitstatus).toBe("OK");
    expect((await pve.data<{ rootfs: string }>("GET", "nodes/pve2/lxc/100/config")).rootfs).toBe(
      "other-lxc:subvol-100-disk-0,size=2G",
    );
    expect(two.allVolumes().map((v) => v.volid)).toContain("other-lxc:subvol-100-disk-0");
  });

  it("fails the task when the target storage cannot hold container volumes, leaving the container where it was", async () => {
    const { exitstatus, log } = await run("POST", "nodes/pve2/lxc/100/migrate", { target: "pve1", "target-storage": "local" });
    expect(exitstatus).toBe("migration aborted");
    expect(log).toContain("ERROR: other-lxc:subvol-100-disk-0: content type 'rootdir' is not available on storage 'local'");
    expect(log.at(-2)).toMatch(
      /^ERROR: migration aborted \(duration \d\d:\d\d:\d\d\): other-lxc:subvol-100-disk-0: content type 'rootdir' is not available on storage 'local'$/,
    );
    expect(await vmids("pve2")).toEqual([100]);
  });

  it("refuses a running container without restart, fails online (no live migration of containers), moves it in restart mode", async () => {
    await run("POST", "nodes/pve2/lxc/100/status/start");
    expect((await refusal("POST", "nodes/pve2/lxc/100/migrate", { target: "pve1" })).text).toBe(
      "can't migrate running container without --online or --restart",
    );
    const online = await run("POST", "nodes/pve2/lxc/100/migrate", { target: "pve1", online: 1 });
    expect(online.exitstatus).toBe("migration aborted");
    expect(online.log.join("\n")).toContain("): lxc live migration is currently not implemented");
    const { exitstatus, log } = await run("POST", "nodes/pve2/lxc/100/migrate", { target: "pve1", restart: 1 });
    expect(exitstatus).toBe("OK");
    expect(log).toEqual(expect.arrayContaining(["shutdown CT 100", "start final cleanup", "start container on target node"]));
    expect((await pve.data<{ status: string }>("GET", "nodes/pve1/lxc/100/status/current")).status).toBe("running");
    expect((await two.runtime("lxc", 100)).status).toBe("stopped");
    await run("POST", "nodes/pve1/lxc/100/status/stop");
  });

  it("refuses a container with snapshots (the lab does not carry them) and a linked clone", async () => {
    expect((await run("POST", "nodes/pve1/lxc/100/snapshot", { snapname: "s1" })).exitstatus).toBe("OK");
    const withSnap = await run("POST", "nodes/pve1/lxc/100/migrate", { target: "pve2" });
    expect(withSnap.exitstatus).toBe("migration aborted");
    expect(withSnap.log.join("\n")).toMatch(
      /ERROR: migration aborted \(duration \d\d:\d\d:\d\d\): the lab does not migrate snapshots: CT 100 has some/,
    );
    expect(await vmids("pve1")).toEqual([100]);
    expect((await run("DELETE", "nodes/pve1/lxc/100/snapshot/s1")).exitstatus).toBe("OK");
    expect(await pve.data("POST", "nodes/pve1/lxc/100/template")).toBeNull();
    expect(await pve.task("POST", "nodes/pve1/lxc/100/clone", { newid: 101, hostname: "linked" })).toBe("OK");
    const clone = await run("POST", "nodes/pve1/lxc/101/migrate", { target: "pve2" });
    expect(clone.exitstatus).toBe("migration aborted");
    expect(clone.log).toContain(
      "WARN: can't migrate local volume 'other-lxc:basevol-100-disk-0/subvol-101-disk-0': clone of 'basevol-100-disk-0'",
    );
    expect(clone.log.join("\n")).toContain("): can't migrate CT - check log");
    expect(await vmids("pve1")).toEqual([100, 101]);
  });

  it("moves a stopped VM with its disk (qmigrate), refuses a running one without online", async () => {
    expect((await refusal("POST", "nodes/pve1/qemu/300/migrate", { target: "pve1" })).errors).toEqual({
      target: "target is local node.",
    });
    await run("POST", "nodes/pve1/qemu/300/status/start");
    expect((await refusal("POST", "nodes/pve1/qemu/300/migrate", { target: "pve2" })).text).toBe(
      "can't migrate running VM without --online",
    );
    await run("POST", "nodes/pve1/qemu/300/status/stop");
    const { upid, exitstatus } = await run("POST", "nodes/pve1/qemu/300/migrate", { target: "pve2" });
    expect(exitstatus).toBe("OK");
    expect(upid).toContain(":qmigrate:300:");
    expect(await vmids("pve2", "qemu")).toEqual([300]);
    expect(await vmids("pve1", "qemu")).toEqual([]);
    expect(two.allVolumes().find((v) => v.volid === "tank-lxc:vm-300-disk-0")?.size).toBe(4 * 1024 ** 3);
    expect(one.allVolumes().some((v) => v.volid === "tank-lxc:vm-300-disk-0")).toBe(false);
  });
});

describe("HA resources", () => {
  const cfg = () => readFileSync(join(dir, "pve", "ha", "resources.cfg"), "utf8");

  it("adds, lists, reads, changes and removes resources, stored in resources.cfg's format", async () => {
    expect(await pve.data("GET", "cluster/ha/resources")).toEqual([]);
    await pve.data("POST", "cluster/ha/resources", { sid: "ct:100", state: "started", max_restart: 2, comment: "web" });
    await pve.data("POST", "cluster/ha/resources", { sid: "300" });
    expect(cfg()).toBe("ct: 100\n\tcomment web\n\tmax_restart 2\n\tstate started\n\nvm: 300\n");
    const list = await pve.data<Record<string, unknown>[]>("GET", "cluster/ha/resources");
    expect(list.map((r) => r.sid)).toEqual(["ct:100", "vm:300"]);
    expect((await pve.data<unknown[]>("GET", "cluster/ha/resources", { type: "vm" })).length).toBe(1);
    const one = await pve.data<Record<string, unknown>>("GET", "cluster/ha/resources/ct:100");
    expect(one).toMatchObject({ sid: "ct:100", type: "ct", state: "started", max_restart: 2, comment: "web" });
    await pve.data("PUT", "cluster/ha/resources/ct:100", { state: "stopped", delete: "comment", digest: one.digest as string });
    expect(cfg()).toContain("ct: 100\n\tmax_restart 2\n\tstate stopped\n\n");
    expect((await refusal("PUT", "cluster/ha/resources/ct:100", { state: "started", digest: one.digest as string })).text).toBe(
      "detected modified configuration - file changed by other user? Try again.",
    );
    await pve.data("DELETE", "cluster/ha/resources/vm:300");
    expect((await pve.data<{ sid: string }[]>("GET", "cluster/ha/resources")).map((r) => r.sid)).toEqual(["ct:100"]);
  });

  it("refuses what pve-ha-manager refuses, in its words", async () => {
    const post = (params: Record<string, string | number>) => refusal("POST", "cluster/ha/resources", params);
    expect((await post({ sid: "ct:100" })).text).toBe("resource ID 'ct:100' already defined");
    expect((await post({ sid: "ct:555" })).text).toBe("resource 'ct:555' does not exist in cluster");
    expect((await post({ sid: "ct:300" })).text).toBe("resource 'ct:300' - guest with ID 300 is not a container");
    expect((await post({ sid: "555" })).text).toBe("unable to detect SID from VMID - VM/CT 555 does not exist");
    expect((await post({ sid: "nonsense" })).text).toBe("unable to parse service id 'nonsense'");
    expect((await post({ sid: "vm:300", type: "ct" })).text).toBe("types does not match");
    expect((await post({ sid: "vm:300", state: "running" })).errors).toEqual({
      state: "value 'running' does not have a value in the enumeration 'started, stopped, enabled, disabled, ignored'",
    });
    expect((await refusal("GET", "cluster/ha/resources/vm:300")).text).toBe("no such resource 'vm:300'");
    expect((await refusal("DELETE", "cluster/ha/resources/vm:300")).text).toBe("cannot delete service 'vm:300', not HA managed!");
  });
});

describe("HA rules", () => {
  const rulesCfg = () => readFileSync(join(dir, "pve", "ha", "rules.cfg"), "utf8");
  const rule = (id: string) => pve.data<Record<string, unknown>>("GET", `cluster/ha/rules/${id}`);
  const ids = async (params: Record<string, string> = {}) =>
    (await pve.data<{ rule: string }[]>("GET", "cluster/ha/rules", params)).map((r) => r.rule);
  /** A refused call: its status, its reason and the rest of its message (Proxmox's further lines). */
  const refused = async (method: string, path: string, params: Record<string, string | number>) => {
    const r = await pve.call<null>(method, path, params);
    return { status: r.status, text: r.statusText, message: r.body.message, errors: r.body.errors };
  };
  const post = (params: Record<string, string | number>) => refused("POST", "cluster/ha/rules", params);
  const KEEP = { rule: "keep-web", type: "node-affinity", resources: "vm:300", nodes: "pve2:2,pve1", strict: 1 };

  it("creates node- and resource-affinity rules, stored in rules.cfg's format, read back in the shapes bpg parses", async () => {
    expect(await pve.data("GET", "cluster/ha/rules")).toEqual([]);
    await pve.data("POST", "cluster/ha/resources", { sid: "vm:300" });
    await pve.data("POST", "cluster/ha/resources", { sid: "ct:101" });
    expect(await pve.data("POST", "cluster/ha/rules", { ...KEEP, comment: "web: first", disable: 0 })).toBeNull();
    await pve.data("POST", "cluster/ha/rules", {
      rule: "apart",
      type: "resource-affinity",
      resources: "ct:101,ct:100",
      affinity: "negative",
    });
    expect(rulesCfg()).toBe(
      "node-affinity: keep-web\n\tcomment web%3A first\n\tnodes pve1,pve2:2\n\tresources vm:300\n\tstrict 1\n\n" +
        "resource-affinity: apart\n\taffinity negative\n\tresources ct:100,ct:101\n\n",
    );
    const digest = createHash("sha1").update(rulesCfg()).digest("hex");
    expect(await rule("keep-web")).toEqual({
      rule: "keep-web",
      type: "node-affinity",
      resources: "vm:300",
      nodes: "pve1,pve2:2",
      strict: 1,
      comment: "web: first",
      digest,
      order: 1,
    });
    expect(await rule("apart")).toEqual({
      rule: "apart",
      type: "resource-affinity",
      resources: "ct:100,ct:101",
      affinity: "negative",
      digest,
      order: 2,
    });
    // disabled, it is left out of the checks (enabled, it would be refused: keep-web has two priorities)
    await pve.data("POST", "cluster/ha/rules", {
      rule: "together",
      type: "resource-affinity",
      resources: "vm:300,ct:101",
      affinity: "positive",
      disable: 1,
    });
    expect(rulesCfg()).toContain("resource-affinity: together\n\tdisable\n\taffinity positive\n\tresources ct:101,vm:300\n\n");
    // Proxmox's next ordinal is the lowest + 1: a new rule sorts second
    expect(await ids()).toEqual(["keep-web", "together", "apart"]);
    expect(await rule("together")).toMatchObject({ disable: 1, order: 2 });
    expect(await ids({ type: "resource-affinity" })).toEqual(["together", "apart"]);
    expect(await ids({ resource: "vm:300" })).toEqual(["keep-web", "together"]);
    expect(await ids({ resource: "ct:101", type: "resource-affinity" })).toEqual(["together", "apart"]);
    expect(await ids({ resource: "ct:100", type: "node-affinity" })).toEqual([]);
  });

  it("updates with delete and digest; a rule is checked again before it is enabled, and disable=0 changes nothing", async () => {
    const put = (id: string, params: Record<string, string | number>) => refused("PUT", `cluster/ha/rules/${id}`, params);
    const enable = await put("together", { type: "resource-affinity", delete: "disable" });
    expect([enable.status, enable.text]).toEqual([500, "update HA rules failed: 400 Rule 'together' is invalid."]);
    expect(enable.message).toContain("\nresources: resources are in node affinity rules with multiple priorities\n");
    expect(await put("together", { type: "resource-affinity", disable: 0 })).toMatchObject({ status: 200 });
    expect(await rule("together")).toMatchObject({ disable: 1 });
    const { digest } = await rule("keep-web");
    const update = { type: "node-affinity", resources: "ct:100,vm:300", nodes: "pve1:1", strict: 0 };
    expect(await put("keep-web", { ...update, delete: "comment", digest: digest as string })).toMatchObject({ status: 200 });
    expect(rulesCfg()).toContain("node-affinity: keep-web\n\tnodes pve1:1\n\tresources ct:100,vm:300\n\tstrict 0\n\n");
    expect(await rule("keep-web")).toMatchObject({ nodes: "pve1:1", strict: 0 });
    expect(await rule("keep-web")).not.toHaveProperty("comment");
    expect((await put("keep-web", { ...update, digest: digest as string })).text).toBe(
      "update HA rules failed: detected modified configuration - file changed by other user? Try again.",
    );
    // one priority now: together may be enabled
    expect(await put("together", { type: "resource-affinity", delete: "disable" })).toMatchObject({ status: 200 });
    expect(await rule("together")).not.toHaveProperty("disable");
    const before = rulesCfg();
    expect((await put("keep-web", { type: "resource-affinity" })).text).toBe(
      "update HA rules failed: unexpected property 'type'",
    );
    expect((await put("keep-web", { type: "node-affinity", delete: "resources" })).text).toBe(
      "update HA rules failed: unable to delete required option 'resources'",
    );
    expect((await put("keep-web", { type: "node-affinity", comment: "x", delete: "comment" })).text).toBe(
      "update HA rules failed: cannot set and delete property 'comment' at the same time!",
    );
    expect((await put("keep-web", { type: "node-affinity", delete: "affinity" })).text).toBe(
      "update HA rules failed: no such option 'affinity'",
    );
    expect((await put("nope", { type: "node-affinity", comment: "x" })).text).toBe(
      "update HA rules failed: HA rule 'nope' does not exist",
    );
    expect((await put("keep-web", { type: "node-affinity", nodes: "pve3" })).text).toBe(
      "update HA rules failed: cannot use non-existent node(s) pve3.",
    );
    expect((await put("keep-web", { comment: "x" })).errors).toEqual({ type: "property is missing and it is not optional" });
    expect(rulesCfg()).toBe(before);
  });

  it("refuses what pve-ha-manager refuses, in its words, and leaves rules.cfg as it was", async () => {
    const before = rulesCfg();
    const node = { rule: "r1", type: "node-affinity", resources: "vm:300" };
    const resource = { rule: "r1", type: "resource-affinity", resources: "vm:300,ct:101" };
    expect((await post({ ...node, nodes: "pve1,pve9,mars" })).text).toBe(
      "create ha rule failed: cannot use non-existent node(s) mars, pve9.",
    );
    expect((await post({ ...node, nodes: "pve1", resources: "vm:300,vm:999,ct:555" })).text).toBe(
      "create ha rule failed: cannot use unmanaged resource(s) ct:555, vm:999.",
    );
    expect((await post(node)).text).toBe("missing value for required option 'nodes'");
    expect((await post({ ...node, nodes: "pve1", affinity: "positive" })).text).toBe("unexpected property 'affinity'");
    expect((await post(resource)).text).toBe("missing value for required option 'affinity'");
    expect((await post({ ...resource, affinity: "positive", nodes: "pve1" })).text).toBe("unexpected property 'nodes'");
    expect((await post({ ...resource, affinity: "sideways" })).errors).toEqual({
      affinity: "value 'sideways' does not have a value in the enumeration 'positive, negative'",
    });
    expect((await post({ ...node, nodes: "pve1:high" })).errors).toEqual({
      nodes: "invalid format - value does not look like a valid ha node\n",
    });
    expect((await post({ ...node, nodes: "pve1", resources: "300" })).errors).toEqual({
      resources: "invalid format - value does not look like a valid ha resource id\n",
    });
    expect((await post({ ...node, nodes: "pve1", rule: "1st" })).errors).toEqual({
      rule: "invalid format - invalid configuration ID '1st'\n",
    });
    expect((await post({ ...node, nodes: "pve1", rule: "apart" })).text).toBe(
      "create ha rule failed: HA rule 'apart' already defined",
    );
    const infeasible = async (params: Record<string, string | number>, why: string) => {
      const r = await post(params);
      expect([r.status, r.text, r.message]).toEqual([
        500,
        `create ha rule failed: 400 Rule 'r1' is invalid.`,
        `create ha rule failed: 400 Rule 'r1' is invalid.\nresources: ${why}\n`,
      ]);
    };
    await infeasible(
      { ...resource, resources: "vm:300", affinity: "positive" },
      "rule is ineffective as there are less than two resources",
    );
    await infeasible(
      { ...resource, resources: "vm:300,ct:100,ct:101", affinity: "negative" },
      "rule defines more resources than available nodes, " +
        "rule shares two or more resources with a positive resource affinity rule, " +
        "two or more resources are restricted to less nodes than available to the resources",
    );
    await infeasible(
      { ...node, nodes: "pve2" },
      "resource 'vm:300' is already used in another node affinity rule, at least one resource is in a positive resource " +
        "affinity rule and there are other resources in at least one other node affinity rule already",
    );
    expect((await refused("GET", "cluster/ha/rules/nope", {})).text).toBe("no such ha rule 'nope'");
    expect(rulesCfg()).toBe(before);
  });

  it("deletes rules; a deleted HA resource leaves every rule (purge, the default), a rule left empty goes", async () => {
    expect(await pve.data("DELETE", "cluster/ha/rules/nope")).toBeNull();
    await pve.data("DELETE", "cluster/ha/resources/ct:101");
    expect(await rule("apart")).toMatchObject({
      resources: "ct:100",
      errors: { resources: ["rule is ineffective as there are less than two resources"] },
    });
    expect(await rule("together")).toMatchObject({
      resources: "vm:300",
      errors: { resources: ["rule is ineffective as there are less than two resources"] },
    });
    await pve.data("DELETE", "cluster/ha/resources/vm:300", { purge: 0 });
    expect(await rule("keep-web")).toMatchObject({ resources: "ct:100,vm:300" });
    await pve.data("DELETE", "cluster/ha/resources/ct:100");
    expect(await ids()).toEqual(["keep-web", "together"]);
    expect(await rule("keep-web")).toMatchObject({ resources: "vm:300" });
    await pve.data("DELETE", "cluster/ha/rules/keep-web");
    expect(rulesCfg()).toBe("resource-affinity: together\n\taffinity positive\n\tresources vm:300\n\n");
  });
});
