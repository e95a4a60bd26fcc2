// HA-managed guests in the lab's two-node cluster, as pve-container and qemu-server treat them: a migration is a
// request to HA (a `hamigrate` task), which the lab then carries out as the LRM would (shut down, migrate, start on
// the target); /cluster/resources shows the HA state; removal needs `purge`, which takes the guest out of HA too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabClient } from "../../lab/pve/client";
import { MemoryBackend } from "../../lab/pve/memory-backend";
import { TEMPLATE, type TwoNodeLab, guestWatch, startTwoNodeLab } from "../support/lab-cluster-api";

let lab: TwoNodeLab;
let pve: LabClient;

const node = (pool: string) =>
  new MemoryBackend({
    storages: [
      { id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl", "iso", "backup"] },
      { id: "tank-lxc", type: "zfspool", pool: `${pool}/lxc-disks`, content: ["rootdir", "images"] },
    ],
    files: [{ volid: TEMPLATE, size: 120_000_000 }],
  });

beforeAll(async () => {
  lab = await startTwoNodeLab("phoenix-lab-ha-", node("tank1"), node("tank2"));
  ({ pve } = lab);
  for (const vmid of [100, 101]) {
    const upid = await pve.data<string>("POST", "nodes/pve1/lxc", {
      vmid,
      ostemplate: TEMPLATE,
      hostname: `ct${vmid}`,
      rootfs: "tank-lxc:2",
      start: 1,
    });
    expect((await pve.waitTask(upid)).exitstatus).toBe("OK");
  }
});

afterAll(async () => {
  await lab?.close();
});

const { where, until } = guestWatch(() => pve);

describe("HA-managed guests", () => {
  it("shows the HA state in /cluster/resources, for HA resources only", async () => {
    await pve.data("POST", "cluster/ha/resources", { sid: "ct:100", state: "started" });
    expect(await where(100)).toMatchObject({ node: "pve1", status: "running", hastate: "started" });
    expect((await where(101))?.hastate).toBeUndefined();
  });

  it("a migration is a request to HA (hamigrate); the lab then shuts it down, moves it and starts it on the target", async () => {
    // Proxmox's early check comes first: a running container needs restart (or online) even when HA moves it
    const refused = await pve.call("POST", "nodes/pve1/lxc/100/migrate", { target: "pve2" });
    expect(refused.statusText).toBe("can't migrate running container without --online or --restart");
    const upid = await pve.data<string>("POST", "nodes/pve1/lxc/100/migrate", { target: "pve2", restart: 1 });
    expect(upid).toMatch(/:hamigrate:100:root@pam!phoenix:$/);
    expect((await pve.waitTask(upid)).exitstatus).toBe("OK");
    expect(await pve.taskLog(upid)).toEqual(["Requesting HA migration for CT 100 to node pve2", "TASK OK"]);
    const arrived = await until(100, (r) => r?.node === "pve2" && r.status === "running" && !r.lock);
    expect(arrived).toMatchObject({ node: "pve2", status: "running", hastate: "started" });
    // the LRM's migration is a task of its own on the source node, by root@pam
    const tasks = await pve.data<{ type: string; user: string; status?: string }[]>("GET", "nodes/pve1/tasks", { vmid: 100 });
    expect(tasks).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: "vzmigrate", user: "root@pam", status: "OK" })]),
    );
  });

  it("migrates an ignored resource directly, as if HA did not manage it", async () => {
    await pve.data("POST", "cluster/ha/resources", { sid: "ct:101", state: "ignored" });
    const upid = await pve.data<string>("POST", "nodes/pve1/lxc/101/migrate", { target: "pve2", restart: 1 });
    expect(upid).toMatch(/:vzmigrate:101:/);
    expect((await pve.waitTask(upid)).exitstatus).toBe("OK");
    expect((await where(101))?.node).toBe("pve2");
  });

  it("refuses to remove an HA resource's guest without purge; with purge, takes it out of HA and its rules", async () => {
    await pve.data("POST", "cluster/ha/rules", {
      rule: "pair",
      type: "resource-affinity",
      resources: "ct:100,ct:101",
      affinity: "negative",
    });
    for (const vmid of [100, 101]) {
      const stop = await pve.data<string>("POST", `nodes/pve2/lxc/${vmid}/status/stop`);
      await pve.waitTask(stop);
    }
    const refused = await pve.call("DELETE", "nodes/pve2/lxc/100");
    expect(refused.statusText).toBe("unable to remove CT 100 - used in HA resources and purge parameter not set.");
    expect((await where(100))?.node).toBe("pve2");
    const upid = await pve.data<string>("DELETE", "nodes/pve2/lxc/100", { purge: 1 });
    expect((await pve.waitTask(upid)).exitstatus).toBe("OK");
    expect(await pve.taskLog(upid)).toEqual(
      expect.arrayContaining([
        "purging CT 100 from related configurations..",
        "NOTE: removed CT 100 from HA resource configuration.",
      ]),
    );
    const left = await pve.data<{ sid: string }[]>("GET", "cluster/ha/resources");
    expect(left.map((r) => r.sid)).toEqual(["ct:101"]);
    // the rule lost ct:100; one resource is left in it
    const rules = await pve.data<{ rule: string; resources: string }[]>("GET", "cluster/ha/rules");
    expect(rules.map((r) => [r.rule, r.resources])).toEqual([["pair", "ct:101"]]);
  });
});
