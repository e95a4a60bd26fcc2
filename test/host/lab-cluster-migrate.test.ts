// Two lab nodes on this machine behind one API, each with its own zfs-fuse pool and `local`: a container created on
// node 1 with a file written inside, migrated to node 2 through the API in restart mode, keeps its vmid and its file,
// runs on node 2 from a dataset received into node 2's pool (zfs send | zfs receive), and is gone from node 1's
// listing and pool; its firewall rules (the cluster's file, kept once for both nodes) go with it, and a datacenter
// firewall switched on through either node renders each node's own nftables tables. Needs root.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type LabApi, startLabApi } from "../../lab/api/server";
import { ensureBaseTarball, installTemplate } from "../../lab/host/base-template";
import { run } from "../../lab/host/run";
import { destroyPool, ensurePool, ensureZfsDaemon, stopZfsDaemon, zfsReady } from "../../lab/host/zfs";
import { firewallTable } from "../../lab/host/firewall-nft";
import { HostBackend } from "../../lab/node/host-backend";
import { removeFirewallTable } from "../../lab/node/host-firewall";
import { LabClient } from "../../lab/pve/client";

const ROOT = join(__dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "phoenix-lab-cluster-"));
const tag = Math.random().toString(36).slice(2, 7);
const pools = [`phxc1${tag}`, `phxc2${tag}`];
const VMID = 310;
let startedDaemon = false;
let api: LabApi;
let pve: LabClient;
let nodes: HostBackend[] = [];

beforeAll(async () => {
  execFileSync(
    "bash",
    [join(ROOT, "scripts", "ensure-apt.sh"), "lxc", "zfs-fuse", "debootstrap", "zstd", "bindfs", "uidmap", "nftables"],
    {
      stdio: "inherit",
      timeout: 600_000,
    },
  );
  startedDaemon = !zfsReady();
  await ensureZfsDaemon(join(dir, "zfs"));
  const tarball = ensureBaseTarball();
  nodes = pools.map((pool, i) => {
    ensurePool(pool, join(dir, "zfs"), 2 * 1024 ** 3);
    run("zfs", ["create", `${pool}/disks`]);
    const vz = join(dir, `vz${i + 1}`);
    installTemplate(tarball, vz);
    return new HostBackend({
      stateDir: join(dir, `node${i + 1}`),
      clusterDir: join(dir, "pve"),
      storages: [
        { id: "local", type: "dir", path: vz, content: ["vztmpl", "backup"] },
        { id: "tank", type: "zfspool", pool: `${pool}/disks`, content: ["rootdir"] },
      ],
    });
  });
  for (const n of nodes) n.joinCluster(nodes);
  api = await startLabApi({
    stateDir: join(dir, "api"),
    port: 0,
    node: "pve1",
    nodes: [{ node: "pve2", backend: nodes[1]! }],
    tokens: [],
    users: [{ userid: "root@pam", password: "pw" }],
    backend: nodes[0]!,
  });
  const t = await new LabClient({ url: api.url }).data<{ ticket: string; CSRFPreventionToken: string }>("POST", "access/ticket", {
    username: "root@pam",
    password: "pw",
  });
  pve = new LabClient({ url: api.url, ticket: { ticket: t.ticket, csrf: t.CSRFPreventionToken }, taskTimeoutMs: 10 * 60_000 });
}, 20 * 60_000);

afterAll(async () => {
  await api?.close();
  for (let i = 0; i < nodes.length; i++) removeFirewallTable(firewallTable(join(dir, `node${i + 1}`)));
  for (const n of nodes) for (const v of n.lxc.list()) n.lxc.remove(v);
  for (const pool of pools) await destroyPool(pool);
  if (startedDaemon) await stopZfsDaemon(join(dir, "zfs"));
  rmSync(dir, { recursive: true, force: true });
}, 180_000);

const vmids = async (node: string) => (await pve.data<{ vmid: number }[]>("GET", `nodes/${node}/lxc`)).map((g) => Number(g.vmid));
const datasets = (pool: string) =>
  run("zfs", ["list", "-H", "-o", "name", "-r", "-t", "all", pool]).stdout.split("\n").filter(Boolean);

