// Backups: POST /nodes/{node}/vzdump (a `vzdump` worker task), its defaults and the config inside an archive, and
// the cluster's backup jobs (/cluster/backup). Proxmox has no "run now" endpoint: its GUI posts the job's vzdump
// options to /nodes/{node}/vzdump, and so do the lab's clients.
import type { Identity } from "../auth";
import { type JobStore, createJob, deleteJob, findJob, jobJson, updateJob, verifyVzdumpParameters } from "../backup-jobs";
import { type ApiContext, requireNode } from "../context";
import { fail, paramError } from "../errors";
import type { Route } from "../router";
import { type PruneOptions, checkPruneBackups } from "../../pve/backup";
import { NODE } from "../../pve/lxc-schema";
import { splitList } from "../../pve/pve-config";
import type { Errors } from "../../pve/schema";
import { JOB_CREATE, JOB_ID, JOB_UPDATE, VZDUMP_PARAMS } from "../../pve/vzdump-schema";
import { runVzdump } from "../vzdump";

const ROOT_ONLY = ["tmpdir", "dumpdir", "script", "job-id"];

/** The command line a job's task log names: vzdump <ids> --key value … */
function commandLine(p: Record<string, string>): string {
  const ids = splitList(p.vmid).join(" ");
  const opts = Object.keys(p)
    .filter((k) => k !== "vmid" && k !== "node" && p[k] !== "")
    .sort()
    .map((k) => ` --${k} ${/^[\w.,:=/@+-]+$/.test(p[k]!) ? p[k] : `'${p[k]!.replace(/'/g, "'\\''")}'`}`)
    .join("");
  return `vzdump${ids ? ` ${ids}` : ""}${opts}`;
}

function pruneOptions(p: Record<string, string>): PruneOptions {
  if (p["prune-backups"]) {
    const errors: Errors = {};
    const opts = checkPruneBackups(p["prune-backups"], "prune-backups", errors);
    if (!opts) throw paramError(errors);
    return opts;
  }
  if (p.maxfiles !== undefined) return Number(p.maxfiles) > 0 ? { "keep-last": Number(p.maxfiles) } : { "keep-all": 1 };
  return { "keep-all": 1 };
}

async function vzdump(ctx: ApiContext, identity: Identity, p: Record<string, string>, arrays: Record<string, string[]>) {
  requireNode(ctx, p.node!);
  verifyVzdumpParameters(p, true);
  if (!identity.isRoot) {
    const errors: Errors = Object.fromEntries(
      ROOT_ONLY.filter((k) => p[k] !== undefined).map((k) => [k, "Only root may set this option."]),
    );
    if (Object.keys(errors).length) throw paramError(errors);
  }
  if (p.dumpdir) throw fail("the lab keeps backups on storages: give 'storage' instead of 'dumpdir'");
  if (p.stdout === "1") throw fail("the lab does not stream backups to stdout");
  if (p.pool) throw fail(`pool '${p.pool}' does not exist`);
  const local = (await ctx.backend.listGuests()).map((g) => g.vmid).sort((a, b) => a - b);
  const exclude = new Set(splitList(p.exclude).map(Number));
  const vmids = p.vmid
    ? [...new Set(splitList(p.vmid).map(Number))].sort((a, b) => a - b)
    : p.all === "1" || p.exclude
      ? local.filter((id) => !exclude.has(id))
      : [];
  const prune = pruneOptions(p);
  const job = {
    vmids,
    storage: p.storage ?? "local",
    mode: (p.mode ?? "snapshot") as "snapshot" | "suspend" | "stop",
    ...(p.compress ? { compress: p.compress } : {}),
    remove: p.remove !== "0" && !prune["keep-all"],
    prune,
    ...(p["notes-template"] ? { notesTemplate: p["notes-template"] } : {}),
    protected: p.protected === "1",
    stdexcludes: p.stdexcludes !== "0",
    excludePaths: (arrays["exclude-path"] ?? []).flatMap((x) => x.split(/\0|,/)).filter(Boolean),
    stopwait: Number(p.stopwait ?? 10),
    cmdline: commandLine(p),
  };
  return ctx.tasks.start("vzdump", vmids.length === 1 ? String(vmids[0]) : "", identity.authid, (log) =>
    runVzdump(ctx, job, log),
  );
}

export function backupRoutes(ctx: ApiContext, jobs: JobStore): Route[] {
  return [
    {
      method: "POST",
      path: "/nodes/{node}/vzdump",
      schema: VZDUMP_PARAMS,
      handler: (r) => vzdump(ctx, r.identity, r.params, r.arrays),
    },
    {
      method: "GET",
      path: "/nodes/{node}/vzdump/defaults",
      schema: { node: NODE, storage: { type: "string", format: "pve-storage-id", optional: true } },
      handler: (r) => {
        requireNode(ctx, r.params.node!);
        return {
          mode: "snapshot",
          compress: "0",
          remove: 1,
          ionice: 7,
          lockwait: 180,
          stopwait: 10,
          stdexcludes: 1,
          storage: "local",
          "prune-backups": { "keep-all": 1 },
        };
      },
    },
    {
      method: "GET",
      path: "/nodes/{node}/vzdump/extractconfig",
      schema: { node: NODE, volume: { type: "string" } },
      handler: async (r) => {
        requireNode(ctx, r.params.node!);
        return ctx.backend.readArchiveConfig(r.params.volume!);
      },
    },
    {
      method: "GET",
      path: "/cluster/backup",
      schema: {},
      handler: () =>
        jobs
          .read()
          .filter((s) => s.type === "vzdump")
          .map((s) => jobJson(s)),
    },
    { method: "POST", path: "/cluster/backup", schema: JOB_CREATE, handler: (r) => createJob(jobs, r.params, r.arrays) },
    { method: "GET", path: "/cluster/backup/{id}", schema: { id: JOB_ID }, handler: (r) => jobJson(findJob(jobs, r.params.id!)) },
    { method: "PUT", path: "/cluster/backup/{id}", schema: JOB_UPDATE, handler: (r) => updateJob(jobs, r.params, r.arrays) },
    { method: "DELETE", path: "/cluster/backup/{id}", schema: { id: JOB_ID }, handler: (r) => deleteJob(jobs, r.params.id!) },
    {
      method: "GET",
      path: "/cluster/backup-info/not-backed-up",
      schema: {},
      handler: async () => {
        const guests = await ctx.backend.listGuests();
        const covered = new Set<number>();
        for (const s of jobs.read().filter((j) => j.type === "vzdump")) {
          const excluded = new Set(splitList(s.props.exclude).map(Number));
          if (s.props.all === "1") for (const g of guests) if (!excluded.has(g.vmid)) covered.add(g.vmid);
          for (const id of splitList(s.props.vmid)) covered.add(Number(id));
        }
        const out = [];
        for (const g of guests) {
          if (covered.has(g.vmid)) continue;
          const file = await ctx.backend.readConfig(g.type, g.vmid);
          if (file?.config.template === "1") continue;
          out.push({ vmid: g.vmid, type: g.type, name: (g.type === "lxc" ? file?.config.hostname : file?.config.name) ?? "" });
        }
        return out;
      },
    },
  ];
}
