// Proxmox's backup formats, pure: vzdump archive names (vzdump-lxc-200-2026_11_24-10_15_00.tar.zst, local time),
// what a name says (type, vmid, time, format), the prune-backups property string and the retention marks Proxmox
// computes from it, and notes templates ({{guestname}}, {{vmid}}, …). Written from pve-manager's PVE/VZDump.pm and
// pve-storage's archive_info / prune_mark_backup_group.
import type { Errors, PropertyStringSchema } from "./schema";
import { checkPropertyString } from "./schema";
import { parsePropertyString, printPropertyString } from "./pve-config";
import { propertyFormat } from "./schema";

export type BackupType = "lxc" | "qemu" | "openvz";

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** vzdump's time stamp: -YYYY_MM_DD-HH_MM_SS in the node's local time. */
export function vzdumpStamp(d: Date): string {
  return `${d.getFullYear()}_${pad(d.getMonth() + 1)}_${pad(d.getDate())}-${pad(d.getHours())}_${pad(d.getMinutes())}_${pad(d.getSeconds())}`;
}

/** The compressor's extension: zstd → zst, gzip → gz, lzo or 1 → lzo, none → "". */
export function compressExtension(compress: string | undefined): string {
  if (!compress || compress === "0") return "";
  if (compress === "1" || compress === "lzo") return "lzo";
  if (compress === "gzip") return "gz";
  if (compress === "zstd") return "zst";
  throw new Error(`internal error - unknown compression option '${compress}'`);
}

/** vzdump-<type>-<vmid>-<stamp>.tar[.zst] (containers) or .vma[.zst] (VMs). */
export function archiveName(type: "lxc" | "qemu", vmid: number, at: Date, compress?: string): string {
  const ext = compressExtension(compress);
  return `vzdump-${type}-${vmid}-${vzdumpStamp(at)}.${type === "qemu" ? "vma" : "tar"}${ext ? `.${ext}` : ""}`;
}

export interface ArchiveInfo {
  filename: string;
  /** The name without the archive extension: the log file is <logName>.log. */
  logName: string;
  type: BackupType;
  vmid: number;
  /** Seconds since the epoch, from the name's local time stamp. */
  ctime: number;
  /** tar.zst, vma.zst, tgz, tar … */
  format: string;
}

const ARCHIVE =
  /^(vzdump-(lxc|qemu|openvz)-(\d+)-(\d{4})_(\d\d)_(\d\d)-(\d\d)_(\d\d)_(\d\d))\.(tgz|(?:tar|vma)(?:\.(?:gz|lzo|zst|bz2|xz))?)$/;

/** What a backup file's name says (archive_info); undefined for a name vzdump would not have written. */
export function parseArchiveName(filename: string): ArchiveInfo | undefined {
  const m = ARCHIVE.exec(filename);
  if (!m) return undefined;
  const [, logName, type, vmid, y, mo, d, h, mi, s, format] = m as unknown as string[];
  const ctime = Math.floor(new Date(+y!, +mo! - 1, +d!, +h!, +mi!, +s!).getTime() / 1000);
  return { filename, logName: logName!, type: type as BackupType, vmid: Number(vmid), ctime, format: format! };
}

/** Side files of a backup on a directory storage, beside the archive. */
export function sideFiles(filename: string): { log: string; notes: string; protected: string } {
  const info = parseArchiveName(filename);
  return {
    log: `${info ? info.logName : filename.replace(/\.(tgz|tar(\.\w+)?|vma(\.\w+)?)$/, "")}.log`,
    notes: `${filename}.notes`,
    protected: `${filename}.protected`,
  };
}

// ---------------------------------------------------------------------------------------------
// prune-backups

const KEEP = { type: "integer", minimum: 1, optional: true } as const;
export const PRUNE_BACKUPS_FORMAT: PropertyStringSchema = {
  "keep-all": { type: "boolean", optional: true },
  "keep-last": KEEP,
  "keep-hourly": KEEP,
  "keep-daily": KEEP,
  "keep-weekly": KEEP,
  "keep-monthly": KEEP,
  "keep-yearly": KEEP,
};
const PRUNE_KEYS = ["keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly"] as const;
export type PruneOptions = Partial<Record<(typeof PRUNE_KEYS)[number] | "keep-all", number>>;

