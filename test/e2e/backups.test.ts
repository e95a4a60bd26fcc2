// End to end, day two on the lab with the real engine, provider and backend: a lifecycle snapshot after provisioning
// and `phoenix rollback`; a backup job through proxmoxve.backup.Job, its drift shown by refresh and repaired by up,
// and run now with `phoenix run-job`; a golden template rebuilt with a file in its clone's rootfs — the clone backed
// up before it is deleted (the audit log's order), a stateless guest that opted out not backed up — `phoenix restore`
// bringing the file back and up converging; a backup storage too small stopping up before anything is deleted; and a
// destroy backing everything up first. Prints the backup and restore time of a provisioned Docker container.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GUARD_NOTES } from "../../definition/backup-notes";
import { Lxc } from "../../lab/host/lxc";
import type { LabUp } from "../../lab/lab";
import { LabClient } from "../../lab/pve/client";
import { ROOT } from "../support/toolchain";
import type { PulumiProject } from "../support/pulumi-project";
import { isolatedDevDefinition } from "../support/lab-definition";
import { labStack } from "../support/lab-stack";

const dir = mkdtempSync(join(tmpdir(), "phoenix-e2e-backups-"));
const state = join(dir, "state");
const iso = isolatedDevDefinition(dir);
let lab: LabUp;
let project: PulumiProject;
let api: LabClient;
let teardown: () => Promise<void>;
const lxc = new Lxc(join(state, "lxc"));
const inCt = (vmid: number, cmd: string) => lxc.exec(vmid, ["bash", "-c", cmd]);
const changes = (c: Record<string, number> | undefined) =>
  Object.fromEntries(Object.entries(c ?? {}).filter(([op]) => op !== "same" && op !== "read"));
const save = () => writeFileSync(project.definition, iso.text());

