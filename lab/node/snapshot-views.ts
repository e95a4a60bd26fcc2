// Reading a container's ZFS snapshot as files (vzdump's snapshot mode) on zfs-fuse, which shows no
// .zfs/snapshot: a temporary clone of the snapshot (a "view"), mounted, archived, destroyed.
//
// A mount namespace created while a view is mounted (another program's `unshare -m` on a host whose mounts
// are private) keeps a copy of the view's fuse mount, and zfs-fuse calls the view busy until that namespace
// ends — minutes, maybe. A backup must not wait for that or fail the next one: a view that will not go is
// left, its snapshot renamed to vzdump-parked-<time> (a snapshot with a clone can be renamed, not
// destroyed), so the next backup can take a new 'vzdump' snapshot; later backups, rollbacks and the
// volume's destruction sweep what was left once it is free.
import { run } from "../host/run";
import { destroyDataset, destroySnapshot, listSnapshots } from "../host/zfs";

const PARKED = "vzdump-parked-";
const VIEW = "vzdump-view-";

/** Snapshots the lab parks; not the guest's (hidden from volume snapshot lists). */
export const isParked = (snap: string): boolean => snap.startsWith(PARKED);

/** The views of a dataset's snapshots: [view, snapshot] pairs. */
function viewsOf(ds: string): [string, string][] {
  return run("zfs", ["list", "-H", "-o", "name,origin", "-t", "filesystem"], { allowFail: true })
    .stdout.split("\n")
    .map((l) => l.split("\t"))
    .filter(([name, origin]) => origin?.startsWith(`${ds}@`) && name!.split("/").pop()!.startsWith(VIEW))
    .map(([name, origin]) => [name!, origin!.slice(ds.length + 1)]);
}

/** Clones of a dataset's snapshots that are not the lab's views: linked clones. */
export function linkedClones(ds: string): string[] {
  const views = new Set(viewsOf(ds).map(([v]) => v));
  return run("zfs", ["list", "-H", "-o", "name,origin", "-t", "filesystem"], { allowFail: true })
    .stdout.split("\n")
    .map((l) => l.split("\t"))
    .filter(([name, origin]) => origin?.startsWith(`${ds}@`) && !views.has(name!))
    .map(([name]) => name!);
}

/** Removes what earlier backups left (views, parked snapshots) that is free now; `waitMs` per view. */
export async function sweepViews(ds: string, log: (line: string) => void, waitMs = 2000): Promise<void> {
  for (const [view] of viewsOf(ds))
    await destroyDataset(view, { timeoutMs: waitMs })
      .then(() => log(`removed ${view}, left by an earlier backup`))
      .catch(() => log(`${view} is still busy (a mount namespace holds it): left for later`));
  const held = new Set(viewsOf(ds).map(([, snap]) => snap));
  for (const snap of listSnapshots(ds).filter((s) => isParked(s) && !held.has(s)))
    await destroySnapshot(ds, snap, 10_000).catch(() => {});
}

/** A snapshot as a directory, and how to give it back. */
export async function openView(ds: string, snap: string, log: (line: string) => void) {
  await sweepViews(ds, log);
  const view = `${ds.slice(0, ds.lastIndexOf("/"))}/${VIEW}${ds.split("/").pop()}-${Date.now().toString(36)}`;
  run("zfs", ["clone", `${ds}@${snap}`, view]);
  log(`reading ${ds}@${snap} through the clone ${view}`);
  return {
    path: run("zfs", ["get", "-H", "-o", "value", "mountpoint", view]).stdout.trim(),
    release: () =>
      destroyDataset(view, { timeoutMs: 20_000 }).catch(() =>
        log(`${view} is busy (a mount namespace holds it): left for the next backup to remove`),
      ),
  };
}

/** Destroys a snapshot; a 'vzdump' snapshot whose view is held is parked instead (renamed out of the way). */
export async function destroyVolumeSnapshot(ds: string, snap: string, log: (line: string) => void): Promise<void> {
  if (snap === "vzdump") {
    await sweepViews(ds, log, 20_000);
    if (viewsOf(ds).some(([, s]) => s === snap)) {
      const parked = `${PARKED}${Date.now().toString(36)}`;
      run("zfs", ["rename", `${ds}@${snap}`, `${ds}@${parked}`]);
      log(`zfs rename ${ds}@${snap} ${ds}@${parked} (its view is busy; removed by a later backup)`);
      return;
    }
  }
  await destroySnapshot(ds, snap);
  log(`zfs destroy ${ds}@${snap}`);
}

/** Before a volume goes: its views, waiting for them (a held view keeps the volume). */
export async function destroyViews(ds: string): Promise<void> {
  for (const [view] of viewsOf(ds)) await destroyDataset(view, { timeoutMs: 120_000 });
}
