// The backup guard's and the lifecycle snapshot's provider code against the lab API (in-memory backend) over
// loopback HTTPS, logged in as the product logs in (a ticket for root@pam, or a token): the backup a deletion takes,
// its retention and refusals, and snapshots taken, rotated, noticed gone on refresh and removed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LabApi, startLabApi } from "../../lab/api/server";
import { LabClient } from "../../lab/pve/client";
import { MemoryBackend } from "../../lab/pve/memory-backend";
import {
  type BackupGuardInputs,
  GUARD_NOTES,
  backupBeforeDelete,
  backupGuardProvider,
  diffGuard,
} from "../../provisioners/backup/backup-guard";
import type { PveApi } from "../../provisioners/engine/pve-api";
import {
  type LifecycleSnapshotOutputs,
  lifecycleSnapshotProvider,
  snapshotName,
} from "../../provisioners/snapshot/lifecycle-snapshot";

const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
let dir: string;
let api: LabApi;
let pve: LabClient;
let rootApi: PveApi;
let tokenApi: PveApi;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "phoenix-guard-"));
  const backend = new MemoryBackend({
    storages: [
      { id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl", "backup"] },
      { id: "tiny", type: "dir", path: "/mnt/tiny", content: ["backup"], total: 1000 },
      { id: "tank-lxc", type: "zfspool", pool: "tank/lxc", content: ["rootdir"] },
    ],
    files: [{ volid: TEMPLATE, size: 1e8 }],
  });
  api = await startLabApi({
    stateDir: dir,
    port: 0,
    node: "lab",
    tokens: [{ id: "root@pam!t", secret: "s3" }],
    users: [{ userid: "root@pam", password: "pw" }],
    backend,
  });
  pve = new LabClient({ url: api.url, token: "root@pam!t=s3" });
  rootApi = { endpoint: `${api.url}/`, insecure: true, username: "root@pam", password: "pw" };
  tokenApi = { endpoint: api.url, insecure: true, token: "root@pam!t=s3" };
  for (const vmid of [200, 201])
    expect(
      await pve.task("POST", "nodes/lab/lxc", {
        vmid,
        ostemplate: TEMPLATE,
        hostname: `ct${vmid}`,
        rootfs: "tank-lxc:2",
        start: 1,
      }),
    ).toBe("OK");
});

afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

const guard = (over: Partial<BackupGuardInputs> = {}): BackupGuardInputs => ({
  api: rootApi,
  node: "lab",
  type: "lxc",
  vmid: 200,
  guest: "portainer",
  enabled: true,
  storage: "local",
  mode: "snapshot",
  compress: "zstd",
  keep: 2,
  ...over,
});
const backups = async (vmid: number, storage = "local") =>
  pve.data<{ volid: string; notes?: string }[]>("GET", `nodes/lab/storage/${storage}/content`, { content: "backup", vmid });