interface Audit {
  method: string;
  path: string;
  params: Record<string, string>;
  status: number;
}
const audit = (): Audit[] =>
  readFileSync(join(state, "api", "audit.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Audit);

/** `phoenix <args>` in the project directory with the stack's environment, as a user runs it. */
function phoenix(...args: string[]): { code: number; out: string; err: string } {
  try {
    const out = execFileSync(process.execPath, [join(ROOT, "scripts", "phoenix.cjs"), ...args, "--stack", "backups"], {
      cwd: project.dir,
      env: project.env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 20 * 60_000,
    });
    return { code: 0, out, err: "" };
  } catch (e) {
    const x = e as { status: number; stdout: string; stderr: string };
    return { code: x.status, out: x.stdout, err: x.stderr };
  }
}

const backupsOf = async (vmid: number, storage = "local") =>
  api.data<{ volid: string; notes?: string; size: number }[]>("GET", `nodes/lab/storage/${storage}/content`, {
    content: "backup",
    vmid,
  });

function definition() {
  const d = iso.raw;
  const node = d.nodes[0];
  node.zfs.datasets = [
    ...node.zfs.datasets.map((x: any) => ({ ...x, protect: false })),
    // a backup storage far too small for a container: a failing backup, for real
    { name: `${iso.pool}/tiny-backups`, properties: { quota: "16M" }, protect: false },
  ];
  node.storage.push({ id: "tiny", type: "dir", path: `/${iso.pool}/tiny-backups`, content: ["backup"] });
  node.backup = { storage: "local" };
  node.backupJobs = [
    {
      id: "nightly",
      schedule: "02:30",
      storage: "local",
      guests: ["portainer", "data"],
      retention: { keepLast: 2 },
      notes: "{{guestname}} nightly",
    },
  ];
  d.guests[0].snapshots = { afterProvision: true, keep: 2 };
  d.guests.push({
    vmid: 220,
    name: "worker",
    template: "docker-golden",
    memory: 512,
    disk: { storage: "tank-lxc", size: 4 },
    network: [{ name: "eth0", bridge: iso.bridge, ip: "auto" }],
    // stateless: rebuilt without a backup
    backupBeforeReplace: false,
  });
}

beforeAll(async () => {
  definition();
  ({ lab, project, teardown } = await labStack({
    dir,
    iso,
    stackName: "backups",
    secrets: { portainerAdminPassword: "e2e-only" },
  }));
  api = new LabClient({ url: lab.apiUrl, token: `${lab.credentials.tokenId}=${lab.credentials.tokenSecret}` });
}, 30 * 60_000);

afterAll(() => teardown?.(), 15 * 60_000);

describe("day two on the lab", () => {
  it(
    "up takes Portainer's snapshot after its features and creates the backup job in the API",
    async () => {
      const up = await project.stack.up();
      expect(up.summary.result).toBe("succeeded");
      const snaps = (await api.data<{ name: string }[]>("GET", "nodes/lab/lxc/200/snapshot")).map((s) => s.name);
      expect(snaps).toHaveLength(2);
      expect(snaps[0]).toMatch(/^final-form-\d{8}-\d{6}$/);
      expect(snaps[1]).toBe("current");
      const job = await api.data<Record<string, unknown>>("GET", "cluster/backup/nightly");
      expect(job).toMatchObject({ id: "nightly", schedule: "02:30", storage: "local", vmid: "200,210", node: "lab", enabled: 1 });
      expect(job["prune-backups"]).toEqual({ "keep-last": 2 });
      expect(readFileSync(join(state, "pve", "jobs.cfg"), "utf8")).toMatch(/^vzdump: nightly\n\tschedule 02:30\n/);
      expect(changes((await project.stack.up()).summary.resourceChanges)).toEqual({});
    },
    30 * 60_000,
  );

  it(
    "phoenix rollback restores a deleted file from the snapshot, and up converges",
    async () => {
      expect(inCt(200, "cat /etc/docker/daemon.json").code).toBe(0);
      expect(inCt(200, "rm /etc/docker/daemon.json").code).toBe(0);
      const r = phoenix("rollback", "portainer");
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^rolled portainer \(vmid 200\) back to 'final-form-\d{8}-\d{6}' in /);
      expect(inCt(200, "cat /etc/docker/daemon.json").code).toBe(0);
      expect(lxc.state(200)).toBe("running");
      expect((await project.stack.up()).summary.result).toBe("succeeded");
      expect(changes((await project.stack.up()).summary.resourceChanges)).toEqual({});
    },
    15 * 60_000,
  );

  it(
    "a job changed through the API shows on refresh, up repairs it, and run-job backs its guests up now",
    async () => {
      await api.data("PUT", "cluster/backup/nightly", { schedule: "sat 04:00", "notes-template": "changed by hand" });
      await project.stack.refresh();
      const events: EngineEvent[] = [];
      const preview = await project.stack.preview({ onEvent: (e) => events.push(e) });
      // which resources the preview would update, with the keys that differ: the message when this fails
      const updates = events.flatMap((e) =>
        e.resourcePreEvent?.metadata.op === "update"
          ? [`${e.resourcePreEvent.metadata.urn.split("::").pop()} (${(e.resourcePreEvent.metadata.diffs ?? []).join(", ")})`]
          : [],
      );
      expect(preview.changeSummary.update, `updates: ${updates.join("; ")}`).toBe(1);
      expect(changes((await project.stack.up()).summary.resourceChanges)).toEqual({ update: 1 });
      expect(await api.data<Record<string, unknown>>("GET", "cluster/backup/nightly")).toMatchObject({
        schedule: "02:30",
        "notes-template": "{{guestname}} nightly",
      });
      const r = phoenix("run-job", "nightly");
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^job nightly on node 'lab': OK/);
      expect((await backupsOf(200)).map((b) => b.notes)).toEqual(["portainer nightly"]);
      expect((await backupsOf(210)).map((b) => b.notes)).toEqual(["data nightly"]);
      const listed = phoenix("backups");
      expect(listed.out).toMatch(/portainer\s+200\s+.*portainer nightly\s+local:backup\/vzdump-lxc-200-/);
    },
    15 * 60_000,
  );

  it(
    "a rebuilt golden template backs its clone up before deleting it, not the one that opted out; restore brings the file back",
    async () => {
      expect(inCt(200, "echo precious > /root/precious.txt").code).toBe(0);
      expect(inCt(220, "echo scratch > /root/scratch.txt").code).toBe(0);
      const from = audit().length;
      iso.raw.templates[1].features.docker.daemon["log-driver"] = "local";
      save();
      const up = await project.stack.up();
      expect(up.summary.result).toBe("succeeded");
      const calls = audit().slice(from);
      const vzdumps = calls.flatMap((c, i) =>
        c.method === "POST" && c.path === "/nodes/lab/vzdump" ? [{ i, vmid: c.params.vmid }] : [],
      );
      const deletes = calls.flatMap((c, i) =>
        c.method === "DELETE" && /^\/nodes\/lab\/lxc\/\d+$/.test(c.path) ? [{ i, path: c.path }] : [],
      );
      // the clone is backed up, then deleted; every backup comes before any deletion; the template and the worker are not
      expect(vzdumps.map((v) => v.vmid)).toEqual(["200"]);
      expect(deletes.map((d) => d.path).sort()).toEqual(["/nodes/lab/lxc/200", "/nodes/lab/lxc/220", "/nodes/lab/lxc/901"]);
      expect(Math.max(...vzdumps.map((v) => v.i))).toBeLessThan(Math.min(...deletes.map((d) => d.i)));
      const guardBackups = (await backupsOf(200)).filter((b) => b.notes === `${GUARD_NOTES} portainer`);
      expect(guardBackups).toHaveLength(1);
      expect(await backupsOf(220)).toEqual([]);
      expect(inCt(200, "cat /root/precious.txt").code).not.toBe(0);
      expect(inCt(220, "cat /root/scratch.txt").code).not.toBe(0);
      expect(phoenix("backups", "portainer").out).toMatch(/before deletion\s+local:backup\/vzdump-lxc-200-/);

      const t0 = Date.now();
      const r = phoenix("restore", "portainer", "--backup", guardBackups[0]!.volid);
      const restoreSeconds = (Date.now() - t0) / 1000;
      expect(r.code, r.err).toBe(0);
      expect(inCt(200, "cat /root/precious.txt").stdout).toBe("precious\n");
      // Portainer's Docker data came back with the rootfs
      expect(inCt(200, "docker inspect -f '{{.State.Running}}' portainer").stdout.trim()).toBe("true");
      const converge = await project.stack.up();
      expect(converge.summary.result).toBe("succeeded");
      expect(changes((await project.stack.up()).summary.resourceChanges)).toEqual({});
      expect(inCt(200, "cat /root/precious.txt").stdout).toBe("precious\n");
      console.log(`phoenix restore of the provisioned Docker container (Portainer, CT 200): ${restoreSeconds.toFixed(1)} s`);
    },
    30 * 60_000,
  );

  it(
    "a backup that fails (the storage is full) stops up before anything is deleted, with the reason",
    async () => {
      iso.raw.nodes[0].backup = { storage: "tiny" };
      save();
      expect(changes((await project.stack.up()).summary.resourceChanges)).toMatchObject({ update: expect.any(Number) });
      expect(inCt(210, "echo keep > /root/keep.txt").code).toBe(0);
      const from = audit().length;
      // a privilege change replaces the container (Proxmox cannot change it in place)
      iso.raw.guests[1].unprivileged = false;
      save();
      const failed = await project.stack.up().then(
        () => "succeeded",
        (e: Error) => e.message,
      );
      expect(failed).toMatch(
        /backing up data \(CT 210 on node 'lab'\) to 'tiny' failed: .*(Disk quota exceeded|No space left on device)/,
      );
      expect(failed).toMatch(/nothing was deleted/);
      expect(
        audit()
          .slice(from)
          .filter((c) => c.method === "DELETE" && c.path.startsWith("/nodes/lab/lxc/")),
      ).toEqual([]);
      expect(inCt(210, "cat /root/keep.txt").stdout).toBe("keep\n");
      // back to a storage with room, and the change undone: nothing to replace any more
      iso.raw.nodes[0].backup = { storage: "local" };
      delete iso.raw.guests[1].unprivileged;
      save();
      expect((await project.stack.up()).summary.result).toBe("succeeded");
      expect(inCt(210, "cat /root/keep.txt").stdout).toBe("keep\n");
    },
    20 * 60_000,
  );

  it(
    "figures: a vzdump of the provisioned Docker container in snapshot mode",
    async () => {
      const t0 = Date.now();
      const upid = await api.data<string>("POST", "nodes/lab/vzdump", {
        vmid: 200,
        storage: "local",
        mode: "snapshot",
        compress: "zstd",
      });
      const status = await api.waitTask(upid, 200, 20 * 60_000);
      const seconds = (Date.now() - t0) / 1000;
      expect(status.exitstatus).toBe("OK");
      const newest = (await backupsOf(200)).sort((a, b) => (a.volid < b.volid ? 1 : -1))[0]!;
      console.log(
        `vzdump of the provisioned Docker container (Portainer, CT 200): ${seconds.toFixed(1)} s, ${(newest.size / 1024 / 1024).toFixed(1)} MiB`,
      );
    },
    20 * 60_000,
  );

  it(
    "destroy backs every guest up before it deletes any",
    async () => {
      const from = audit().length;
      await project.stack.destroy();
      const calls = audit().slice(from);
      const vzdumps = calls.flatMap((c, i) =>
        c.method === "POST" && c.path === "/nodes/lab/vzdump" ? [{ i, vmid: c.params.vmid }] : [],
      );
      const deletes = calls.flatMap((c, i) => (c.method === "DELETE" && /^\/nodes\/lab\/lxc\/\d+$/.test(c.path) ? [i] : []));
      expect(vzdumps.map((v) => v.vmid).sort()).toEqual(["200", "210"]);
      expect(Math.max(...vzdumps.map((v) => v.i))).toBeLessThan(Math.min(...deletes));
      expect(await api.data<unknown[]>("GET", "nodes/lab/lxc")).toEqual([]);
      expect(await api.data<unknown[]>("GET", "cluster/backup")).toEqual([]);
      expect((await backupsOf(210)).some((b) => b.notes === `${GUARD_NOTES} data`)).toBe(true);
    },
    20 * 60_000,
  );
});
