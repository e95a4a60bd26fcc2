// The definition's day-two parts: where a node backs guests up before deleting them, its scheduled backup jobs, and a
// guest's lifecycle snapshots. Shape only (validate/backup.ts checks the rest); part of the schema in schema.ts.
import { z } from "zod";
import { ONE_LINE } from "./grammar";

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, "use letters, digits, '.' and '-' (a DNS-safe hostname)");
const vmid = z.number().int();

const backupMode = z.enum(["snapshot", "suspend", "stop"]);
const backupCompress = z.enum(["zstd", "gzip", "lzo", "none"]);

/** Where and how a node backs up a guest before Phoenix deletes or replaces it (a vzdump through the node's API). */
export const NodeBackup = z
  .object({
    /** A storage of the node with backup content (dir, nfs, cifs or btrfs). */
    storage: z.string(),
    /** Proxmox falls back from snapshot to suspend when a volume cannot snapshot; a stopped guest is always stopped. */
    mode: backupMode.default("snapshot"),
    compress: backupCompress.default("zstd"),
  })
  .strict();

const keep = z.number().int().positive();
/** One address: no white space, separators or quotes (Proxmox joins mailto with commas). */
const MAIL_ADDRESS =
  /^[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** A scheduled vzdump job of the node (Proxmox's /cluster/backup, bound to the node). */
export const BackupJob = z
  .object({
    /** The job's id in Proxmox: unique in the cluster. */
    id: z
      .string()
      .max(50)
      .regex(/^[A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9]$/, "letters, digits, '-' and '_', starting with a letter (a Proxmox job id)"),
    /** A Proxmox calendar event: 02:30, sat 03:00, mon..fri 22:00, daily, weekly … */
    schedule: z.string().min(1),
    storage: z.string(),
    /** Guests by name (or vmid, for guests the definition does not manage); or `all: true`. */
    guests: z.array(z.union([name, vmid])).optional(),
    all: z.boolean().optional(),
    /** With all: guests left out, by name or vmid. */
    exclude: z.array(z.union([name, vmid])).optional(),
    mode: backupMode.default("snapshot"),
    compress: backupCompress.default("zstd"),
    /** Proxmox's prune-backups; none keeps every backup. */
    retention: z
      .object({
        keepLast: keep.optional(),
        keepHourly: keep.optional(),
        keepDaily: keep.optional(),
        keepWeekly: keep.optional(),
        keepMonthly: keep.optional(),
        keepYearly: keep.optional(),
      })
      .strict()
      .optional(),
    enabled: z.boolean().default(true),
    /** Notes on each backup, with {{guestname}}, {{vmid}}, {{node}}, {{cluster}}. */
    notes: z
      .string()
      .max(1024)
      .regex(ONE_LINE, "one line: Proxmox's notes template takes no line break or control character")
      .optional(),
    /** Addresses mailed after each run. */
    mailto: z.array(z.string().max(254).regex(MAIL_ADDRESS, "an e-mail address such as admin@example.org")).optional(),
  })
  .strict();

/** Lifecycle snapshots: a Proxmox snapshot once the guest's features ran (the original's final-form), rotated. */
export const GuestSnapshots = z
  .object({
    afterProvision: z.boolean().default(false),
    /** Snapshots kept; older ones are deleted. */
    keep: z.number().int().positive().default(3),
    /** Snapshot names are <name>-YYYYMMDD-HHMMSS. */
    name: z
      .string()
      .max(24)
      .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "a Proxmox snapshot name: a letter, then letters, digits, '-' and '_'")
      .default("final-form"),
  })
  .strict();
