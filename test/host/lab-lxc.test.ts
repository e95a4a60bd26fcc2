// Real LXC containers the way the lab runs them: rootfs on a zfs-fuse dataset extracted from the base
// template, a veth on a bridge the test creates, systemd and sshd booting inside, reachable over SSH at
// their own address; a second container cloned from a ZFS snapshot of the first. Needs root.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { withSession } from "../../provisioners/engine/ssh";
import { ensureAptProxy, stopAptProxy } from "../../lab/host/apt-proxy";
import { ensureBaseTarball } from "../../lab/host/base-template";
import { ensureBridge, removeBridge } from "../../lab/host/bridge";
import { type ContainerSpec, Lxc, lxcConfig } from "../../lab/host/lxc";
import { run } from "../../lab/host/run";
import { confPath, pct } from "../../lab/node/pct";
import { installPct, removePct } from "../../lab/lab";
import { ensureNodeSshd, stopNodeSshd } from "../../lab/host/sshd";
import { runScript } from "../../provisioners/engine/run-script";
import { freePort } from "../support/sshd";
import { destroyDataset, destroyPool, ensurePool, ensureZfsDaemon, stopZfsDaemon, zfsReady } from "../../lab/host/zfs";

const ROOT = join(__dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "phoenix-lab-lxc-"));
const tag = Math.random().toString(36).slice(2, 7);
const pool = `phxct${tag}`;
const bridge = `phxbr${tag}`;
const net = `10.252.${Math.floor(Math.random() * 200) + 20}`;
let lxc: Lxc;
let startedDaemon = false;
let clientKey: string;
let aptProxy: string;

beforeAll(async () => {
  execFileSync(
    "bash",
    [join(ROOT, "scripts", "ensure-apt.sh"), "lxc", "zfs-fuse", "debootstrap", "zstd", "openssh-client", "apt-cacher-ng"],
    { stdio: "inherit", timeout: 600_000 },
  );
  startedDaemon = !zfsReady();
  await ensureZfsDaemon(join(dir, "zfs"));
  ensurePool(pool, join(dir, "zfs"), 1024 * 1024 * 1024);
  ensureBridge(bridge, `${net}.1/24`);
  aptProxy = await ensureAptProxy(join(dir, "state"), `${net}.1`);
  lxc = new Lxc(join(dir, "state", "lxc"));
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "key")]);
  clientKey = readFileSync(join(dir, "key"), "utf8");
}, 15 * 60_000);

