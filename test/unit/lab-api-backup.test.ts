// The lab API's backups, restores, snapshots and backup jobs over loopback HTTPS with the in-memory backend, driven
// as Proxmox clients drive them (bpg's client, the GUI's "Run now", pct restore): parameters, tasks, listings,
// side attributes, retention and the messages Proxmox answers with.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabClient } from "../../lab/pve/client";
import { MemoryBackend } from "../../lab/pve/memory-backend";
import { type LabApi, startLabApi } from "../../lab/api/server";

const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
let dir: string;
let api: LabApi;
let backend: MemoryBackend;
let pve: LabClient;
let root: LabClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "phoenix-lab-backup-"));
  backend = new MemoryBackend({
    storages: [
      { id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl", "iso", "backup", "snippets"] },
      { id: "tiny", type: "dir", path: "/mnt/tiny", content: ["backup"], total: 1024 },
      { id: "tank-lxc", type: "zfspool", pool: "tank/lxc-disks", content: ["rootdir", "images"] },
      { id: "plain", type: "dir", path: "/srv/plain", content: ["rootdir"] },
    ],
    files: [{ volid: TEMPLATE, size: 120_000_000 }],
  });
  api = await startLabApi({
    stateDir: dir,
    port: 0,
    node: "pve",
    tokens: [{ id: "root@pam!t", secret: "s" }],
    users: [{ userid: "root@pam", password: "pw" }],
    backend,
  });
  pve = new LabClient({ url: api.url, token: "root@pam!t=s" });
  const ticket = await pve.data<{ ticket: string; CSRFPreventionToken: string }>("POST", "access/ticket", {
    username: "root@pam",
    password: "pw",
  });
  root = new LabClient({ url: api.url, ticket: { ticket: ticket.ticket, csrf: ticket.CSRFPreventionToken } });
  for (const [vmid, storage] of [
    [200, "tank-lxc"],
    [210, "tank-lxc"],
    [220, "plain"],
  ] as const)
    expect(
      await pve.task("POST", "nodes/pve/lxc", {
        vmid,
        ostemplate: TEMPLATE,
        hostname: `ct${vmid}`,
        rootfs: `${storage}:4`,
        net0: "name=eth0,bridge=vmbr0,ip=10.0.0.5/24",
        start: 1,
      }),
    ).toBe("OK");
});

afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

const backups = (storage = "local", vmid?: number) =>
  pve.data<Record<string, unknown>[]>("GET", `nodes/pve/storage/${storage}/content`, {
    content: "backup",
    ...(vmid ? { vmid } : {}),
  });

async function vzdump(params: Record<string, string | number>) {
  const upid = await pve.data<string>("POST", "nodes/pve/vzdump", params);
  const status = await pve.waitTask(upid);
  return { upid, status, log: await pve.taskLog(upid) };
}

