// The lab's host layer, for real: zfs-fuse pools on sparse files, a Linux bridge, the node's sshd (a cluster's node
// sshds and the /etc/pve their sessions see), and the debootstrap base template. Needs root (as CI and the demo run).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withSession } from "../../provisioners/engine/ssh";
import { BASE_TEMPLATE_FILE, ensureBaseTarball, installTemplate } from "../../lab/host/base-template";
import { bridgeExists, ensureBridge, removeBridge } from "../../lab/host/bridge";
import { ok, run } from "../../lab/host/run";
import { ensureNodeSshd, stopNodeSshd } from "../../lab/host/sshd";
import { etcPveView } from "../../lab/etc-pve-view";
import { etcPveInUse, linkEtcPve } from "../../lab/lab";
import {
  destroyDataset,
  destroyPool,
  ensurePool,
  ensureZfsDaemon,
  listDatasets,
  poolExists,
  stopZfsDaemon,
  zfsReady,
} from "../../lab/host/zfs";
import { freePort } from "../support/sshd";

const ROOT = join(__dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "phoenix-lab-host-"));
const tag = Math.random().toString(36).slice(2, 7);

beforeAll(() => {
  execFileSync(
    "bash",
    [join(ROOT, "scripts", "ensure-apt.sh"), "zfs-fuse", "openssh-server", "debootstrap", "zstd", "iproute2"],
    { stdio: "inherit", timeout: 600_000 },
  );
}, 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("zfs", () => {
  const pool = `phxlab${tag}`;
  let startedDaemon = false;
  afterAll(async () => {
    await destroyPool(pool);
    if (startedDaemon) await stopZfsDaemon(join(dir, "zfs"));
  }, 60_000);

  it("creates a pool on a sparse file, datasets on it, and removes them", async () => {
    startedDaemon = !zfsReady();
    await ensureZfsDaemon(join(dir, "zfs"));
    ensurePool(pool, join(dir, "zfs"), 256 * 1024 * 1024);
    ensurePool(pool, join(dir, "zfs"), 256 * 1024 * 1024); // idempotent
    expect(poolExists(pool)).toBe(true);
    expect(run("zpool", ["list", "-H", "-o", "name,health", pool]).stdout.trim()).toBe(`${pool}\tONLINE`);
    run("zfs", ["create", "-o", "quota=64M", `${pool}/data`]);
    run("zfs", ["snapshot", `${pool}/data@base`]);
    run("zfs", ["clone", `${pool}/data@base`, `${pool}/copy`]);
    expect(listDatasets(pool)).toEqual([pool, `${pool}/copy`, `${pool}/data`, `${pool}/data@base`]);
    await destroyDataset(`${pool}/copy`);
    await destroyDataset(`${pool}/data`, { recursive: true });
    expect(listDatasets(pool)).toEqual([pool]);
    await destroyPool(pool);
    expect(poolExists(pool)).toBe(false);
  }, 120_000);
});

describe("bridge", () => {
  const name = `phxbr${tag}`;
  afterAll(() => removeBridge(name));

  it("holds the gateway address, idempotently, and goes away", () => {
    ensureBridge(name, "10.251.7.1/24");
    ensureBridge(name, "10.251.7.1/24");
    const addrs = run("ip", ["-o", "-4", "addr", "show", "dev", name]).stdout.trim().split("\n");
    expect(addrs).toHaveLength(1);
    expect(addrs[0]).toContain("inet 10.251.7.1/24");
    removeBridge(name);
    expect(bridgeExists(name)).toBe(false);
  });
});

describe("node sshd", () => {
  const sshDir = join(dir, "ssh");
  afterAll(() => stopNodeSshd(sshDir));

  it("lets the provisioning engine in as root with the lab's key, pinned to the lab's host key", async () => {
    const port = await freePort();
    const keys = await ensureNodeSshd({ port, dir: sshDir });
    const again = await ensureNodeSshd({ port, dir: sshDir }); // keeps the running daemon and its keys
    expect(again).toEqual(keys);
    const out = await withSession(
      { host: "127.0.0.1", port, user: "root", privateKey: keys.clientKey, hostKey: keys.hostKey },
      (s) => s.exec("id -u"),
    );
    expect(out.code).toBe(0);
    expect(out.stdout.trim()).toBe("0");
    await stopNodeSshd(sshDir);
    expect(ok("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${port}`])).toBe(false);
  }, 60_000);
});

describe("a cluster's node sshds", () => {
  const lab = join(dir, "cluster");
  const cluster = ["pve1", "pve2"];
  const sshDirs = [join(lab, "ssh"), join(lab, "nodes", "pve2", "ssh")];
  const madeEtcPve = !existsSync("/etc/pve");
  afterAll(async () => {
    for (const d of sshDirs) await stopNodeSshd(d);
    // as `lab down` leaves it: gone unless another lab's sshd still shows its own there
    if (madeEtcPve && !etcPveInUse() && readdirSync("/etc/pve").length === 0) rmdirSync("/etc/pve");
  });

  it("show every session the cluster's /etc/pve as pmxcfs does, the own node's configs at lxc and local", async () => {
    linkEtcPve(lab);
    const conf = (d: string, vmid: number) => {
      mkdirSync(join(d, "lxc"), { recursive: true });
      writeFileSync(join(d, "lxc", `${vmid}.conf`), `hostname: ct${vmid}\n`);
    };
    conf(join(lab, "pve"), 100);
    conf(join(lab, "nodes", "pve2", "pve"), 250);
    mkdirSync(join(lab, "pve", "firewall"), { recursive: true });
    writeFileSync(join(lab, "pve", "firewall", "cluster.fw"), "[OPTIONS]\nenable: 1\n");
    const nodes: Parameters<typeof withSession>[0][] = [];
    for (const [i, node] of cluster.entries()) {
      const port = await freePort();
      const keys = await ensureNodeSshd({
        port,
        dir: sshDirs[i]!,
        labDir: lab,
        etcPve: etcPveView(lab, cluster, node),
        ...(i > 0 ? { node } : {}),
      });
      nodes.push({ host: "127.0.0.1", port, user: "root", privateKey: keys.clientKey, hostKey: keys.hostKey });
    }
    const on = async (i: number, script: string) => {
      const r = await withSession(nodes[i]!, (s) => s.exec(script));
      expect(r.stderr).toBe("");
      return r.stdout.trim().split("\n");
    };

    // node 2: node 1's config under nodes/pve1/lxc, its own at lxc and local/lxc, the cluster's firewall file
    expect(
      await on(
        1,
        "cat /etc/pve/nodes/pve1/lxc/100.conf; ls /etc/pve/nodes/pve2/lxc /etc/pve/lxc /etc/pve/local/lxc; " +
          "cat /etc/pve/firewall/cluster.fw; echo 'hostname: ct251' > /etc/pve/lxc/251.conf",
      ),
    ).toEqual([
      "hostname: ct100",
      "/etc/pve/local/lxc:",
      "250.conf",
      "",
      "/etc/pve/lxc:",
      "250.conf",
      "",
      "/etc/pve/nodes/pve2/lxc:",
      "250.conf",
      "[OPTIONS]",
      "enable: 1",
    ]);
    // its write through /etc/pve/lxc lands in its own config directory, which node 1 sees at once
    expect(readdirSync(join(lab, "nodes", "pve2", "pve", "lxc")).sort()).toEqual(["250.conf", "251.conf"]);
    expect(readdirSync(join(lab, "pve", "lxc"))).toEqual(["100.conf"]);
    expect(await on(0, "ls /etc/pve/lxc /etc/pve/nodes/pve2/lxc; echo 'hostname: ct101' > /etc/pve/lxc/101.conf")).toEqual([
      "/etc/pve/lxc:",
      "100.conf",
      "",
      "/etc/pve/nodes/pve2/lxc:",
      "250.conf",
      "251.conf",
    ]);
    expect(readdirSync(join(lab, "pve", "lxc")).sort()).toEqual(["100.conf", "101.conf"]);
    expect(await on(1, "cat /etc/pve/nodes/pve1/lxc/101.conf")).toEqual(["hostname: ct101"]);

    // the host's side: /etc/pve empty, no mount of the views under the lab's directory, the mount points empty
    expect(readdirSync("/etc/pve")).toEqual([]);
    expect(
      run("findmnt", ["-rno", "TARGET"])
        .stdout.split("\n")
        .filter((t) => t.startsWith(lab)),
    ).toEqual([]);
    expect(readdirSync(join(lab, "pve", "nodes", "pve2", "lxc"))).toEqual([]);
  }, 60_000);
});

describe("base template", () => {
  it(
    "is a cached Debian 12 rootfs with systemd and sshd, without host keys, placed like Proxmox does",
    () => {
      const tarball = ensureBaseTarball((s) => console.log(s));
      const listing = run("tar", ["--zstd", "-tf", tarball]).stdout.split("\n");
      expect(listing).toContain("./usr/sbin/sshd");
      expect(listing).toContain("./usr/lib/systemd/systemd");
      expect(listing.filter((f) => f.startsWith("./etc/ssh/ssh_host_"))).toEqual([]);
      const placed = installTemplate(tarball, join(dir, "storage", "local"));
      expect(placed).toBe(join(dir, "storage", "local", "template", "cache", BASE_TEMPLATE_FILE));
    },
    30 * 60_000,
  );
});
