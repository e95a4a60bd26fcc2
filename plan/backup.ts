// What a node's backups are: where a guest goes before Phoenix deletes or replaces it (the storage the node names, else
// its first storage with backup content), and its scheduled jobs with guests resolved to vmids. Pure.
import type { Index } from "../definition/resolve";
import type { BackupJob, Node } from "../definition/schema";

export type BackupMode = "snapshot" | "suspend" | "stop";

export interface PlannedNodeBackup {
  storage: string;
  mode: BackupMode;
  /** vzdump's compress: zstd, gzip, lzo or 0. */
  compress: string;
}

export interface PlannedBackupJob {
  id: string;
  node: string;
  schedule: string;
  storage: string;
  /** Guests by vmid, sorted; absent with all. */
  vmids?: number[];
  all: boolean;
  exclude?: number[];
  mode: BackupMode;
  compress: string;
  /** Proxmox's prune-backups keys (keep-last, keep-daily, …). */
  prune?: Record<string, number>;
  enabled: boolean;
  notes?: string;
  mailto?: string[];
}

const COMPRESS: Record<string, string> = { zstd: "zstd", gzip: "gzip", lzo: "lzo", none: "0" };
const PRUNE_KEYS: Record<string, string> = {
  keepLast: "keep-last",
  keepHourly: "keep-hourly",
  keepDaily: "keep-daily",
  keepWeekly: "keep-weekly",
  keepMonthly: "keep-monthly",
  keepYearly: "keep-yearly",
};

/** The storage backups before a deletion or replacement go to: the one named, else the first with backup content. */
export function nodeBackup(node: Node): PlannedNodeBackup | undefined {
  const storage = node.backup?.storage ?? node.storage.find((s) => s.content.includes("backup"))?.id;
  if (!storage) return undefined;
  return { storage, mode: node.backup?.mode ?? "snapshot", compress: COMPRESS[node.backup?.compress ?? "zstd"]! };
}

function vmidsOf(ix: Index, refs: readonly (string | number)[]): number[] {
  const ids = refs.map((r) => (typeof r === "number" ? r : ix.byName.get(r)!.vmid));
  return [...new Set(ids)].sort((a, b) => a - b);
}

export function planBackupJob(ix: Index, node: Node, job: BackupJob): PlannedBackupJob {
  const prune = Object.fromEntries(
    Object.entries(job.retention ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [PRUNE_KEYS[k]!, v as number]),
  );
  return {
    id: job.id,
    node: node.name,
    schedule: job.schedule,
    storage: job.storage,
    ...(job.guests ? { vmids: vmidsOf(ix, job.guests) } : {}),
    all: job.all === true,
    ...(job.all && job.exclude?.length ? { exclude: vmidsOf(ix, job.exclude) } : {}),
    mode: job.mode,
    compress: COMPRESS[job.compress]!,
    ...(Object.keys(prune).length ? { prune } : {}),
    enabled: job.enabled,
    ...(job.notes !== undefined ? { notes: job.notes } : {}),
    ...(job.mailto?.length ? { mailto: job.mailto } : {}),
  };
}