afterAll(async () => {
  await stopNodeSshd(join(dir, "state", "ssh"));
  removePct(join(dir, "state"));
  for (const v of lxc?.list() ?? []) lxc.remove(v);
  lxc?.removeRunDir();
  await stopAptProxy(join(dir, "state"));
  await destroyDataset(`${pool}/subvol-301-disk-0`);
  await destroyDataset(`${pool}/subvol-300-disk-0`, { recursive: true });
  await destroyDataset(`${pool}/data`);
  await destroyPool(pool);
  if (startedDaemon) await stopZfsDaemon(join(dir, "zfs"));
  removeBridge(bridge);
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

const spec = (vmid: number, ip: string): ContainerSpec => ({
  vmid,
  hostname: `ct${vmid}`,
  rootfs: `/${pool}/subvol-${vmid}-disk-0`,
  memoryMiB: 512,
  cores: 1,
  nets: [
    {
      name: "eth0",
      bridge,
      hwaddr: `52:54:00:00:${(vmid % 256).toString(16).padStart(2, "0")}:01`,
      ip: `${ip}/24`,
      gw: `${net}.1`,
    },
  ],
  nameservers: [`${net}.1`],
  mounts: [{ source: `/${pool}/data`, path: "/data" }],
  aptProxy,
});

it("writes an LXC config that says what the spec says", () => {
  const text = lxcConfig(spec(300, `${net}.30`));
  expect(text).toContain(`lxc.net.0.link = ${bridge}`);
  expect(text).toContain(`lxc.net.0.ipv4.address = ${net}.30/24`);
  expect(text).toContain("lxc.cgroup.memory.limit_in_bytes = 536870912");
  expect(text).toContain(`lxc.mount.entry = /${pool}/data data none bind,create=dir 0 0`);
});

it(
  "boots a container from the base template on ZFS, reachable over SSH at its own address, and clones it",
  async () => {
    run("zfs", ["create", `${pool}/data`]);
    run("zfs", ["create", `${pool}/subvol-300-disk-0`]);
    run("tar", ["--zstd", "-xf", ensureBaseTarball(), "-C", `/${pool}/subvol-300-disk-0`], { timeoutMs: 600_000 });
    const s300 = spec(300, `${net}.30`);
    lxc.configure(s300);
    lxc.setRootAccess(s300.rootfs, [readFileSync(join(dir, "key.pub"), "utf8").trim()], "not-used-for-login");
    await lxc.start(300);
    expect(lxc.state(300)).toBe("running");

    const conn = { host: `${net}.30`, user: "root", privateKey: clientKey, dialErrorLimit: 60, perDialTimeoutMs: 5000 };
    const out = await withSession(conn, (s) =>
      s.exec(
        "hostname; ip -4 -o addr show dev eth0 | awk '{print $4}'; systemctl is-system-running --wait || true; test -d /data && echo has-data",
      ),
    );
    expect(out.stdout.split("\n").slice(0, 2)).toEqual(["ct300", `${net}.30/24`]);
    expect(out.stdout).toContain("has-data");
    expect(lxc.exec(300, ["cat", "/etc/resolv.conf"]).stdout).toContain(`nameserver ${net}.1`);
    // Debian's packages reach the guest through the lab's apt proxy, the only address it can talk to.
    const apt = lxc.exec(300, ["apt-get", "update"]);
    expect(apt.code, apt.stderr).toBe(0);
    // apt-get update exits 0 even when every index failed: look for what it fetched, and for no error.
    expect(apt.stdout).toMatch(/^(Get|Hit):\d+ http:\/\/deb\.debian\.org\/debian bookworm InRelease/m);
    expect(apt.stdout + apt.stderr).not.toMatch(/^(Err|E|W):/m);

    // The node's `pct` on the same container: status, config, exec, push.
    mkdirSync(join(dir, "state", "pve", "lxc"), { recursive: true });
    writeFileSync(
      confPath(join(dir, "state"), 300),
      `arch: amd64\nhostname: ct300\nrootfs: tank-lxc:subvol-300-disk-0,size=1G\n\n[before]\nhostname: old\n`,
    );
    const said: string[] = [];
    const ctx = {
      stateDir: join(dir, "state"),
      node: "pve2",
      out: (x: string) => said.push(x),
      err: (x: string) => said.push(`ERR ${x}`),
    };
    expect(await pct(["status", "300"], ctx)).toBe(0);
    expect(await pct(["config", "300"], ctx)).toBe(0);
    expect(said).toEqual(["status: running", "arch: amd64", "hostname: ct300", "rootfs: tank-lxc:subvol-300-disk-0,size=1G"]);
    expect(await pct(["frobnicate", "300"], ctx)).toBe(255);
    // a container this node does not have: Proxmox's words, with the node's name
    expect(await pct(["status", "301"], ctx)).toBe(255);
    expect(said.at(-1)).toBe("ERR Configuration file 'nodes/pve2/lxc/301.conf' does not exist");

    // The engine's in-container transport: SSH to the node, then `pct exec` into the guest; secrets ride stdin.
    const port = await freePort();
    const node = await ensureNodeSshd({ port, dir: join(dir, "state", "ssh") });
    installPct(join(dir, "state"));
    const inside = await withSession({ host: "127.0.0.1", port, privateKey: node.clientKey, hostKey: node.hostKey }, (s) =>
      runScript(s, 'hostname; [ "$TOKEN" = s3cret-value ] && echo token-ok; cat /proc/1/comm', {
        inContainer: 300,
        secretsEnv: { TOKEN: "s3cret-value" },
      }),
    );
    expect(inside.stdout.trim().split("\n")).toEqual(["ct300", "token-ok", "systemd"]);

    // pct push copies bytes as they are (binary included), with the mode asked for.
    const blob = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
    writeFileSync(join(dir, "blob"), blob);
    expect(await pct(["push", "300", join(dir, "blob"), "/opt/phx/blob", "--perms", "0600"], ctx)).toBe(0);
    const pushed = lxc
      .exec(300, ["sh", "-c", "sha256sum /opt/phx/blob | cut -d' ' -f1; stat -c %a /opt/phx/blob"])
      .stdout.trim()
      .split("\n");
    expect(pushed).toEqual([createHash("sha256").update(blob).digest("hex"), "600"]);
    // `pct template` runs the API's own conversion (see test/e2e-dev-stack): without the API it says so.
    const before = readFileSync(confPath(join(dir, "state"), 300), "utf8");
    expect(await pct(["template", "300"], ctx)).toBe(255);
    expect(said.at(-1)).toBe("ERR the lab's API is not running (`phoenix lab up` starts it)");
    expect(readFileSync(confPath(join(dir, "state"), 300), "utf8")).toBe(before);
    expect(lxc.state(300)).toBe("running");
    lxc.stop(300);
    run("zfs", ["snapshot", `${pool}/subvol-300-disk-0@__base__`]);

    // Clone, as the lab does it: a ZFS clone of the template's @__base__ snapshot.
    run("zfs", ["clone", `${pool}/subvol-300-disk-0@__base__`, `${pool}/subvol-301-disk-0`]);
    const s301 = spec(301, `${net}.31`);
    lxc.configure(s301);
    await lxc.start(301);
    const cloned = await withSession({ ...conn, host: `${net}.31` }, (s) => s.exec("hostname"));
    expect(cloned.stdout.trim()).toBe("ct301");
    lxc.stop(301);
    expect(lxc.state(301)).toBe("stopped");
  },
  10 * 60_000,
);
