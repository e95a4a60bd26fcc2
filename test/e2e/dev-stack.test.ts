// End to end: stacks/dev.yaml converged on the lab by the real engine (Automation API, the built
// toolchain, the real proxmoxve provider talking to the lab's Proxmox API), with real LXC containers on
// zfs-fuse, the node's sshd and pct. The definition gets its own pool, bridge, addresses and ports, so a
// running demo lab is left alone. The in-guest features themselves are asserted in e2e-features.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabClient } from "../../lab/pve/client";
import { Lxc } from "../../lab/host/lxc";
import { run } from "../../lab/host/run";
import type { LabUp } from "../../lab/lab";
import type { PulumiProject } from "../support/pulumi-project";
import { withSession } from "../../provisioners/engine/ssh";
import { isolatedDevDefinition } from "../support/lab-definition";
import { containerHostUids } from "../support/lab-ps";
import { labStack } from "../support/lab-stack";

const dir = mkdtempSync(join(tmpdir(), "phoenix-e2e-"));
const state = join(dir, "state");
const iso = isolatedDevDefinition(dir);
const shared = `${iso.pool}/shared-data`;
const disks = `${iso.pool}/lxc-disks`;
let lab: LabUp;
let project: PulumiProject;
let api: LabClient;
let teardown: () => Promise<void>;
const lxc = new Lxc(join(state, "lxc"));

const zfsGet = (prop: string, ds: string) => run("zfs", ["get", "-H", "-p", "-o", "value", prop, ds]).stdout.trim();
const changes = (c: Record<string, number> | undefined) =>
  Object.fromEntries(Object.entries(c ?? {}).filter(([op]) => op !== "same" && op !== "read"));
const ctStatus = (vmid: number) =>
  api.data<{ status: string; template?: number; maxmem: number }>("GET", `nodes/lab/lxc/${vmid}/status/current`);
const ctConfig = (vmid: number) => api.data<Record<string, unknown>>("GET", `nodes/lab/lxc/${vmid}/config`);
const sshTo = (ip: string, command: string) =>
  withSession({ host: ip, privateKey: lab.sshPrivateKey, dialErrorLimit: 30, perDialTimeoutMs: 5000 }, (s) => s.exec(command));
/** What the API was asked to change since line `from` of its audit log. */
const writesSince = (from: number) =>
  readFileSync(join(state, "api", "audit.jsonl"), "utf8")
    .trim()
    .split("\n")
    .slice(from)
    .map((l) => JSON.parse(l) as { method: string; path: string; status: number })
    .filter((r) => r.method !== "GET");
const auditLines = () =>
  readFileSync(join(state, "api", "audit.jsonl"), "utf8")
    .trim()
    .split("\n").length;

beforeAll(async () => {
  iso.raw.nodes[0].zfs.datasets = iso.raw.nodes[0].zfs.datasets.map((d: any) => ({ ...d, protect: false }));
  ({ lab, project, teardown } = await labStack({ dir, iso, stackName: "e2e", secrets: { portainerAdminPassword: "e2e-only" } }));
  api = new LabClient({ url: lab.apiUrl, token: `${lab.credentials.tokenId}=${lab.credentials.tokenSecret}` });
}, 30 * 60_000);

afterAll(() => teardown?.(), 180_000);