/** Checks a prune-backups value as Proxmox's schema does; the parsed options, or undefined with errors recorded. */
export function checkPruneBackups(value: string, path: string, errors: Errors): PruneOptions | undefined {
  if (!checkPropertyString(PRUNE_BACKUPS_FORMAT, value, path, errors)) return undefined;
  const raw = parsePropertyString(value, propertyFormat(PRUNE_BACKUPS_FORMAT));
  const opts: PruneOptions = Object.fromEntries(
    Object.entries(raw).map(([k, v]) => [k, Number(/^(1|true|yes|on)$/i.test(v) ? 1 : v)]),
  );
  if (opts["keep-all"] && PRUNE_KEYS.some((k) => opts[k])) {
    errors[path] = "keep-all cannot be set together with other options.";
    return undefined;
  }
  return opts;
}

export function printPruneBackups(opts: PruneOptions): string {
  return printPropertyString(
    Object.fromEntries(Object.entries(opts).map(([k, v]) => [k, String(v)])),
    propertyFormat(PRUNE_BACKUPS_FORMAT),
  );
}

export type PruneMark = "keep" | "remove" | "protected";

export interface PruneCandidate {
  volid: string;
  ctime: number;
  protected?: boolean;
}

/** strftime("%V/%G"): the ISO 8601 week and its year, of a local date. */
function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
  t.setUTCDate(t.getUTCDate() + 4 - (t.getUTCDay() || 7));
  const week = Math.ceil(((t.getTime() - Date.UTC(t.getUTCFullYear(), 0, 1)) / 86400000 + 1) / 7);
  return `${week}/${t.getUTCFullYear()}`;
}

const PERIOD: Record<(typeof PRUNE_KEYS)[number], (d: Date) => string> = {
  "keep-last": () => "",
  "keep-hourly": (d) => `${d.getFullYear()}/${d.getMonth()}/${d.getDate()}/${d.getHours()}`,
  "keep-daily": (d) => `${d.getFullYear()}/${d.getMonth()}/${d.getDate()}`,
  "keep-weekly": isoWeek,
  "keep-monthly": (d) => `${d.getFullYear()}/${d.getMonth()}`,
  "keep-yearly": (d) => `${d.getFullYear()}`,
};

/**
 * Proxmox's retention (prune_mark_backup_group): newest first, keep-last, then one backup per hour, day, ISO week,
 * month and year in local time. Each bucket skips periods an earlier bucket already kept, keeps the newest backup of
 * each new period until its count is reached, and marks the other backups of those periods for removal; whatever no
 * bucket marked is removed. Protected backups are never removed and do not count. No positive option keeps all.
 */
export function pruneMarks(group: readonly PruneCandidate[], opts: PruneOptions): Map<string, PruneMark> {
  const marks = new Map<string, PruneMark>();
  const sorted = [...group].sort((a, b) => b.ctime - a.ctime);
  for (const b of sorted) if (b.protected) marks.set(b.volid, "protected");
  if (opts["keep-all"] || !PRUNE_KEYS.some((k) => (opts[k] ?? 0) > 0)) {
    for (const b of sorted) if (!marks.has(b.volid)) marks.set(b.volid, "keep");
    return marks;
  }
  for (const key of PRUNE_KEYS) {
    const count = opts[key] ?? 0;
    if (count <= 0) continue;
    const idOf = (b: PruneCandidate) => (key === "keep-last" ? String(b.ctime) : PERIOD[key](new Date(b.ctime * 1000)));
    const already = new Set(sorted.filter((b) => marks.get(b.volid) === "keep").map(idOf));
    const included = new Set<string>();
    for (const b of sorted) {
      const id = idOf(b);
      if (marks.has(b.volid) || already.has(id)) continue;
      if (!included.has(id)) {
        if (included.size >= count) break;
        included.add(id);
        marks.set(b.volid, "keep");
      } else marks.set(b.volid, "remove");
    }
  }
  for (const b of sorted) if (!marks.has(b.volid)) marks.set(b.volid, "remove");
  return marks;
}

// ---------------------------------------------------------------------------------------------
// notes-template

/** Renders a notes template: {{cluster}}, {{guestname}}, {{node}}, {{vmid}}, with \n and \\ escapes. */
export function renderNotes(template: string, vars: { cluster: string; guestname: string; node: string; vmid: number }): string {
  const unescaped = template.replace(/\\(.)/g, (_m, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    throw new Error(`unexpected escape character '${c}'`);
  });
  return unescaped.replace(/\{\{(cluster|guestname|node|vmid)\}\}/g, (_m, k: keyof typeof vars) => String(vars[k]));
}