describe("vzdump", () => {
  it("backs up a running container in snapshot mode: one vzdump task, the archive listed as backup content", async () => {
    const { upid, status, log } = await vzdump({
      vmid: 200,
      storage: "local",
      mode: "snapshot",
      compress: "zstd",
      "notes-template": "{{guestname}} on {{node}}\\nsecond line",
    });
    expect(upid).toMatch(/:vzdump:200:root@pam!t:$/);
    expect(status.exitstatus).toBe("OK");
    expect(log).toContain("INFO: backup mode: snapshot");
    expect(log).toContain("INFO: create storage snapshot 'vzdump'");
    expect(log).toContain("INFO: cleanup temporary 'vzdump' snapshot");
    expect(log.at(-2)).toBe("INFO: Backup job finished successfully");
    const list = await backups("local", 200);
    expect(list).toHaveLength(1);
    const b = list[0]!;
    expect(b.volid).toMatch(/^local:backup\/vzdump-lxc-200-\d{4}_\d\d_\d\d-\d\d_\d\d_\d\d\.tar\.zst$/);
    expect(b).toMatchObject({ content: "backup", format: "tar.zst", subtype: "lxc", vmid: 200, notes: "ct200 on pve" });
    expect(b.protected).toBeUndefined();
    expect(Math.abs((b.ctime as number) - Date.now() / 1000)).toBeLessThan(60);
    // the temporary snapshot is gone from the config, and the guest is unlocked and still running
    const config = await pve.data<Record<string, unknown>>("GET", "nodes/pve/lxc/200/config");
    expect(config.lock).toBeUndefined();
    expect((await pve.data<{ status: string }>("GET", "nodes/pve/lxc/200/status/current")).status).toBe("running");
    expect(await pve.data<string>("GET", "nodes/pve/vzdump/extractconfig", { volume: b.volid as string })).toMatch(
      /^hostname: ct200$/m,
    );
  });

  it("falls back to suspend mode when a volume cannot snapshot, and backs up stopped guests in stop mode", async () => {
    const r = await vzdump({ vmid: 220, storage: "local", mode: "snapshot" });
    expect(r.status.exitstatus).toBe("OK");
    expect(r.log).toContain("INFO: mode failure - some volumes do not support snapshots");
    expect(r.log).toContain("INFO: trying 'suspend' mode instead");
    expect(backend.isFrozen("lxc", 220)).toBe(false);
    await pve.task("POST", "nodes/pve/lxc/210/status/stop");
    const s = await vzdump({ vmid: 210, storage: "local" });
    expect(s.log).toContain("INFO: backup mode: stop");
    expect((await backups("local", 210))[0]!.format).toBe("tar");
  });

  it("fails the job, not the request, when the storage is missing, holds no backups or is full", async () => {
    const missing = await vzdump({ vmid: 200, storage: "nas" });
    expect(missing.status.exitstatus).toBe("could not get storage information for 'nas': storage 'nas' does not exist");
    const wrong = await vzdump({ vmid: 200, storage: "tank-lxc" });
    expect(wrong.status.exitstatus).toBe(
      "could not get storage information for 'tank-lxc': can't use storage 'tank-lxc' for backups - wrong content type",
    );
    const full = await vzdump({ vmid: 200, storage: "tiny" });
    expect(full.status.exitstatus).toBe("job errors");
    expect(full.log.find((l) => l.startsWith("ERROR:"))).toMatch(/^ERROR: Backup of VM 200 failed - .*No space left on device/);
    expect(await backups("tiny")).toEqual([]);
    const unknown = await vzdump({ vmid: 999, storage: "local" });
    expect(unknown.log).toContain("ERROR: Backup of VM 999 failed - unable to find VM '999'");
  });

  it("checks its parameters as Proxmox does", async () => {
    const none = await pve.call("POST", "nodes/pve/vzdump", { storage: "local" });
    expect(none.status).toBe(400);
    expect(none.body.errors).toEqual({ vmid: "property is missing" });
    const both = await pve.call("POST", "nodes/pve/vzdump", { vmid: 200, all: 1 });
    expect(both.body.errors).toEqual({ all: "option conflicts with option 'vmid'" });
    const keepAll = await pve.call("POST", "nodes/pve/vzdump", { vmid: 200, "prune-backups": "keep-all=1,keep-last=2" });
    expect(keepAll.body.errors).toEqual({ "prune-backups": "keep-all cannot be set together with other options." });
    const mode = await pve.call("POST", "nodes/pve/vzdump", { vmid: 200, mode: "fast" });
    expect(mode.status).toBe(400);
    const rootOnly = await pve.call("POST", "nodes/pve/vzdump", { vmid: 200, tmpdir: "/tmp" });
    expect(rootOnly.body.errors).toEqual({ tmpdir: "Only root may set this option." });
  });

  it("prunes with prune-backups, never a protected backup; notes and protection are set with PUT", async () => {
    const [first] = await backups("local", 200);
    await pve.data("PUT", `nodes/pve/storage/local/content/${encodeURIComponent(first!.volid as string)}`, {
      protected: 1,
      notes: "keep me\nforever",
    });
    const detail = await pve.data<Record<string, unknown>>(
      "GET",
      `nodes/pve/storage/local/content/${encodeURIComponent(first!.volid as string)}`,
    );
    expect(detail).toMatchObject({ protected: 1, notes: "keep me\nforever", format: "tar.zst" });
    expect((await backups("local", 200))[0]).toMatchObject({ protected: 1, notes: "keep me" });
    for (let i = 0; i < 2; i++) {
      await new Promise((r) => setTimeout(r, 1100)); // archive names have one-second stamps
      expect((await vzdump({ vmid: 200, storage: "local", "prune-backups": "keep-last=1" })).status.exitstatus).toBe("OK");
    }
    const left = await backups("local", 200);
    expect(left).toHaveLength(2);
    expect(left.filter((b) => b.protected)).toHaveLength(1);
    const del = await pve.data<string>("DELETE", `nodes/pve/storage/local/content/${encodeURIComponent(first!.volid as string)}`);
    expect((await pve.waitTask(del)).exitstatus).toBe(
      `cannot remove protected volume '${String(first!.volid).slice(6)}' on 'local'`,
    );
    const notes = await pve.call("PUT", `nodes/pve/storage/local/content/${encodeURIComponent(TEMPLATE)}`, { notes: "x" });
    expect(notes.statusText).toBe("only backups can have notes");
  });
});

