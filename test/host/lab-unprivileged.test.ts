// Unprivileged containers on the lab's real backend, through its API as a client drives Proxmox: created without
// `unprivileged` they are unprivileged (PVE 9.0), their rootfs is extracted with ids shifted by 100000, they run as
// host uid 100000+, keyctl answers ENOSYS unless allowed, devN nodes are made with mapped ids, a bind-mounted dataset is
// writable by a container user only once its owner is shifted, templates and clones keep all of it, custom lxc.idmap
// entries apply and are held to /etc/subgid (newgidmap), and `unprivileged: 0` is privileged. Needs root.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { LabClient } from "../../lab/pve/client";
import { labDown, labUp } from "../../lab/lab";
import { ok, run } from "../../lab/host/run";
import { Lxc } from "../../lab/host/lxc";
import { checkShape } from "../../definition/load";
import { isolatedDevDefinition } from "../support/lab-definition";
import { containerHostUids, containerInit } from "../support/lab-ps";

const dir = mkdtempSync(join(tmpdir(), "phoenix-lab-unpriv-"));
const iso = isolatedDevDefinition(dir);
const state = join(dir, "state");
const NODE = "lab";
const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const disks = `/${iso.pool}/lxc-disks`;
const owned = `/${iso.pool}/owned`;
let root: LabClient;
let subgidBefore: string;

beforeAll(async () => {
  subgidBefore = readFileSync("/etc/subgid", "utf8");
  const d = structuredClone(iso.raw);
  d.nodes[0].zfs.datasets = [];
  const shaped = checkShape(d);
  expect(shaped.problems).toEqual([]);
  await iso.assignPorts();
  const up = await labUp({ definition: shaped.definition!, stateDir: state, log: (s) => console.log(`lab: ${s}`) });
  const login = await new LabClient({ url: up.apiUrl }).data<{ ticket: string; CSRFPreventionToken: string }>(
    "POST",
    "access/ticket",
    { username: "root@pam", password: up.credentials.rootPassword },
  );
  root = new LabClient({ url: up.apiUrl, ticket: { ticket: login.ticket, csrf: login.CSRFPreventionToken } });
  run("zfs", ["create", `${iso.pool}/lxc-disks`]);
  run("zfs", ["create", `${iso.pool}/owned`]);
}, 20 * 60_000);

afterAll(async () => {
  await labDown(state);
  // Only the line this test added goes (lab up's root:100000:65536 stays, as on a Proxmox host).
  if (!/^root:33:1$/m.test(subgidBefore))
    writeFileSync("/etc/subgid", readFileSync("/etc/subgid", "utf8").replace(/^root:33:1\n/m, ""));
  rmSync(dir, { recursive: true, force: true });
}, 180_000);

const ids = (path: string) => {
  const st = statSync(path);
  return `${st.uid}:${st.gid}`;
};
const lxcPath = () => new Lxc(join(state, "lxc")).lxcPath;
const inCt = (vmid: number, script: string) =>
  run("lxc-attach", ["-P", lxcPath(), "-n", String(vmid), "--clear-env", "--", "/bin/sh", "-c", script], {
    allowFail: true,
  });
const initPid = (vmid: number) => containerInit(lxcPath(), vmid);
/** Host uids of the container's processes (its init and every process below it), as `ps` on the host shows them. */
const hostUids = (vmid: number) => containerHostUids(lxcPath(), vmid);
const net = (vmid: number) => `name=eth0,bridge=${iso.bridge},ip=${iso.net}.${vmid - 250}/24,gw=${iso.net}.1`;
/** An asynchronous call to its end (extracting a template takes a while here): the task's exit status. */
const task = async (method: string, path: string, params: Record<string, string | number> = {}) => {
  const upid = await root.data<string>(method, path, params);
  const { exitstatus } = await root.waitTask(upid, 200, 300_000);
  if (exitstatus !== "OK") console.log(`${method} ${path}: ${(await root.taskLog(upid)).join("\n")}`);
  return exitstatus;
};
const ok200 = async (p: Promise<string | undefined>) => expect(await p).toBe("OK");
const keyctl = (vmid: number) =>
  // keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1): syscall 250 on x86_64
  inCt(vmid, `perl -e '$r = syscall(250, 0, -3, 1); print $r < 0 ? "$!" : "ok"'`).stdout.trim();

