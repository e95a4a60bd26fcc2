// The lab API's real backend backing up, restoring and snapshotting a real LXC container on zfs-fuse: a vzdump
// archive that GNU tar reads (./etc/vzdump/pct.conf first, numeric owners, the file written inside), its .log beside
// it, a restore over the container that brings the file back, a snapshot rolled back, and a backup storage too small
// for the archive failing the job with the reason, and a nesting container's Docker data rolled back with its snapshot.
// Needs root.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLabApi, type LabApi } from "../../lab/api/server";
import { ensureBaseTarball, installTemplate } from "../../lab/host/base-template";
import { Lxc } from "../../lab/host/lxc";
import { run } from "../../lab/host/run";
import { destroyPool, ensurePool, ensureZfsDaemon, stopZfsDaemon, zfsReady } from "../../lab/host/zfs";
import { HostBackend } from "../../lab/node/host-backend";
import { LabClient } from "../../lab/pve/client";

const ROOT = join(__dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "phoenix-lab-backup-"));
const tag = Math.random().toString(36).slice(2, 7);
const pool = `phxbk${tag}`;
const vz = join(dir, "vz");
let startedDaemon = false;
let api: LabApi;
let pve: LabClient;
let lxc: Lxc;
const inCt = (vmid: number, cmd: string) => lxc.exec(vmid, ["bash", "-c", cmd]);

beforeAll(async () => {
  execFileSync("bash", [join(ROOT, "scripts", "ensure-apt.sh"), "lxc", "zfs-fuse", "debootstrap", "zstd"], {
    stdio: "inherit",
    timeout: 600_000,
  });
  startedDaemon = !zfsReady();
  await ensureZfsDaemon(join(dir, "zfs"));
  ensurePool(pool, join(dir, "zfs"), 2 * 1024 ** 3);
  run("zfs", ["create", `${pool}/disks`]);
  run("zfs", ["create", "-o", "quota=8M", `${pool}/tiny`]);
  installTemplate(ensureBaseTarball(), vz);
  const backend = new HostBackend({
    stateDir: join(dir, "state"),
    storages: [
      { id: "local", type: "dir", path: vz, content: ["vztmpl", "backup"] },
      { id: "tiny", type: "dir", path: `/${pool}/tiny`, content: ["backup"] },
      { id: "disks", type: "zfspool", pool: `${pool}/disks`, content: ["rootdir"] },
    ],
  });
  lxc = backend.lxc;
  api = await startLabApi({
    stateDir: join(dir, "api"),
    port: 0,
    node: "lab",
    tokens: [],
    users: [{ userid: "root@pam", password: "pw" }],
    backend,
  });
  const t = await new LabClient({ url: api.url }).data<{ ticket: string; CSRFPreventionToken: string }>("POST", "access/ticket", {
    username: "root@pam",
    password: "pw",
  });
  // a real create or clone takes longer than the client's default wait on this 2-core machine when it is busy
  pve = new LabClient({ url: api.url, ticket: { ticket: t.ticket, csrf: t.CSRFPreventionToken }, taskTimeoutMs: 10 * 60_000 });
  const create = await pve.task("POST", "nodes/lab/lxc", {
    vmid: 300,
    ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
    hostname: "keeper",
    rootfs: "disks:1",
    start: 1,
  });
  expect(create).toBe("OK");
}, 20 * 60_000);

