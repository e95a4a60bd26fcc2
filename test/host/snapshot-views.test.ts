// vzdump's snapshot views on zfs-fuse when another mount namespace holds one (a program's `unshare -m` while a
// backup reads its snapshot): the view is left, its 'vzdump' snapshot parked so the next backup can take a new
// one, and both swept once the namespace is gone. Needs root.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { run } from "../../lab/host/run";
import {
  destroyDataset,
  destroyPool,
  ensurePool,
  ensureZfsDaemon,
  listSnapshots,
  stopZfsDaemon,
  zfsReady,
} from "../../lab/host/zfs";
import { destroyViews, destroyVolumeSnapshot, linkedClones, openView, sweepViews } from "../../lab/node/snapshot-views";

const ROOT = join(__dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "phoenix-views-"));
const pool = `phxvw${Math.random().toString(36).slice(2, 7)}`;
const ds = `${pool}/subvol-100-disk-0`;
let startedDaemon = false;
let holder: ChildProcess | undefined;
const lines: string[] = [];
const log = (l: string) => void lines.push(l);
const views = () =>
  run("zfs", ["list", "-H", "-o", "name", "-t", "filesystem", "-r", pool])
    .stdout.split("\n")
    .filter((n) => n.includes("vzdump-view-"));

beforeAll(async () => {
  execFileSync("bash", [join(ROOT, "scripts", "ensure-apt.sh"), "zfs-fuse"], { stdio: "inherit", timeout: 600_000 });
  startedDaemon = !zfsReady();
  await ensureZfsDaemon(join(dir, "zfs"));
  ensurePool(pool, join(dir, "zfs"), 256 * 1024 * 1024);
  run("zfs", ["create", ds]);
  writeFileSync(`/${ds}/file`, "kept\n");
}, 600_000);

afterAll(async () => {
  holder?.kill();
  await destroyPool(pool).catch(() => {});
  if (startedDaemon) await stopZfsDaemon(join(dir, "zfs"));
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

it("parks a vzdump snapshot whose view a mount namespace holds, and sweeps both once it is gone", async () => {
  run("zfs", ["snapshot", `${ds}@vzdump`]);
  const view = await openView(ds, "vzdump", log);
  expect(run("cat", [join(view.path, "file")]).stdout).toBe("kept\n");
  holder = spawn("unshare", ["-m", "--propagation", "private", "sleep", "600"], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 1000));
  await view.release();
  expect(views()).toHaveLength(1); // held
  expect(lines.join("\n")).toMatch(/busy \(a mount namespace holds it\)/);
  // the backup's cleanup: the snapshot goes out of the way, and a new one can be taken
  await destroyVolumeSnapshot(ds, "vzdump", log);
  expect(listSnapshots(ds)).not.toContain("vzdump");
  expect(listSnapshots(ds).some((s) => s.startsWith("vzdump-parked-"))).toBe(true);
  run("zfs", ["snapshot", `${ds}@vzdump`]);
  expect(linkedClones(ds)).toEqual([]); // a view is no linked clone
  holder.kill();
  await new Promise((r) => holder!.once("exit", r));
  await sweepViews(ds, log, 30_000);
  expect(views()).toEqual([]);
  expect(listSnapshots(ds)).toEqual(["vzdump"]);
  await destroyVolumeSnapshot(ds, "vzdump", log);
  await destroyViews(ds);
  expect(listSnapshots(ds)).toEqual([]);
}, 300_000);

it("a slave mount namespace (the node's sshd, vzdump's) made while a dataset is mounted does not keep it busy", async () => {
  // ensurePool shared the pool's mounts: the host's unmount reaches the namespace's copy
  run("zfs", ["create", `${pool}/held`]);
  writeFileSync(`/${pool}/held/file`, "x\n");
  const slave = spawn("unshare", ["-m", "--propagation", "slave", "sleep", "600"], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 1000));
  const mounts = () => run("cat", [`/proc/${slave.pid}/mountinfo`]).stdout;
  expect(mounts()).toContain(` /${pool}/held `);
  const started = Date.now();
  await destroyDataset(`${pool}/held`, { timeoutMs: 15_000 });
  expect(mounts()).not.toContain(` /${pool}/held `);
  lines.push(`slave-held dataset destroyed in ${Date.now() - started} ms`);
  slave.kill();
}, 120_000);