it(
  "a container created without `unprivileged` is unprivileged, on a shifted rootfs, running as host uid 100000+",
  async () => {
    await ok200(
      task("POST", `nodes/${NODE}/lxc`, {
        vmid: 310,
        ostemplate: TEMPLATE,
        hostname: "u310",
        rootfs: "tank-lxc:2",
        net0: net(310),
        mp0: `${owned},mp=/data`,
        dev0: "/dev/net/tun,uid=1000,gid=1000,mode=0640",
        features: "nesting=1",
        "ssh-public-keys": run("sh", ["-c", `ssh-keygen -q -t ed25519 -N '' -f ${dir}/k && cat ${dir}/k.pub`]).stdout,
      }),
    );
    const conf = await root.data<Record<string, unknown>>("GET", `nodes/${NODE}/lxc/310/config`);
    expect(conf.unprivileged).toBe(1);
    const rootfs = `${disks}/subvol-310-disk-0`;
    // Extracted as Proxmox does for an unprivileged container: container uid N is host uid 100000+N.
    expect(ids(rootfs)).toBe("100000:100000");
    expect(ids(`${rootfs}/etc/shadow`)).toBe("100000:100042");
    expect(ids(`${rootfs}/usr/bin/passwd`)).toBe("100000:100000");
    expect(statSync(`${rootfs}/usr/bin/passwd`).mode & 0o7777).toBe(0o4755);
    expect(ids(`${rootfs}/root/.ssh/authorized_keys`)).toBe("100000:100000");
    expect(ids(`${rootfs}/etc/hostname`)).toBe("100000:100000");

    await ok200(task("POST", `nodes/${NODE}/lxc/310/status/start`));
    expect(
      readFileSync(`/proc/${initPid(310)}/uid_map`, "utf8")
        .trim()
        .split(/\s+/),
    ).toEqual(["0", "100000", "65536"]);
    await new Promise((r) => setTimeout(r, 3000));
    const uids = hostUids(310);
    expect(uids.length).toBeGreaterThan(2); // init, journald, sshd, …
    for (const uid of uids) expect(uid).toBeGreaterThanOrEqual(100000);
    // Inside, ids are the container's; its root may chown on its zfs-fuse rootfs (through the view), shifted on disk.
    expect(inCt(310, "stat -c %u:%g /etc/shadow; id -u").stdout.trim().split("\n")).toEqual(["0:42", "0"]);
    expect(inCt(310, "useradd -m -u 1000 alice && useradd -m -u 1001 bob && stat -c %u:%g /home/alice").stdout.trim()).toBe(
      "1000:1000",
    );
    expect(ids(`${rootfs}/home/alice`)).toBe("101000:101000");
    // keyctl is ENOSYS without features: keyctl=1, as Proxmox's seccomp profile has it.
    expect(keyctl(310)).toBe("Function not implemented");
    // dev0: a node with the host device's numbers, the container-side owner and mode asked for.
    expect(inCt(310, "stat -c '%u:%g %a %t:%T' /dev/net/tun").stdout.trim()).toBe("1000:1000 640 a:c8");
  },
  15 * 60_000,
);

it("a bind-mounted dataset is writable by a container user only once its owner is shifted to 100000+uid", async () => {
  const write = (user: string, file: string) => inCt(310, `su -s /bin/sh ${user} -c 'echo x > /data/${file}'`).code;
  // Owned by host root: nobody inside, so not even the container's root may write.
  expect(inCt(310, "stat -c %u:%g /data").stdout.trim()).toBe("65534:65534");
  expect(inCt(310, "echo x > /data/by-root").code).not.toBe(0);
  expect(write("alice", "a")).not.toBe(0);
  // What mountPoints[].owner: { uid: 1000, gid: 1000 } does on the node.
  run("chown", ["101000:101000", owned]);
  expect(inCt(310, "stat -c %u:%g /data").stdout.trim()).toBe("1000:1000");
  expect(write("alice", "a")).toBe(0);
  expect(write("bob", "b")).not.toBe(0);
  expect(ids(`${owned}/a`)).toBe("101000:101000");
});

