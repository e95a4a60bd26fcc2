// The lab's host layer, for real: zfs-fuse pools on sparse files, a Linux bridge, the node's sshd,
// and the debootstrap base template. Needs root (as CI and the demo run).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withSession } from "../../provisioners/engine/ssh";
import { BASE_TEMPLATE_FILE, ensureBaseTarball, installTemplate } from "../../lab/host/base-template";
import { bridgeExists, ensureBridge, removeBridge } from "../../lab/host/bridge";
import { ok, run } from "../../lab/host/run";
import { ensureNodeSshd, stopNodeSshd } from "../../lab/host/sshd";
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
