// The day-two verbs of `phoenix` against the lab API (in-memory backend) over loopback HTTPS, with a stack context
// made from the bad-definition suite's base definition: listing backups, restoring, rolling back, running a job now,
// and what they say when there is nothing to do. The e2e test runs them on a real stack and the real backend.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupsCmd, restoreCmd, rollbackCmd, runJobCmd } from "../../cli/day-two";
import { main } from "../../cli/main";
import type { StackContext } from "../../cli/day-two-stack";
import { checkShape } from "../../definition/load";
import { type LabApi, startLabApi } from "../../lab/api/server";
import { LabClient } from "../../lab/pve/client";
import { MemoryBackend } from "../../lab/pve/memory-backend";
import { buildPlan } from "../../plan/plan";
import { validated } from "../../validate";
import { base } from "./validate/support";

const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
let dir: string;
let api: LabApi;
let pve: LabClient;
let ctx: StackContext;
const refreshed: string[][] = [];

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "phoenix-day-two-"));
  const backend = new MemoryBackend({
    storages: [
      { id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl", "iso", "backup", "snippets"] },
      { id: "tank-lxc", type: "zfspool", pool: "tank/lxc-disks", content: ["rootdir", "images"] },
    ],
    files: [{ volid: TEMPLATE, size: 1e8 }],
  });
  api = await startLabApi({ stateDir: dir, port: 0, node: "lab", tokens: [{ id: "root@pam!t", secret: "s" }], backend });
  pve = new LabClient({ url: api.url, token: "root@pam!t=s" });
  const d = base();
  const plan = buildPlan(validated(checkShape(d).definition!));
  ctx = {
    name: "test",
    plan,
    api: () => ({ endpoint: api.url, insecure: true, token: "root@pam!t=s" }),
    resourcesUnder: async (cs) =>
      cs.map((c) => `urn:pulumi:test::phoenix::phoenix:index:PhoenixHypervisor$phoenix:index:${c.type}::${c.name}`),
    refresh: async (urns) => void refreshed.push(urns),
  };
  expect(
    await pve.task("POST", "nodes/lab/lxc", {
      vmid: 200,
      ostemplate: TEMPLATE,
      hostname: "portainer",
      rootfs: "tank-lxc:4",
      start: 1,
    }),
  ).toBe("OK");
});

afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

const open = async () => ctx;

describe("phoenix backups / restore / rollback / run-job", () => {
  it("says so when there is nothing yet", async () => {
    const a = io();
    expect(await backupsCmd(["portainer", "--stack", "test"], a.io, open)).toBe(0);
    expect(a.out).toEqual(["no backups of portainer (vmid 200)"]);
    const b = io();
    expect(await restoreCmd(["portainer", "--stack", "test"], b.io, open)).toBe(1);
    expect(b.err).toEqual(["phoenix: no backup of portainer (vmid 200) on node 'lab'"]);
    const c = io();
    expect(await rollbackCmd(["portainer", "--stack", "test"], c.io, open)).toBe(1);
    expect(c.err).toEqual(["phoenix: portainer has no snapshot to roll back to"]);
  });

  it("runs a job now with its options, as the GUI's Run now does, and lists the backups it made", async () => {
    await pve.data("POST", "cluster/backup", {
      id: "nightly",
      schedule: "02:30",
      storage: "local",
      vmid: "200",
      "prune-backups": "keep-last=2",
      "notes-template": "{{guestname}} nightly",
      node: "lab",
    });
    const a = io();
    expect(await runJobCmd(["nightly", "--stack", "test"], a.io, open)).toBe(0);
    expect(a.out[0]).toMatch(/^job nightly on node 'lab': OK \(\d+\.\d s\)$/);
    expect(a.err[0]).toMatch(/^lab: INFO: Finished Backup of VM 200/);
    const b = io();
    expect(await backupsCmd(["--stack", "test"], b.io, open)).toBe(0);
    expect(b.out[0]).toMatch(/^GUEST\s+VMID\s+TAKEN\s+SIZE\s+KIND\s+VOLID$/);
    expect(b.out[1]).toMatch(
      /^portainer\s+200\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+[\d.]+ MiB\s+portainer nightly\s+local:backup\/vzdump-lxc-200-/,
    );
    const unknown = io();
    expect(await runJobCmd(["weekly", "--stack", "test"], unknown.io, open).catch((e: Error) => e.message)).toMatch(
      /No such job 'weekly'/,
    );
  });

  it("restores the newest backup over the running guest, starts it, and refreshes its resources", async () => {
    const a = io();
    expect(await restoreCmd(["portainer", "--stack", "test"], a.io, open)).toBe(0);
    expect(a.err).toContain("stopping portainer (CT 200)");
    expect(a.err.find((l) => l.startsWith("restoring"))).toMatch(
      /^restoring portainer \(CT 200\) from local:backup\/vzdump-lxc-200-.* onto storage 'tank-lxc'$/,
    );
    expect(a.out[0]).toMatch(/^restored portainer \(CT 200\) from local:backup\/.* in \d+\.\d s$/);
    expect(a.out[1]).toBe("run `pulumi up --stack test` to converge portainer again");
    expect(refreshed.at(-1)![0]).toMatch(/::portainer$/);
    expect((await pve.data<{ status: string }>("GET", "nodes/lab/lxc/200/status/current")).status).toBe("running");
  });

  it("rolls back to Phoenix's newest snapshot by default, or the one named", async () => {
    for (const name of ["final-form-20261124-100000", "final-form-20261125-100000", "manual"])
      expect(await pve.task("POST", "nodes/lab/lxc/200/snapshot", { snapname: name })).toBe("OK");
    const a = io();
    expect(await rollbackCmd(["portainer", "--stack", "test"], a.io, open)).toBe(1);
    // ZFS rolls back only to the most recent snapshot, and Proxmox says so
    expect(a.err[0]).toMatch(/can't rollback, 'final-form-20261125-100000' is not most recent snapshot/);
    const b = io();
    expect(await rollbackCmd(["portainer", "manual", "--stack", "test"], b.io, open)).toBe(0);
    expect(b.out[0]).toMatch(/^rolled portainer \(vmid 200\) back to 'manual' in/);
    const c = io();
    expect(await rollbackCmd(["portainer", "nope", "--stack", "test"], c.io, open)).toBe(1);
    expect(c.err[0]).toBe(
      "phoenix: portainer has no snapshot 'nope' (it has: final-form-20261124-100000, final-form-20261125-100000, manual)",
    );
  });

  it("refuses bad usage with exit 2, names unknown guests", async () => {
    const a = io();
    expect(await main(["restore", "portainer"], a.io)).toBe(2);
    expect(a.err[0]).toMatch(/missing --stack <name>/);
    expect(await main(["rollback", "--stack", "x"], io().io)).toBe(2);
    await expect(backupsCmd(["nosuch", "--stack", "test"], io().io, open)).rejects.toThrow(/no guest is named 'nosuch'/);
  });
});