describe("restore", () => {
  it("restores over a stopped container with force, refuses a running or protected one, and a taken vmid without force", async () => {
    const [b] = await backups("local", 210);
    const taken = await pve.call("POST", "nodes/pve/lxc", { vmid: 210, ostemplate: b!.volid as string, restore: 1 });
    expect(taken.statusText).toBe("CT 210 already exists on node 'pve'");
    const running = await pve.call("POST", "nodes/pve/lxc", { vmid: 200, ostemplate: b!.volid as string, restore: 1, force: 1 });
    expect(running.statusText).toBe("can't overwrite running container");
    const before = await pve.data<Record<string, string>>("GET", "nodes/pve/lxc/210/config");
    const upid = await root.data<string>("POST", "nodes/pve/lxc", {
      vmid: 210,
      ostemplate: b!.volid as string,
      restore: 1,
      force: 1,
      storage: "tank-lxc",
    });
    expect(upid).toMatch(/:vzrestore:210:root@pam:$/);
    expect((await pve.waitTask(upid)).exitstatus).toBe("OK");
    const after = await pve.data<Record<string, string>>("GET", "nodes/pve/lxc/210/config");
    expect(after.hostname).toBe("ct210");
    expect(after.net0).toBe(before.net0);
    expect(after.rootfs).toMatch(/^tank-lxc:subvol-210-disk-1,size=4G$/);
    expect(backend.allVolumes().some((v) => v.volid === before.rootfs!.split(",")[0])).toBe(false);
    await pve.data("PUT", "nodes/pve/lxc/210/config", { protection: 1 });
    const prot = await pve.call("POST", "nodes/pve/lxc", { vmid: 210, ostemplate: b!.volid as string, restore: 1, force: 1 });
    expect(prot.statusText).toBe("unable to restore CT 210 - protection mode enabled");
    const del = await pve.call("DELETE", "nodes/pve/lxc/210");
    expect(del.statusText).toBe("can't remove CT 210 - protection mode enabled");
  });
});