describe("the backup before a deletion", () => {
  it("takes a vzdump to the node's storage, notes it as Phoenix's, and keeps the newest `keep`", async () => {
    await pve.task("POST", "nodes/lab/vzdump", { vmid: 200, storage: "local" }); // someone else's backup: never pruned
    for (let i = 0; i < 3; i++) {
      const volid = await backupBeforeDelete(guard({ api: i === 1 ? tokenApi : rootApi }));
      expect(volid).toMatch(/^local:backup\/vzdump-lxc-200-.*\.tar\.zst$/);
      await new Promise((r) => setTimeout(r, 1100));
    }
    const list = await backups(200);
    expect(list.filter((b) => b.notes === `${GUARD_NOTES} portainer`)).toHaveLength(2);
    expect(list.filter((b) => b.notes === undefined)).toHaveLength(1);
  });

  it("does nothing for a guest that opted out or is already gone", async () => {
    expect(await backupBeforeDelete(guard({ vmid: 201, enabled: false }))).toBeUndefined();
    expect(await backups(201)).toEqual([]);
    expect(await backupBeforeDelete(guard({ vmid: 999 }))).toBeUndefined();
  });

  it("fails with the reason and the way out when the storage is full, missing or not named", async () => {
    await expect(backupBeforeDelete(guard({ vmid: 201, storage: "tiny" }))).rejects.toThrow(
      /^backing up portainer \(CT 201 on node 'lab'\) to 'tiny' failed: Backup of VM 201 failed - .*No space left on device.*; nothing was deleted\. Fix what stopped the backup .* or set backupBeforeReplace: false on 'portainer'/,
    );
    await expect(backupBeforeDelete(guard({ vmid: 201, storage: "nas" }))).rejects.toThrow(
      /to 'nas' failed: could not get storage information for 'nas': storage 'nas' does not exist; nothing was deleted/,
    );
    await expect(backupBeforeDelete(guard({ vmid: 201, storage: undefined }))).rejects.toThrow(
      /portainer \(CT 201 on node 'lab'\) is about to be deleted, but node 'lab' has no backup storage; nothing was deleted/,
    );
    // the provider's delete is that backup: a failure fails the delete
    await expect(backupGuardProvider.delete!("lab/201", guard({ vmid: 201, storage: "tiny" }))).rejects.toThrow(/No space left/);
  });

  it("checks its storage when made, and is replaced only with its guest", async () => {
    await expect(backupGuardProvider.create!(guard({ storage: "tank-lxc" }))).rejects.toThrow(
      /backup storage 'tank-lxc' of node 'lab' does not hold backup content/,
    );
    expect((await backupGuardProvider.create!(guard())).id).toBe("lab/200");
    expect(diffGuard(guard(), guard({ keep: 5 }))).toEqual({ changes: true, replaces: [], deleteBeforeReplace: true });
    expect(diffGuard(guard(), guard({ node: "lab2" }))).toEqual({ changes: true, replaces: [], deleteBeforeReplace: true });
    // a vmid the engine does not know yet (the guest is being replaced): replace
    expect(diffGuard(guard(), guard({ vmid: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" as never })).replaces).toEqual(["vmid"]);
    expect(diffGuard(guard(), guard()).changes).toBe(false);
  });
});

describe("lifecycle snapshots", () => {
  let inputs: Parameters<NonNullable<typeof lifecycleSnapshotProvider.create>>[0];
  beforeAll(() => {
    inputs = {
      api: tokenApi,
      node: "lab",
      type: "lxc" as const,
      vmid: 201,
      guest: "worker",
      name: "final-form",
      keep: 2,
      provisioned: ["h1"],
    };
  });
  const names = async () =>
    (await pve.data<{ name: string }[]>("GET", "nodes/lab/lxc/201/snapshot")).map((s) => s.name).filter((n) => n !== "current");

  it("takes one when made and again when the provisioning changes, keeping the newest two", async () => {
    const made = (await lifecycleSnapshotProvider.create!(inputs)) as { outs: LifecycleSnapshotOutputs };
    expect(made.outs.snapshots).toHaveLength(1);
    expect(made.outs.snapshots[0]).toMatch(/^final-form-\d{8}-\d{6}$/);
    let outs: LifecycleSnapshotOutputs = made.outs;
    for (const h of ["h2", "h3"]) {
      await new Promise((r) => setTimeout(r, 1100));
      const news = { ...inputs, provisioned: [h] };
      expect((await lifecycleSnapshotProvider.diff!("id", outs, news)).changes).toBe(true);
      outs = (await lifecycleSnapshotProvider.update!("id", outs, news)).outs!;
    }
    expect(outs.snapshots).toHaveLength(2);
    expect(await names()).toEqual(outs.snapshots);
    // nothing changed: nothing to do
    expect((await lifecycleSnapshotProvider.diff!("id", outs, { ...inputs, provisioned: ["h3"] })).changes).toBe(false);
    // the newest deleted behind Phoenix's back: refresh says so, and the next up takes a new one
    await pve.task("DELETE", `nodes/lab/lxc/201/snapshot/${outs.snapshots[1]}`);
    const read = await lifecycleSnapshotProvider.read!("id", outs);
    expect(read.props!.inSync).toBe(false);
    expect((await lifecycleSnapshotProvider.diff!("id", read.props!, { ...inputs, provisioned: ["h3"] })).changes).toBe(true);
    await lifecycleSnapshotProvider.delete!("id", read.props!);
    expect(await names()).toEqual([]);
  });

  it("names snapshots by UTC time", () => {
    expect(snapshotName("final-form", new Date(Date.UTC(2026, 10, 24, 9, 5, 7)))).toBe("final-form-20261124-090507");
  });
});
