// Backups, backup jobs and lifecycle snapshots: the storages they name exist on the node and can hold backups, job
// ids are unique in the cluster, schedules are Proxmox calendar events, jobs name guests of their node, and
// snapshots are asked only of guests whose disks Proxmox can snapshot.
import { parseCalendarEvent } from "../definition/calendar";
import { type Problem, error } from "../definition/problems";
import type { Index, Machine } from "../definition/resolve";
import type { BackupJob, Node } from "../definition/schema";

/** Storage types Proxmox keeps vzdump archives on (of those a definition can declare). */
const BACKUP_TYPES = ["dir", "nfs", "cifs", "btrfs"];
/** Storage types whose container volumes Proxmox can snapshot. */
const SNAPSHOT_TYPES = ["zfspool", "lvmthin", "btrfs"];

export function checkBackups(ix: Index): Problem[] {
  const out: Problem[] = [];
  const jobIds = new Map<string, string>();
  ix.def.nodes.forEach((node, i) => {
    if (node.backup) checkBackupStorage(node, `nodes[${i}].backup.storage`, node.backup.storage, out);
    node.backupJobs.forEach((job, j) => {
      const path = `nodes[${i}].backupJobs[${j}]`;
      const first = jobIds.get(job.id);
      if (first)
        out.push(
          error(
            `${path}.id`,
            `backup job id '${job.id}' is also used by ${first}`,
            "give every job its own id (ids are cluster-wide)",
          ),
        );
      else jobIds.set(job.id, path);
      checkJob(ix, node, job, path, out);
    });
  });
  for (const m of ix.machines) checkSnapshots(ix, m, out);
  return out;
}

function checkBackupStorage(node: Node, path: string, id: string, out: Problem[]): void {
  const s = node.storage.find((x) => x.id === id);
  if (!s) {
    out.push(
      error(
        path,
        `unknown storage '${id}' on node '${node.name}'`,
        node.storage.some((x) => x.content.includes("backup"))
          ? `use one with backup content: ${node.storage
              .filter((x) => x.content.includes("backup"))
              .map((x) => x.id)
              .join(", ")}`
          : "declare a storage with content [backup] under the node's storage",
      ),
    );
    return;
  }
  if (!BACKUP_TYPES.includes(s.type))
    out.push(
      error(
        path,
        `storage '${id}' is a ${s.type} storage: Proxmox keeps backups only on file storages (${BACKUP_TYPES.join(", ")})`,
        "name a dir, nfs, cifs or btrfs storage with backup content",
      ),
    );
  else if (!s.content.includes("backup"))
    out.push(
      error(
        path,
        `storage '${id}' does not hold backup content (it holds ${s.content.join(", ") || "nothing"})`,
        "add backup to its content, or name another storage",
      ),
    );
}

function checkJob(ix: Index, node: Node, job: BackupJob, path: string, out: Problem[]): void {
  try {
    parseCalendarEvent(job.schedule);
  } catch (e) {
    out.push(
      error(
        `${path}.schedule`,
        (e as Error).message,
        "write a Proxmox calendar event such as 02:30, sat 03:00, mon..fri 22:00 or daily",
      ),
    );
  }
  checkBackupStorage(node, `${path}.storage`, job.storage, out);
  if ((job.all === true) === (job.guests !== undefined))
    out.push(
      error(
        path,
        job.all ? "a job with all: true backs up every guest of the node; it takes no guests list" : "the job names no guests",
        job.all ? "drop guests, or drop all" : "list them in guests, or set all: true (with exclude for the ones to leave out)",
      ),
    );
  if (job.exclude !== undefined && !job.all)
    out.push(error(`${path}.exclude`, "exclude goes with all: true", "set all: true, or list the guests to back up in guests"));
  for (const key of ["guests", "exclude"] as const)
    job[key]?.forEach((ref, k) => {
      if (typeof ref === "number") {
        if (ref < 100 || ref > 999999999) out.push(error(`${path}.${key}[${k}]`, `${ref} is not a vmid`, "vmids run from 100"));
        return;
      }
      const m = ix.byName.get(ref);
      if (!m || ix.effective(m).node !== node) {
        const here = ix.machines.filter((x) => ix.effective(x).node === node).map((x) => x.name);
        out.push(
          error(
            `${path}.${key}[${k}]`,
            m ? `'${ref}' runs on another node, not on '${node.name}'` : `no guest is named '${ref}'`,
            here.length ? `use one of: ${here.join(", ")} (or a vmid)` : "name guests of this node, or give a vmid",
          ),
        );
      }
    });
}

/** The storage a machine's root disk is on: its own, its golden template's, or Proxmox's default (local). */
function diskStorage(ix: Index, m: Machine, seen = new Set<Machine>()): string {
  if (m.def.disk) return m.def.disk.storage;
  const parent = ix.byName.get(m.from);
  if (parent && parent.kind === "template" && !seen.has(parent)) return diskStorage(ix, parent, new Set([...seen, m]));
  return "local";
}

function checkSnapshots(ix: Index, m: Machine, out: Problem[]): void {
  if (m.kind !== "guest" || !("snapshots" in m.def) || !m.def.snapshots?.afterProvision) return;
  const node = ix.effective(m).node;
  const id = diskStorage(ix, m);
  const s = node?.storage.find((x) => x.id === id);
  if (!s || m.type === "vm") return; // unknown storages are reported elsewhere; VM disks on dir are qcow2, which snapshot
  if (!SNAPSHOT_TYPES.includes(s.type))
    out.push(
      error(
        `${m.path}.snapshots.afterProvision`,
        `'${m.name}' keeps its disk on storage '${id}' (${s.type}), where Proxmox cannot snapshot a container`,
        `put its disk on a ${SNAPSHOT_TYPES.join(", ")} storage (disk.storage), or drop snapshots`,
      ),
    );
}
