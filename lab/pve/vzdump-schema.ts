// The parameters of vzdump (POST /nodes/{node}/vzdump) and of backup jobs (/cluster/backup), as Proxmox's API
// schema gives them (pve-manager PVE/VZDump/Common.pm, PVE/API2/Backup.pm; 8.4/9.x apidata).
import { PRUNE_BACKUPS_FORMAT } from "./backup";
import { parseCalendarEvent } from "../../definition/calendar";
import { NODE } from "./lxc-schema";
import { splitList } from "./pve-config";
import type { Errors, ParamSchema, Schema } from "./schema";

const bool = { type: "boolean", optional: true } as const;
const int = (minimum?: number, maximum?: number): Schema => ({
  type: "integer",
  optional: true,
  ...(minimum !== undefined ? { minimum } : {}),
  ...(maximum !== undefined ? { maximum } : {}),
});

/** pve-vmid-list: ids of guests, comma or space separated. */
export const VMID_LIST: Schema = {
  type: "string",
  optional: true,
  verify: (value: string, path: string, errors: Errors) => {
    const bad = splitList(value).find((id) => !/^\d+$/.test(id) || Number(id) < 100 || Number(id) > 999999999);
    if (bad !== undefined) errors[path] = `invalid format - value does not look like a valid VM ID\n`;
    return bad === undefined;
  },
};

/** pve-calendar-event. */
export const CALENDAR_EVENT: Schema = {
  type: "string",
  maxLength: 128,
  optional: true,
  verify: (value: string, path: string, errors: Errors) => {
    try {
      parseCalendarEvent(value);
      return true;
    } catch (e) {
      errors[path] = `invalid format - ${(e as Error).message}\n`;
      return false;
    }
  },
};

/** What a vzdump run and a backup job share (PVE::VZDump::Common's confdesc). */
export const VZDUMP_OPTIONS: ParamSchema = {
  all: bool,
  bwlimit: int(0),
  compress: { type: "string", enum: ["0", "1", "gzip", "lzo", "zstd"], optional: true },
  dumpdir: { type: "string", optional: true },
  exclude: VMID_LIST,
  "exclude-path": { type: "array", items: { type: "string" }, optional: true },
  fleecing: { type: "string", optional: true },
  ionice: int(0, 8),
  lockwait: int(0),
  mailnotification: { type: "string", enum: ["always", "failure"], optional: true },
  mailto: { type: "string", optional: true },
  maxfiles: int(1),
  mode: { type: "string", enum: ["snapshot", "suspend", "stop"], optional: true },
  node: { ...NODE, optional: true },
  "notes-template": { type: "string", maxLength: 1024, optional: true },
  "notification-mode": { type: "string", enum: ["auto", "legacy-sendmail", "notification-system"], optional: true },
  "notification-policy": { type: "string", enum: ["always", "failure", "never"], optional: true },
  "notification-target": { type: "string", optional: true },
  "pbs-change-detection-mode": { type: "string", enum: ["legacy", "data", "metadata"], optional: true },
  performance: { type: "string", optional: true },
  pigz: int(),
  pool: { type: "string", optional: true },
  protected: bool,
  "prune-backups": { type: "string", format: PRUNE_BACKUPS_FORMAT, optional: true },
  quiet: bool,
  remove: bool,
  script: { type: "string", optional: true },
  stdexcludes: bool,
  stop: bool,
  stopwait: int(0),
  storage: { type: "string", format: "pve-storage-id", optional: true },
  tmpdir: { type: "string", optional: true },
  vmid: VMID_LIST,
  zstd: int(),
};

export const VZDUMP_PARAMS: ParamSchema = { ...VZDUMP_OPTIONS, node: NODE, stdout: bool };

const JOB_FIELDS: ParamSchema = {
  comment: { type: "string", maxLength: 512, optional: true },
  dow: { type: "string", pattern: "(mon|tue|wed|thu|fri|sat|sun)(,(mon|tue|wed|thu|fri|sat|sun))*", optional: true },
  enabled: bool,
  "repeat-missed": bool,
  schedule: CALENDAR_EVENT,
  starttime: { type: "string", pattern: "\\d{1,2}:\\d{1,2}", optional: true },
};

export const JOB_CREATE: ParamSchema = {
  ...VZDUMP_OPTIONS,
  ...JOB_FIELDS,
  id: { type: "string", format: "pve-configid", maxLength: 50, optional: true },
};

export const JOB_ID: Schema = { type: "string", maxLength: 50, pattern: "\\S+" };

export const JOB_UPDATE: ParamSchema = {
  ...VZDUMP_OPTIONS,
  ...JOB_FIELDS,
  id: JOB_ID,
  delete: { type: "string", format: "pve-configid-list", optional: true },
};

/** The vzdump options of a job (what "Run now" and the scheduler pass on to vzdump). */
export const JOB_VZDUMP_KEYS = Object.keys(VZDUMP_OPTIONS);

/** Options whose stored value is a property string; GET returns them parsed into objects. */
export const JOB_PROPERTY_STRINGS = ["prune-backups", "performance", "fleecing"];