it(
  "migrates a running container from node 1 to node 2 in restart mode: same vmid, its file, node 2's pool and listing",
  async () => {
    const create = await pve.task("POST", "nodes/pve1/lxc", {
      vmid: VMID,
      ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
      hostname: "wanderer",
      rootfs: "tank:1",
      start: 1,
    });
    expect(create).toBe("OK");
    expect(
      nodes[0]!.lxc.exec(VMID, ["bash", "-c", "echo travelling > /root/data.txt && chown 4242:4343 /root/data.txt"]).code,
    ).toBe(0);
    expect(await vmids("pve2")).toEqual([]);
    const rule = { type: "in", action: "ACCEPT", proto: "tcp", dport: "22", enable: 1 };
    await pve.data("POST", `nodes/pve1/lxc/${VMID}/firewall/rules`, rule);

    const t0 = Date.now();
    const upid = await pve.data<string>("POST", `nodes/pve1/lxc/${VMID}/migrate`, { target: "pve2", restart: 1 });
    expect(upid).toMatch(new RegExp(`^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vzmigrate:${VMID}:root@pam:$`));
    const { exitstatus } = await pve.waitTask(upid, 200, 10 * 60_000);
    const log = await pve.taskLog(upid);
    console.log(`restart-mode migration: ${((Date.now() - t0) / 1000).toFixed(1)} s\n${log.join("\n")}`);
    expect(exitstatus).toBe("OK");
    expect(log.join("\n")).toContain(`zfs send ${pools[0]}/disks/subvol-${VMID}-disk-0@__migration__`);

    expect(await vmids("pve1")).toEqual([]);
    expect(await vmids("pve2")).toEqual([VMID]);
    const res = await pve.data<{ id: string; node: string; status: string }[]>("GET", "cluster/resources", { type: "vm" });
    expect(res).toEqual([expect.objectContaining({ id: `lxc/${VMID}`, node: "pve2", status: "running" })]);
    expect((await pve.data<{ rootfs: string }>("GET", `nodes/pve2/lxc/${VMID}/config`)).rootfs).toBe(
      `tank:subvol-${VMID}-disk-0,size=1G`,
    );
    // node 2's pool holds the dataset (no migration snapshot left), node 1's does not
    expect(datasets(pools[1]!)).toContain(`${pools[1]}/disks/subvol-${VMID}-disk-0`);
    expect(datasets(pools[1]!).join("\n")).not.toContain("__migration__");
    expect(datasets(pools[0]!).join("\n")).not.toContain(`subvol-${VMID}`);
    expect(
      run("zfs", ["get", "-H", "-p", "-o", "value", "refquota", `${pools[1]}/disks/subvol-${VMID}-disk-0`]).stdout.trim(),
    ).toBe(String(1024 ** 3));
    // the file, with its owner, inside the container now running on node 2
    expect(nodes[1]!.lxc.state(VMID)).toBe("running");
    const inside = nodes[1]!.lxc.exec(VMID, ["bash", "-c", "cat /root/data.txt && stat -c %u:%g /root/data.txt"]);
    expect(inside.stdout.trim().split("\n")).toEqual(["travelling", "4242:4343"]);
    expect(nodes[0]!.lxc.list()).not.toContain(VMID);
    // the guest's rules are the cluster's: node 2 answers them after the move
    const rules = await pve.data<Record<string, unknown>[]>("GET", `nodes/pve2/lxc/${VMID}/firewall/rules`);
    expect(rules).toEqual([expect.objectContaining({ type: "in", action: "ACCEPT", proto: "tcp", dport: "22", pos: 0 })]);
  },
  15 * 60_000,
);

it("a datacenter firewall switched on renders each node's own tables; switched off, both are gone", async () => {
  const tables = () => run("nft", ["list", "tables"]).stdout;
  const [t1, t2] = [1, 2].map((i) => firewallTable(join(dir, `node${i}`)));
  expect(t1).not.toBe(t2);
  await pve.data("PUT", "cluster/firewall/options", { enable: 1 });
  for (const t of [t1, t2]) expect(tables()).toContain(`table inet ${t}`);
  await pve.data("PUT", "cluster/firewall/options", { enable: 0 });
  for (const t of [t1, t2]) expect(tables()).not.toContain(`table inet ${t}`);
});
