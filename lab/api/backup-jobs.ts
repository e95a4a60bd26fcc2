// Cluster backup jobs (/cluster/backup) as Proxmox keeps them: sections of /etc/pve/jobs.cfg (the lab's
// <state>/pve/jobs.cfg), created with enabled=1 unless told otherwise, listed with their id, type and next-run,
// property strings (prune-backups, performance, fleecing) returned parsed, and the checks PVE/API2/Backup.pm makes.
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { checkPruneBackups } from "../pve/backup";
import { nextRun, parseCalendarEvent } from "../../definition/calendar";
import { type JobSection, parseJobsConfig, printJobsConfig } from "../pve/jobs-config";
import { splitList } from "../pve/pve-config";
import type { Errors } from "../pve/schema";
import { JOB_PROPERTY_STRINGS, JOB_UPDATE, VZDUMP_OPTIONS } from "../pve/vzdump-schema";
import { jsonValue } from "../pve/lxc-schema";
import { fail, paramError } from "./errors";

export class JobStore {
  constructor(readonly file: string) {}

  read(): JobSection[] {
    return existsSync(this.file) ? parseJobsConfig(readFileSync(this.file, "utf8")) : [];
  }

  /** Written whole and atomically, as pmxcfs replaces a file. */
  write(sections: JobSection[]): void {
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(`${this.file}.tmp`, printJobsConfig(sections));
    renameSync(`${this.file}.tmp`, this.file);
  }
}

const DOW = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/** The deprecated starttime + dow become a schedule, as Proxmox converts them. */
function legacySchedule(p: Record<string, string>): string | undefined {
  if (!p.starttime) return undefined;
  const days = splitList(p.dow ?? "mon,tue,wed,thu,fri,sat,sun").filter((d) => DOW.includes(d));
  const [h, m] = p.starttime.split(":");
  return `${days.length === 7 ? "" : `${days.join(",")} `}${Number(h)}:${String(Number(m)).padStart(2, "0")}`;
}

/** verify_vzdump_parameters: option conflicts, prune-backups, notes-template; with checkMissing a selection. */
export function verifyVzdumpParameters(p: Record<string, string>, checkMissing: boolean): void {
  const errors: Errors = {};
  if (p.all === "1" && p.vmid) errors.all = "option conflicts with option 'vmid'";
  if (p.exclude && p.vmid) errors.exclude = "option conflicts with option 'vmid'";
  if (p.pool && p.vmid) errors.pool = "option conflicts with option 'vmid'";
  if (p["prune-backups"] !== undefined && p.maxfiles !== undefined)
    errors["prune-backups"] = "option conflicts with option 'maxfiles'";
  if (p["prune-backups"] !== undefined) checkPruneBackups(p["prune-backups"], "prune-backups", errors);
  if (p["notes-template"]?.includes("\n")) errors["notes-template"] = "contains a line feed";
  if (checkMissing && !(p.all === "1" || p.exclude || p.stop === "1" || p.pool) && !p.vmid) errors.vmid = "property is missing";
  if (Object.keys(errors).length) throw paramError(errors);
}

/** A stored job as GET returns it: typed values, property strings parsed, id, type and next-run. */
export function jobJson(s: JobSection, now = Math.floor(Date.now() / 1000)): Record<string, unknown> {
  const out: Record<string, unknown> = { id: s.id, type: s.type };
  for (const [k, v] of Object.entries(s.props)) {
    if (JOB_PROPERTY_STRINGS.includes(k))
      out[k] = Object.fromEntries(
        v
          .split(",")
          .filter(Boolean)
          .map((kv) => {
            const [key, val = ""] = kv.split("=");
            return [key!, /^\d+$/.test(val) ? Number(val) : val];
          }),
      );
    else if (k === "exclude-path")
      out[k] = v; // comma-separated, as bpg's client reads it
    else out[k] = jsonValue(JOB_UPDATE[k], v);
  }
  if (s.props.enabled !== "0" && s.props.schedule) {
    const next = nextRun(parseCalendarEvent(s.props.schedule), now);
    if (next !== undefined) out["next-run"] = next;
  }
  return out;
}

function storedParams(p: Record<string, string>, arrays: Record<string, string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(p)) if (k !== "id" && k !== "delete" && k !== "starttime" && k !== "dow") out[k] = v;
  if (arrays["exclude-path"]?.length) out["exclude-path"] = arrays["exclude-path"].join(",");
  const schedule = legacySchedule(p);
  if (schedule && !p.schedule) out.schedule = schedule;
  return out;
}

export function createJob(store: JobStore, p: Record<string, string>, arrays: Record<string, string[]>): null {
  const id = p.id ?? randomUUID();
  const sections = store.read();
  if (sections.some((s) => s.id === id)) throw fail(`Job '${id}' already exists`);
  verifyVzdumpParameters(p, true);
  const props = storedParams(p, arrays);
  if (!props.schedule) throw paramError({ schedule: "property is missing and it is not optional" });
  props.enabled ??= "1";
  if (props.exclude && !props.pool) props.all = "1";
  sections.push({ type: "vzdump", id, props });
  store.write(sections);
  return null;
}

export function findJob(store: JobStore, id: string): JobSection {
  const job = store.read().find((s) => s.id === id && s.type === "vzdump");
  if (!job) throw paramError({ id: `No such job '${id}'` });
  return job;
}

export function updateJob(store: JobStore, p: Record<string, string>, arrays: Record<string, string[]>): null {
  const sections = store.read();
  const job = sections.find((s) => s.id === p.id && s.type === "vzdump");
  if (!job) throw paramError({ id: `No such job '${p.id}'` });
  verifyVzdumpParameters(p, false);
  const deletes = splitList(p.delete);
  for (const key of deletes) {
    if (key === "schedule") throw paramError({ delete: "unable to delete required option 'schedule'" });
    if (!VZDUMP_OPTIONS[key] && !JOB_UPDATE[key]) throw paramError({ delete: `unknown option '${key}'` });
    delete job.props[key];
  }
  Object.assign(job.props, storedParams(p, arrays));
  if (p.vmid) {
    delete job.props.all;
    delete job.props.exclude;
  } else if (p.all === "1") delete job.props.vmid;
  if (job.props.exclude && !job.props.pool) job.props.all = "1";
  verifyVzdumpParameters(job.props, true);
  store.write(sections);
  return null;
}

export function deleteJob(store: JobStore, id: string): null {
  const sections = store.read();
  if (!sections.some((s) => s.id === id && s.type === "vzdump")) throw paramError({ id: `No such job '${id}'` });
  store.write(sections.filter((s) => s.id !== id));
  return null;
}