describe("snapshots", () => {
  it("lists with the current entry, chains parents, rolls back only to the most recent, deletes re-parenting", async () => {
    for (const name of ["first", "second"]) {
      const upid = await pve.data<string>("POST", "nodes/pve/lxc/200/snapshot", { snapname: name, description: `the ${name}` });
      expect(upid).toMatch(/:vzsnapshot:200:/);
      expect((await pve.waitTask(upid)).exitstatus).toBe("OK");
    }
    const list = await pve.data<Record<string, unknown>[]>("GET", "nodes/pve/lxc/200/snapshot");
    expect(list.map((s) => [s.name, s.parent ?? null, s.description])).toEqual([
      ["first", null, "the first"],
      ["second", "first", "the second"],
      ["current", "second", "You are here!"],
    ]);
    expect(list.at(-1)!.running).toBe(1);
    expect((await pve.call("POST", "nodes/pve/lxc/200/snapshot", { snapname: "first" })).statusText).toBe(
      "snapshot name 'first' already used",
    );
    expect((await pve.call("POST", "nodes/pve/lxc/200/snapshot", { snapname: "vzdump" })).statusText).toBe(
      "unable to use snapshot name 'vzdump' (reserved name)",
    );
    expect((await pve.call("POST", "nodes/pve/lxc/220/snapshot", { snapname: "x1" })).statusText).toBe(
      "snapshot feature is not available",
    );
    const older = await pve.call("POST", "nodes/pve/lxc/200/snapshot/first/rollback");
    expect(older.statusText).toBe("can't rollback, 'first' is not most recent snapshot on 'subvol-200-disk-0'");
    expect(await pve.task("POST", "nodes/pve/lxc/200/snapshot/second/rollback", { start: 1 })).toBe("OK");
    expect((await pve.data<{ status: string }>("GET", "nodes/pve/lxc/200/status/current")).status).toBe("running");
    expect(await pve.task("DELETE", "nodes/pve/lxc/200/snapshot/second")).toBe("OK");
    expect(await pve.data<Record<string, unknown>>("GET", "nodes/pve/lxc/200/config").then((c) => c.parent)).toBe("first");
    expect(await pve.data("GET", "nodes/pve/lxc/200/snapshot/first")).toEqual([{ cmd: "rollback" }, { cmd: "config" }]);
    expect((await pve.call("GET", "nodes/pve/lxc/200/snapshot/nope")).statusText).toBe("snapshot 'nope' does not exist");
  });
});

describe("backup jobs", () => {
  it("creates, reads, updates and deletes jobs, stored in jobs.cfg as Proxmox writes it", async () => {
    await pve.data("POST", "cluster/backup", {
      id: "nightly",
      schedule: "02:30",
      storage: "local",
      vmid: "200,210",
      mode: "snapshot",
      compress: "zstd",
      "prune-backups": "keep-daily=7,keep-weekly=4",
      "notes-template": "{{guestname}}",
    });
    expect(readFileSync(join(dir, "pve", "jobs.cfg"), "utf8")).toBe(
      "vzdump: nightly\n\tschedule 02:30\n\tcompress zstd\n\tenabled 1\n\tmode snapshot\n\tnotes-template {{guestname}}\n" +
        "\tprune-backups keep-daily=7,keep-weekly=4\n\tstorage local\n\tvmid 200,210\n\n",
    );
    const job = await pve.data<Record<string, unknown>>("GET", "cluster/backup/nightly");
    expect(job).toMatchObject({ id: "nightly", type: "vzdump", enabled: 1, schedule: "02:30", vmid: "200,210" });
    expect(job["prune-backups"]).toEqual({ "keep-daily": 7, "keep-weekly": 4 });
    expect((job["next-run"] as number) - Date.now() / 1000).toBeLessThanOrEqual(86400);
    expect((await pve.call("POST", "cluster/backup", { id: "nightly", schedule: "daily", all: 1 })).statusText).toBe(
      "Job 'nightly' already exists",
    );
    expect((await pve.call("POST", "cluster/backup", { id: "bad", schedule: "whenever", all: 1 })).status).toBe(400);
    await pve.data("PUT", "cluster/backup/nightly", { schedule: "sat 03:00", delete: "notes-template", all: 1 });
    const changed = await pve.data<Record<string, unknown>>("GET", "cluster/backup/nightly");
    expect(changed).toMatchObject({ schedule: "sat 03:00", all: 1 });
    expect(changed.vmid).toBeUndefined();
    expect(changed["notes-template"]).toBeUndefined();
    expect((await pve.data<unknown[]>("GET", "cluster/backup")).length).toBe(1);
    await pve.data("DELETE", "cluster/backup/nightly");
    const gone = await pve.call("GET", "cluster/backup/nightly");
    expect(gone.body.errors).toEqual({ id: "No such job 'nightly'" });
  });
});