describe("the dev stack on the lab, converged by pulumi", () => {
  let dataIp: string;

  it(
    "up creates everything: containers running and reachable over SSH at their IPs, datasets with their properties, mounted",
    async () => {
      const up = await project.stack.up();
      expect(up.summary.result).toBe("succeeded");
      const outputs = (await project.stack.outputs()).guests!.value as Record<string, { vmid: number; addresses: string[] }>;
      expect(Object.keys(outputs).sort()).toEqual(["data", "docker-golden", "portainer"]);
      dataIp = outputs.data!.addresses[0]!;
      expect(dataIp).toMatch(new RegExp(`^${iso.net.replace(/\./g, "\\.")}\\.1\\d\\d$`));

      expect((await ctStatus(901)).template).toBe(1);
      expect((await ctStatus(200)).status).toBe("running");
      expect((await ctStatus(210)).status).toBe("running");
      expect(lxc.state(200)).toBe("running");
      // 200 is a linked clone of the golden template's base volume, as on a Proxmox ZFS storage.
      expect(String((await ctConfig(200)).rootfs)).toMatch(/^tank-lxc:basevol-901-disk-0\/subvol-200-disk-0,size=4G$/);
      expect(zfsGet("origin", `${disks}/subvol-200-disk-0`)).toBe(`${disks}/basevol-901-disk-0@__base__`);

      const portainer = await sshTo(`${iso.net}.10`, "hostname; ip -4 -o addr show dev eth0 | awk '{print $4}'");
      expect(portainer.stdout.trim().split("\n")).toEqual(["portainer", `${iso.net}.10/24`]);
      const data = await sshTo(dataIp, "hostname; findmnt -n -o SOURCE /data; cat /sys/fs/cgroup/memory/memory.limit_in_bytes");
      // The dataset, seen by this unprivileged container through its view (lab/host/fuse-view.ts, named by its path).
      expect(data.stdout.trim().split("\n")).toEqual(["data", `/${shared}`, String(512 * 1024 ** 2)]);

      // Unprivileged, as the definition's default says: ps on the host shows every process as uid 100000+.
      for (const vmid of [200, 210]) {
        expect((await ctConfig(vmid)).unprivileged).toBe(1);
        const uids = containerHostUids(lxc.lxcPath, vmid);
        expect(uids.length).toBeGreaterThan(2);
        expect(Math.min(...uids)).toBeGreaterThanOrEqual(100000);
      }
      // Docker in the unprivileged Portainer container (nesting + keyctl): the server runs, on overlay2.
      const docker = await sshTo(
        `${iso.net}.10`,
        "docker info -f '{{.Driver}}'; docker inspect -f '{{.State.Running}}' portainer",
      );
      expect(docker.stdout.trim().split("\n")).toEqual(["overlay2", "true"]);
      // mountPoints[].owner { uid: 1000, gid: 1000 }: the dataset's directory is host 101000:101000, so container user
      // 1000 may write there and another user may not.
      expect(run("stat", ["-c", "%u:%g", `/${shared}`]).stdout.trim()).toBe("101000:101000");
      const owner = await sshTo(
        dataIp,
        "useradd -u 1000 alice && useradd -u 1001 bob; stat -c %u:%g /data; " +
          "su -s /bin/sh alice -c 'echo a > /data/alice' && echo alice-wrote; su -s /bin/sh bob -c 'echo b > /data/bob' || echo bob-refused",
      );
      expect(owner.stdout.trim().split("\n")).toEqual(["1000:1000", "alice-wrote", "bob-refused"]);

      expect(zfsGet("quota", shared)).toBe(String(1024 ** 3));
      expect(zfsGet("recordsize", shared)).toBe(String(128 * 1024));
      expect(zfsGet("compression", disks)).toBe("on");
    },
    20 * 60_000,
  );

  it(
    "a second up reports no changes and asks the API to change nothing",
    async () => {
      const from = auditLines();
      const again = await project.stack.up();
      expect(changes(again.summary.resourceChanges)).toEqual({});
      expect(writesSince(from)).toEqual([]);
    },
    10 * 60_000,
  );

  it(
    "a container's memory and a dataset's quota change in place, and the lab shows the new values",
    async () => {
      writeFileSync(
        project.definition,
        iso
          .text()
          .replace("quota: 1G", "quota: 2G")
          .replace(/(name: data\n(?:.*\n)*?\s+memory: )512/, "$1768"),
      );
      const r = await project.stack.up();
      expect(changes(r.summary.resourceChanges)).toEqual({ update: 2 });
      expect(zfsGet("quota", shared)).toBe(String(2 * 1024 ** 3));
      expect((await ctConfig(210)).memory).toBe(768);
      expect((await ctStatus(210)).maxmem).toBe(768 * 1024 ** 2);
      // applied to the running container, as Proxmox does: no restart
      expect((await sshTo(dataIp, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes")).stdout.trim()).toBe(
        String(768 * 1024 ** 2),
      );
    },
    10 * 60_000,
  );

  it(
    "drift: a stopped container and a changed dataset show on refresh, and up repairs both",
    async () => {
      lxc.stop(210);
      run("zfs", ["set", "quota=512M", shared]);
      const refreshed = await project.stack.refresh();
      expect(changes(refreshed.summary.resourceChanges)).toEqual({ update: 2 });
      const repaired = await project.stack.up();
      expect(changes(repaired.summary.resourceChanges)).toEqual({ update: 2 });
      expect((await ctStatus(210)).status).toBe("running");
      expect(zfsGet("quota", shared)).toBe(String(2 * 1024 ** 3));
      expect((await sshTo(dataIp, "hostname")).stdout.trim()).toBe("data");
    },
    10 * 60_000,
  );

  it(
    "a new address for the node (ssh.host) updates in place: nothing is replaced or deleted, datasets keep their data",
    async () => {
      const mountpoint = zfsGet("mountpoint", shared);
      writeFileSync(join(mountpoint, "keep-me"), "precious");
      const claim = zfsGet("phoenix:owner", shared);
      expect(claim).toMatch(/^e2e\//);
      // The same node, reached by name instead of by address.
      const moved = readFileSync(project.definition, "utf8").replace(/(\n\s+ssh:\n\s+host: )127\.0\.0\.1\n/, "$1localhost\n");
      expect(moved).toMatch(/\n\s+ssh:\n\s+host: localhost\n/);
      writeFileSync(project.definition, moved);
      const preview = await project.stack.preview();
      const ops = Object.keys(changes(preview.changeSummary));
      expect(ops.filter((op) => op !== "update")).toEqual([]);
      const r = await project.stack.up();
      expect(r.summary.result).toBe("succeeded");
      expect(Object.keys(changes(r.summary.resourceChanges)).filter((op) => op !== "update")).toEqual([]);
      expect(readFileSync(join(mountpoint, "keep-me"), "utf8")).toBe("precious");
      expect(zfsGet("phoenix:owner", shared)).toBe(claim);
      expect((await sshTo(dataIp, "cat /data/keep-me")).stdout).toBe("precious");
      const again = await project.stack.up();
      expect(changes(again.summary.resourceChanges)).toEqual({});
    },
    10 * 60_000,
  );

  it(
    "wrong credentials for the API fail clearly and change nothing",
    async () => {
      await project.setSecret("proxmoxRootPassword", "not-the-password");
      writeFileSync(
        project.definition,
        readFileSync(project.definition, "utf8").replace(/(name: data\n(?:.*\n)*?\s+memory: )768/, "$11024"),
      );
      const from = auditLines();
      const failed = await project.stack.up().then(
        () => "succeeded",
        (e: Error) => e.message,
      );
      expect(failed).toMatch(/authentication failure|401/);
      expect(writesSince(from).filter((w) => w.path !== "/access/ticket")).toEqual([]);
      expect((await ctConfig(210)).memory).toBe(768);
      // Recovery: the failed up left the wrong password in the provider's state and the refused update's inputs in
      // the container's (Terraform SDK behaviour), so: up (records the right password), refresh (sees the real
      // memory), up (applies the change).
      await project.setSecret("proxmoxRootPassword", lab.credentials.rootPassword);
      await project.stack.up();
      await project.stack.refresh();
      await project.stack.up();
      expect((await ctConfig(210)).memory).toBe(1024);
    },
    10 * 60_000,
  );

  it(
    "a corrupt lock file stops up with the file's path and the fix, before anything is touched",
    async () => {
      const lock = project.definition.replace(/\.yaml$/, ".lock.json");
      const good = readFileSync(lock, "utf8");
      writeFileSync(lock, good.slice(0, good.length / 2));
      const from = auditLines();
      const failed = await project.stack.up().then(
        () => "succeeded",
        (e: Error) => e.message,
      );
      writeFileSync(lock, good);
      expect(failed).toContain(`error: ${lock} is not valid JSON: `);
      expect(failed).toContain(`fix: restore ${lock} from version control, or delete it`);
      expect(failed).not.toMatch(/internal error|TypeError|SyntaxError: .* at /);
      expect(auditLines()).toBe(from);
    },
    10 * 60_000,
  );

  it(
    "a pinned API certificate that does not match stops up with both fingerprints; the provider sends nothing",
    async () => {
      const text = readFileSync(project.definition, "utf8");
      const wrong = "00:".repeat(31) + "00";
      writeFileSync(project.definition, text.replace(/fingerprint: .*/, `fingerprint: "${wrong}"`));
      const from = auditLines();
      const failed = await project.stack.up().then(
        () => "succeeded",
        (e: Error) => e.message,
      );
      writeFileSync(project.definition, text);
      expect(failed).toContain(`does not match the pinned fingerprint`);
      expect(failed).toContain(`expected (nodes[].api.fingerprint): ${wrong}`);
      expect(failed).toContain(`the node presented:                  ${lab.apiFingerprint}`);
      expect(auditLines()).toBe(from);
    },
    10 * 60_000,
  );

  it(
    "destroy removes everything: the lab holds no guest or dataset afterwards",
    async () => {
      await project.stack.destroy();
      expect(await api.data<unknown[]>("GET", "nodes/lab/lxc")).toEqual([]);
      expect(lxc.list()).toEqual([]);
      expect(run("zfs", ["list", "-H", "-o", "name", "-r", iso.pool]).stdout.trim().split("\n")).toEqual([iso.pool]);
    },
    10 * 60_000,
  );
});