afterAll(async () => {
  await api?.close();
  for (const v of lxc?.list() ?? []) lxc.remove(v);
  await destroyPool(pool);
  if (startedDaemon) await stopZfsDaemon(join(dir, "zfs"));
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

async function vzdump(params: Record<string, string | number>) {
  const upid = await pve.data<string>("POST", "nodes/lab/vzdump", params);
  const status = await pve.waitTask(upid, 200, 10 * 60_000);
  const log = await pve.data<{ n: number; t: string }[]>("GET", `nodes/lab/tasks/${encodeURIComponent(upid)}/log`, {
    limit: 10000,
  });
  return { status, log: log.map((l) => l.t) };
}

describe("the real backend", () => {
  let volid: string;

  it(
    "archives a running container in snapshot mode: a tar.zst with pct.conf first and the file, its log beside it",
    async () => {
      expect(inCt(300, "echo precious > /root/data.txt && chown 4242:4343 /root/data.txt").code).toBe(0);
      const t0 = Date.now();
      const r = await vzdump({ vmid: 300, storage: "local", mode: "snapshot", compress: "zstd" });
      expect(r.status.exitstatus).toBe("OK");
      console.log(`vzdump of a running container: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const [b] = await pve.data<{ volid: string; size: number }[]>("GET", "nodes/lab/storage/local/content", {
        content: "backup",
      });
      volid = b!.volid;
      const file = join(vz, "dump", volid.slice("local:backup/".length));
      expect(b!.size).toBeGreaterThan(1024 * 1024);
      const members = run("tar", ["--zstd", "-tvf", file, "--numeric-owner"], { timeoutMs: 300_000 }).stdout.split("\n");
      expect(members[0]).toMatch(/ \.\/etc\/vzdump\/pct\.conf$/);
      expect(members[1]).toMatch(/ \.\/etc\/vzdump\/pct\.fw$/);
      expect(members.find((m) => m.endsWith(" ./root/data.txt"))).toMatch(/^-\S+ 4242\/4343 /);
      expect(readdirSync(join(vz, "dump")).filter((f) => f.endsWith(".log"))).toHaveLength(1);
      expect(readdirSync(join(vz, "dump")).some((f) => f.endsWith(".dat") || f.endsWith(".tmp"))).toBe(false);
      // the temporary vzdump snapshot and its clone are gone
      expect(run("zfs", ["list", "-H", "-t", "all", "-o", "name", "-r", `${pool}/disks`]).stdout).not.toMatch(/vzdump/);
      expect(lxc.state(300)).toBe("running");
    },
    10 * 60_000,
  );

  it(
    "restores it over the container: the file is back with its owner, the old volume is gone",
    async () => {
      expect(inCt(300, "rm /root/data.txt").code).toBe(0);
      await pve.task("POST", "nodes/lab/lxc/300/status/stop");
      const t0 = Date.now();
      const upid = await pve.data<string>("POST", "nodes/lab/lxc", {
        vmid: 300,
        ostemplate: volid,
        restore: 1,
        force: 1,
        storage: "disks",
        start: 1,
      });
      expect((await pve.waitTask(upid, 200, 10 * 60_000)).exitstatus).toBe("OK");
      console.log(`restore: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      expect(inCt(300, "stat -c '%u:%g %n' /root/data.txt && cat /root/data.txt").stdout).toBe(
        "4242:4343 /root/data.txt\nprecious\n",
      );
      expect(existsSync(`/${pool}/disks/subvol-300-disk-0`)).toBe(false);
      expect((await pve.data<Record<string, string>>("GET", "nodes/lab/lxc/300/config")).rootfs).toBe(
        "disks:subvol-300-disk-1,size=1G",
      );
    },
    10 * 60_000,
  );

  it(
    "rolls a snapshot back: a deleted file returns",
    async () => {
      expect(await pve.task("POST", "nodes/lab/lxc/300/snapshot", { snapname: "final-form" })).toBe("OK");
      expect(inCt(300, "rm /root/data.txt").code).toBe(0);
      expect(await pve.task("POST", "nodes/lab/lxc/300/snapshot/final-form/rollback", { start: 1 })).toBe("OK");
      expect(inCt(300, "cat /root/data.txt").stdout).toBe("precious\n");
    },
    5 * 60_000,
  );

  it(
    "backs a linked clone with Docker data up twice in a row, leaving no snapshot or clone behind",
    async () => {
      expect(await pve.task("POST", "nodes/lab/lxc/300/status/stop")).toBe("OK");
      // Proxmox makes no template of a container with snapshots
      expect((await pve.call("POST", "nodes/lab/lxc/300/template")).statusText).toBe(
        "unable to create template, because CT contains snapshots",
      );
      expect(await pve.task("DELETE", "nodes/lab/lxc/300/snapshot/final-form")).toBe("OK");
      expect(await pve.data("POST", "nodes/lab/lxc/300/template")).toBe(null);
      await new Promise((r) => setTimeout(r, 3000));
      expect(await pve.task("POST", "nodes/lab/lxc/300/clone", { newid: 301, hostname: "clone" })).toBe("OK");
      await pve.data("PUT", "nodes/lab/lxc/301/config", { features: "nesting=1" });
      expect(await pve.task("POST", "nodes/lab/lxc/301/status/start")).toBe("OK");
      // what Docker keeps in the lab's stand-in for /var/lib/docker
      const docker = lxc.dockerDir(301);
      run("sh", ["-c", `mkdir -p ${docker}/volumes/data && echo db > ${docker}/volumes/data/db`]);
      for (let i = 0; i < 2; i++) {
        const r = await vzdump({ vmid: 301, storage: "local", mode: "snapshot", compress: "zstd" });
        expect(r.status.exitstatus, r.log.join("\n")).toBe("OK");
        await new Promise((res) => setTimeout(res, 1100));
      }
      expect(run("zfs", ["list", "-H", "-t", "all", "-o", "name", "-r", `${pool}/disks`]).stdout).not.toMatch(/vzdump/);
      const [b] = await pve.data<{ volid: string }[]>("GET", "nodes/lab/storage/local/content", { content: "backup", vmid: 301 });
      const file = join(vz, "dump", b!.volid.slice("local:backup/".length));
      expect(run("tar", ["--zstd", "-tf", file], { timeoutMs: 300_000 }).stdout).toContain("./var/lib/docker/volumes/data/db");
    },
    10 * 60_000,
  );

  it(
    "fails the job with the reason when the backup storage is full, leaving no partial archive",
    async () => {
      const r = await vzdump({ vmid: 301, storage: "tiny", compress: "zstd" });
      expect(r.status.exitstatus).toBe("job errors");
      expect(r.log.find((l) => l.startsWith("ERROR: Backup of VM 301 failed"))).toMatch(
        /No space left on device|Disk quota exceeded/,
      );
      expect(readdirSync(`/${pool}/tiny/dump`).filter((f) => !f.endsWith(".log"))).toEqual([]);
      expect(lxc.state(301)).toBe("running");
    },
    5 * 60_000,
  );

  it(
    "a snapshot of a nesting container holds its Docker data, and a rollback puts it back (Proxmox has it in the rootfs)",
    async () => {
      const docker = lxc.dockerDir(301);
      const copies = lxc.dockerDir(301, true);
      // vzdump's own snapshots (the tests above) kept no copy: they read Docker's directory live
      expect(existsSync(copies) ? readdirSync(copies) : []).toEqual([]);
      expect(await pve.task("POST", "nodes/lab/lxc/301/snapshot", { snapname: "with-db" })).toBe("OK");
      run("sh", ["-c", `rm ${docker}/volumes/data/db && echo later > ${docker}/volumes/data/later`]);
      expect(await pve.task("POST", "nodes/lab/lxc/301/snapshot/with-db/rollback", { start: 1 })).toBe("OK");
      expect(readdirSync(join(docker, "volumes", "data"))).toEqual(["db"]);
      expect(lxc.state(301)).toBe("running");
      expect(await pve.task("DELETE", "nodes/lab/lxc/301/snapshot/with-db")).toBe("OK");
      expect(readdirSync(copies)).toEqual([]);
    },
    5 * 60_000,
  );

  it(
    "a restore over a nesting container brings back the archive's Docker data alone, as a fresh rootfs would hold it",
    async () => {
      const docker = lxc.dockerDir(301);
      const r = await vzdump({ vmid: 301, storage: "local", mode: "snapshot", compress: "zstd" });
      expect(r.status.exitstatus, r.log.join("\n")).toBe("OK");
      expect(r.log.some((l) => l.includes("/var/lib/docker (as of snapshot 'vzdump')"))).toBe(true);
      const backups = await pve.data<{ volid: string; ctime: number }[]>("GET", "nodes/lab/storage/local/content", {
        content: "backup",
        vmid: 301,
      });
      const newest = backups.sort((a, b) => b.ctime - a.ctime)[0]!.volid;
      run("sh", ["-c", `echo after > ${docker}/volumes/data/after-backup`]);
      expect(await pve.task("POST", "nodes/lab/lxc/301/snapshot", { snapname: "before-restore" })).toBe("OK");
      await pve.task("POST", "nodes/lab/lxc/301/status/stop");
      const upid = await pve.data<string>("POST", "nodes/lab/lxc", {
        vmid: 301,
        ostemplate: newest,
        restore: 1,
        force: 1,
        storage: "disks",
      });
      expect((await pve.waitTask(upid, 200, 10 * 60_000)).exitstatus).toBe("OK");
      expect(readdirSync(join(docker, "volumes", "data"))).toEqual(["db"]);
      expect(existsSync(lxc.dockerDir(301, true)) ? readdirSync(lxc.dockerDir(301, true)) : []).toEqual([]);
    },
    10 * 60_000,
  );
});
