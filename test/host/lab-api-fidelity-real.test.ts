// Issue 13's items 2–12 (test/support/fidelity-cases.ts, the in-memory backend's cases) against the lab API's real
// backend: LXC containers on a zfs-fuse pool this test makes, VMs as QEMU processes from the lab's VM image, the
// node's bridges the machine's own (one made here), everything it made removed afterwards. Needs root.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type LabApi, startLabApi } from "../../lab/api/server";
import { ensureBaseTarball, installTemplate } from "../../lab/host/base-template";
import { ensureBridge, removeBridge } from "../../lab/host/bridge";
import { VIEW_PACKAGES } from "../../lab/host/fuse-view";
import { QemuRunner } from "../../lab/host/qemu";
import { run } from "../../lab/host/run";
import { PROXMOX_SUBID_RANGE, ensureSubIds } from "../../lab/host/subids";
import { VM_HOST_PACKAGES, ensureVmImage } from "../../lab/host/vm-image";
import { destroyPool, ensurePool, ensureZfsDaemon, stopZfsDaemon, zfsReady } from "../../lab/host/zfs";
import { HostBackend } from "../../lab/node/host-backend";
import {
  type FidelityTarget,
  LOCAL_CONTENT,
  LXC_CONTENT,
  fidelityApiOptions,
  makePublicKey,
  registerFidelityCases,
  tokenClient,
} from "../support/fidelity-cases";

const ROOT = join(__dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "phoenix-lab-fidelity-real-"));
const tag = Math.random().toString(36).slice(2, 7);
const pool = `phxfd${tag}`;
const bridge = `phxbr${tag}`;
const vz = join(dir, "vz");
const CASE_MS = 10 * 60_000;
let startedDaemon = false;
let addedSubIds: { file: string; lines: string[] }[] = [];
let api: LabApi;
let backend: HostBackend;
let runner: QemuRunner;
let target: FidelityTarget;

/** The machine's bridges as `ip` lists them (the real backend's node network is the machine's). */
function machineBridges(): string[] {
  const links = JSON.parse(run("ip", ["-j", "link", "show", "type", "bridge"]).stdout || "[]") as { ifname: string }[];
  return links.map((l) => l.ifname).sort();
}

beforeAll(async () => {
  const packages = ["lxc", "zfs-fuse", "debootstrap", "zstd", ...VIEW_PACKAGES, ...VM_HOST_PACKAGES];
  execFileSync("bash", [join(ROOT, "scripts", "ensure-apt.sh"), ...packages], { stdio: "inherit", timeout: 600_000 });
  addedSubIds = ["/etc/subuid", "/etc/subgid"].map((file) => ({ file, lines: ensureSubIds(file, [PROXMOX_SUBID_RANGE]) }));
  startedDaemon = !zfsReady();
  await ensureZfsDaemon(join(dir, "zfs"));
  ensurePool(pool, join(dir, "zfs"), 8 * 1024 ** 3);
  run("zfs", ["create", `${pool}/lxc`]);
  installTemplate(ensureBaseTarball(), vz);
  ensureBridge(bridge, `10.253.${Math.floor(Math.random() * 200) + 20}.1/24`);
  runner = new QemuRunner({ stateDir: join(dir, "state"), image: ensureVmImage() });
  backend = new HostBackend({
    stateDir: join(dir, "state"),
    lockDir: join(dir, "lock"),
    qemu: runner,
    storages: [
      { id: "local", type: "dir", path: vz, content: LOCAL_CONTENT },
      { id: "tank-lxc", type: "zfspool", pool: `${pool}/lxc`, content: LXC_CONTENT },
    ],
  });
  api = await startLabApi(fidelityApiOptions(join(dir, "api"), backend));
  target = {
    url: api.url,
    pve: tokenClient(api.url, CASE_MS),
    key: makePublicKey(dir),
    settle: () => api.tasks.settle(),
    bridge,
    nodeBridges: machineBridges,
    localPath: vz,
    lxcPool: `${pool}/lxc`,
  };
}, 30 * 60_000);

afterAll(async () => {
  await api?.close();
  for (const vmid of (await backend?.listGuests())?.filter((g) => g.type === "qemu").map((g) => g.vmid) ?? [])
    await runner.destroy(vmid);
  for (const vmid of backend?.lxc.list() ?? []) backend.lxc.remove(vmid);
  backend?.lxc.removeRunDir();
  await destroyPool(pool);
  if (startedDaemon) await stopZfsDaemon(join(dir, "zfs"));
  removeBridge(bridge);
  // only the lines this test added go (a node's root:100000:65536 stays)
  for (const { file, lines } of addedSubIds)
    writeFileSync(
      file,
      readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => !lines.includes(l))
        .join("\n"),
    );
  rmSync(dir, { recursive: true, force: true });
}, 5 * 60_000);

registerFidelityCases(() => target, CASE_MS);

// What only the real backend can show of item 3's clone from a snapshot: files copied, the snapshot's view gone.
it("copied the snapshot's files into the clone, through a temporary view of it that is gone", () => {
  const rootfs = backend.volumePath("tank-lxc:subvol-822-disk-0");
  expect(readFileSync(join(rootfs, "etc", "debian_version"), "utf8")).toMatch(/^12\./);
  expect(run("zfs", ["list", "-H", "-t", "all", "-o", "name", "-r", `${pool}/lxc`]).stdout).not.toMatch(/vzdump-view-/);
  expect(run("zfs", ["list", "-H", "-t", "snapshot", "-o", "name", "-r", `${pool}/lxc`]).stdout).toContain(
    `${pool}/lxc/subvol-820-disk-0@before-copy`,
  );
});