it(
  "templates and clones keep the shift; a template frozen unprivileged gives unprivileged clones",
  async () => {
    await ok200(task("POST", `nodes/${NODE}/lxc/310/status/stop`));
    await root.data("PUT", `nodes/${NODE}/lxc/310/config`, { delete: "mp0,dev0", features: "nesting=1,keyctl=1" });
    await root.data("POST", `nodes/${NODE}/lxc/310/template`);
    for (let i = 0; i < 100 && !(await root.data<{ template?: number }>("GET", `nodes/${NODE}/lxc/310/config`)).template; i++)
      await new Promise((r) => setTimeout(r, 300));
    expect(ids(`${disks}/basevol-310-disk-0/etc/shadow`)).toBe("100000:100042");
    await ok200(task("POST", `nodes/${NODE}/lxc/310/clone`, { newid: 311, hostname: "linked" }));
    await ok200(task("POST", `nodes/${NODE}/lxc/310/clone`, { newid: 312, hostname: "full", full: 1, storage: "tank-lxc" }));
    for (const vmid of [311, 312]) {
      expect((await root.data<Record<string, unknown>>("GET", `nodes/${NODE}/lxc/${vmid}/config`)).unprivileged).toBe(1);
      await root.data("PUT", `nodes/${NODE}/lxc/${vmid}/config`, { net0: net(vmid) });
      await ok200(task("POST", `nodes/${NODE}/lxc/${vmid}/status/start`));
      for (const uid of hostUids(vmid)) expect(uid).toBeGreaterThanOrEqual(100000);
      expect(inCt(vmid, "stat -c %u:%g /etc/shadow /home/alice").stdout.trim().split("\n")).toEqual(["0:42", "1000:1000"]);
      expect(keyctl(vmid)).toBe("ok"); // keyctl=1 came with the template's config
    }
    expect(ids(`${disks}/subvol-312-disk-0/home/alice`)).toBe("101000:101000");
    // a full clone copies the rootfs and both clones start: well over vitest's 30 s default on a loaded 2-core machine
  },
  10 * 60_000,
);

it("custom lxc.idmap entries replace the default map, within root's /etc/subgid ranges (newgidmap holds them)", async () => {
  await ok200(task("POST", `nodes/${NODE}/lxc/312/status/stop`));
  const conf = join(state, "pve", "lxc", "312.conf");
  const lines = ["u 0 100000 65536", "g 0 100000 33", "g 33 33 1", "g 34 100034 65502"].map((m) => `lxc.idmap: ${m}`);
  writeFileSync(conf, readFileSync(conf, "utf8").replace(/\n*$/, "\n") + lines.join("\n") + "\n");
  const upid = await root.data<string>("POST", `nodes/${NODE}/lxc/312/status/start`);
  expect((await root.waitTask(upid)).exitstatus).toBe("startup for container '312' failed");
  expect((await root.taskLog(upid)).join("\n")).toMatch(/newgidmap: gid range \[33-34\) -> \[33-34\) not allowed/);
  writeFileSync("/etc/subgid", `${readFileSync("/etc/subgid", "utf8").replace(/\n*$/, "\n")}root:33:1\n`);
  await ok200(task("POST", `nodes/${NODE}/lxc/312/status/start`));
  const gidMap = readFileSync(`/proc/${initPid(312)}/gid_map`, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.trim().split(/\s+/));
  expect(gidMap).toEqual([
    ["0", "100000", "33"],
    ["33", "33", "1"],
    ["34", "100034", "65502"],
  ]);
  // A host file of gid 33 is the container's gid 33 (www-data) now.
  expect(inCt(312, "getent group 33 | cut -d: -f1").stdout.trim()).toBe("www-data");
});

it("`unprivileged: 0` makes a privileged container: host ids, processes of host root", async () => {
  await ok200(
    task("POST", `nodes/${NODE}/lxc`, {
      vmid: 313,
      ostemplate: TEMPLATE,
      hostname: "p313",
      rootfs: "tank-lxc:2",
      net0: net(313),
      unprivileged: 0,
    }),
  );
  expect(ids(`${disks}/subvol-313-disk-0/etc/shadow`)).toBe("0:42");
  await ok200(task("POST", `nodes/${NODE}/lxc/313/status/start`));
  expect(hostUids(313)).toContain(0);
  expect(
    readFileSync(`/proc/${initPid(313)}/uid_map`, "utf8")
      .trim()
      .split(/\s+/),
  ).toEqual(["0", "0", "4294967295"]);
  expect(keyctl(313)).toBe("ok");
});

it("down leaves no view of a container behind", async () => {
  const { runDir } = new Lxc(join(state, "lxc"));
  expect(run("pgrep", ["-f", `bindfs .*${runDir}`], { allowFail: true }).stdout).not.toBe("");
  await labDown(state);
  expect(run("pgrep", ["-f", `bindfs .*${runDir}`], { allowFail: true }).stdout).toBe("");
  expect(ok("grep", ["-q", runDir, "/proc/self/mountinfo"])).toBe(false);
  expect(existsSync(runDir)).toBe(false);
}, 180_000);
