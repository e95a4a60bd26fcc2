// The day-two verbs of `phoenix`, run in the project directory with a stack's config (like `pulumi`):
//   backups [guest]               the guests' backups on their nodes' backup storages
//   restore <guest> [--backup v]  Proxmox's restore of a backup over the guest (pct restore / qmrestore, force)
//   rollback <guest> [snapshot]   back to a snapshot (Phoenix's newest by default)
//   run-job <id>                  a backup job now, as the GUI's "Run now" does it (its options posted to vzdump)
// A restore or rollback refreshes the guest's resources in the stack, so the next `pulumi up` converges it again.
import { parseArgs } from "node:util";
import { isGuardBackup } from "../definition/backup-notes";
import type { PlannedMachine, PlannedNode } from "../plan/plan";
import { type Io, UsageError } from "./io";
import { ProxmoxClient, failureOf } from "./proxmox";
import { type StackContext, affectedBy, machineOf, nodeOf, openStack } from "./day-two-stack";

export type Opener = (stack: string) => Promise<StackContext>;

interface Backup {
  guest: string;
  vmid: number;
  node: string;
  volid: string;
  ctime: number;
  size: number;
  kind: string;
  protected: boolean;
  notes?: string;
}

const stamp = (epoch: number) => {
  const d = new Date(epoch * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
};
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const seconds = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

function stackOf(values: { stack?: string | boolean | undefined }): string {
  if (typeof values.stack !== "string" || values.stack === "") throw new UsageError("missing --stack <name>");
  return values.stack;
}

/** The backups of a node's guests on every storage of the node with backup content, newest first. */
async function nodeBackups(
  client: ProxmoxClient,
  node: PlannedNode,
  machines: PlannedMachine[],
  vmid?: number,
): Promise<Backup[]> {
  const storages = await client.call<{ storage: string }[]>("GET", `nodes/${node.name}/storage`, { content: "backup" });
  const out: Backup[] = [];
  for (const s of storages) {
    const list = await client.call<
      { volid: string; vmid?: number; ctime?: number; size: number; notes?: string; protected?: number }[]
    >("GET", `nodes/${node.name}/storage/${encodeURIComponent(s.storage)}/content`, {
      content: "backup",
      ...(vmid !== undefined ? { vmid } : {}),
    });
    for (const b of list) {
      const m = machines.find((x) => x.vmid === b.vmid);
      out.push({
        guest: m?.name ?? `(vmid ${b.vmid})`,
        vmid: b.vmid ?? 0,
        node: node.name,
        volid: b.volid,
        ctime: b.ctime ?? 0,
        size: b.size,
        kind: isGuardBackup(b.notes) ? "before deletion" : (b.notes ?? "-"),
        protected: b.protected === 1,
        ...(b.notes ? { notes: b.notes } : {}),
      });
    }
  }
  return out.sort((a, b) => b.ctime - a.ctime || (a.volid < b.volid ? 1 : -1));
}

export async function backupsCmd(args: string[], io: Io, open: Opener = openStack): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { stack: { type: "string" }, json: { type: "boolean" } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 1) throw new UsageError("backups takes at most one guest");
  const ctx = await open(stackOf(values));
  const guest = positionals[0] !== undefined ? machineOf(ctx.plan, positionals[0]) : undefined;
  const rows: Backup[] = [];
  for (const node of guest ? [nodeOf(ctx.plan, guest)] : ctx.plan.nodes.filter((n) => n.api)) {
    const client = await ProxmoxClient.login(ctx.api(node));
    const here = ctx.plan.machines.filter((m) => m.node === node.name);
    rows.push(...(await nodeBackups(client, node, here, guest?.vmid)));
  }
  if (values.json) io.out(JSON.stringify(rows, null, 2));
  else if (rows.length === 0) io.out(guest ? `no backups of ${guest.name} (vmid ${guest.vmid})` : "no backups");
  else {
    const table = [["GUEST", "VMID", "TAKEN", "SIZE", "KIND", "VOLID"]];
    for (const r of rows)
      table.push([
        r.guest,
        String(r.vmid),
        stamp(r.ctime),
        mib(r.size),
        `${r.kind}${r.protected ? " (protected)" : ""}`,
        r.volid,
      ]);
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table) io.out(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join("  "));
  }
  return 0;
}

type GuestStatus = { exists: false } | { exists: true; running: boolean; config: Record<string, unknown> };

async function statusOf(client: ProxmoxClient, m: PlannedMachine): Promise<GuestStatus> {
  const kind = m.type === "vm" ? "qemu" : "lxc";
  try {
    const s = await client.call<{ status: string }>("GET", `nodes/${m.node}/${kind}/${m.vmid}/status/current`);
    const config = await client.call<Record<string, unknown>>("GET", `nodes/${m.node}/${kind}/${m.vmid}/config`);
    return { exists: true, running: s.status === "running", config };
  } catch (e) {
    if (/does not exist/.test((e as Error).message)) return { exists: false };
    throw e;
  }
}

/** Refreshes the resources the guest's restore or rollback changed under (see affectedBy), and says what to run next. */
async function converge(ctx: StackContext, m: PlannedMachine, io: Io): Promise<void> {
  const affected = affectedBy(ctx.plan, m);
  const urns = await ctx.resourcesUnder(affected);
  if (urns.length === 0) {
    io.err(
      `warning: stack '${ctx.name}' holds no resources of '${m.name}': it did not make it, so \`pulumi up\` will not know it`,
    );
    return;
  }
  const apps = affected.filter((c) => c.type === "AppDeployment").map((c) => c.name);
  io.err(
    `refreshing ${urns.length} resource(s) of ${m.name}${apps.length ? ` and of the apps on it (${apps.join(", ")})` : ""} in stack '${ctx.name}'…`,
  );
  await ctx.refresh(urns);
  io.out(`run \`pulumi up --stack ${ctx.name}\` to converge ${m.name}${apps.length ? " and its apps" : ""} again`);
}

export async function restoreCmd(args: string[], io: Io, open: Opener = openStack): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { stack: { type: "string" }, backup: { type: "string" }, storage: { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError("restore takes one guest");
  const ctx = await open(stackOf(values));
  const m = machineOf(ctx.plan, positionals[0]!);
  const node = nodeOf(ctx.plan, m);
  const client = await ProxmoxClient.login(ctx.api(node));
  const available = await nodeBackups(client, node, [m], m.vmid);
  const chosen = values.backup ?? available[0]?.volid;
  if (!chosen) {
    io.err(`phoenix: no backup of ${m.name} (vmid ${m.vmid}) on node '${node.name}'`);
    return 1;
  }
  if (values.backup && !available.some((b) => b.volid === values.backup))
    io.err(`warning: ${values.backup} is not a backup of vmid ${m.vmid} listed on node '${node.name}'; restoring it anyway`);
  const kind = m.type === "vm" ? "qemu" : "lxc";
  const label = `${m.name} (${kind === "lxc" ? "CT" : "VM"} ${m.vmid})`;
  const t0 = Date.now();
  const status = await statusOf(client, m);
  const rootfs = status.exists ? String(status.config.rootfs ?? status.config.scsi0 ?? status.config.virtio0 ?? "") : "";
  const storage = values.storage ?? (rootfs ? rootfs.split(":")[0] : m.disk?.storage);
  if (!storage) throw new UsageError(`cannot tell where ${m.name}'s disk goes: give --storage`);
  if (status.exists && status.running) {
    io.err(`stopping ${label}`);
    const stop = await client.task("POST", `nodes/${m.node}/${kind}/${m.vmid}/status/stop`);
    if (stop.exitstatus !== "OK") throw new Error(`stopping ${label} failed: ${failureOf(stop)}`);
  }
  io.err(`restoring ${label} from ${chosen} onto storage '${storage}'`);
  const restore = await client
    .task("POST", `nodes/${m.node}/${kind}`, {
      vmid: m.vmid,
      ...(kind === "lxc" ? { ostemplate: chosen, restore: 1 } : { archive: chosen }),
      ...(status.exists ? { force: 1 } : {}),
      storage,
    })
    .catch((e: Error) => ({ upid: "", exitstatus: e.message.replace(/^POST \S+: /, ""), log: [] }));
  if (restore.exitstatus !== "OK") {
    io.err(`phoenix: restoring ${label} failed: ${failureOf(restore)}`);
    return 1;
  }
  if (m.kind === "guest") {
    const start = await client.task("POST", `nodes/${m.node}/${kind}/${m.vmid}/status/start`);
    if (start.exitstatus !== "OK") io.err(`warning: starting ${label} failed: ${failureOf(start)}`);
  }
  io.out(`restored ${label} from ${chosen} in ${seconds(t0)}`);
  await converge(ctx, m, io);
  return 0;
}

export async function rollbackCmd(args: string[], io: Io, open: Opener = openStack): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { stack: { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length < 1 || positionals.length > 2)
    throw new UsageError("rollback takes a guest and, optionally, a snapshot");
  const ctx = await open(stackOf(values));
  const m = machineOf(ctx.plan, positionals[0]!);
  const client = await ProxmoxClient.login(ctx.api(nodeOf(ctx.plan, m)));
  const kind = m.type === "vm" ? "qemu" : "lxc";
  const base = `nodes/${m.node}/${kind}/${m.vmid}/snapshot`;
  const snaps = (await client.call<{ name: string; snaptime?: number }[]>("GET", base))
    .filter((s) => s.name !== "current" && s.name !== "vzdump")
    .sort((a, b) => (a.snaptime ?? 0) - (b.snaptime ?? 0) || (a.name < b.name ? -1 : 1));
  const prefix = `${m.snapshots?.name ?? "final-form"}-`;
  const chosen = positionals[1] ?? [...snaps].reverse().find((s) => s.name.startsWith(prefix))?.name ?? snaps.at(-1)?.name;
  if (!chosen) {
    io.err(`phoenix: ${m.name} has no snapshot to roll back to`);
    return 1;
  }
  if (!snaps.some((s) => s.name === chosen)) {
    io.err(`phoenix: ${m.name} has no snapshot '${chosen}' (it has: ${snaps.map((s) => s.name).join(", ") || "none"})`);
    return 1;
  }
  const status = await statusOf(client, m);
  const t0 = Date.now();
  const t = await client
    .task("POST", `${base}/${chosen}/rollback`, status.exists && status.running ? { start: 1 } : {})
    .catch((e: Error) => ({ upid: "", exitstatus: e.message.replace(/^POST \S+: /, ""), log: [] }));
  if (t.exitstatus !== "OK") {
    io.err(`phoenix: rolling ${m.name} back to '${chosen}' failed: ${failureOf(t)}`);
    return 1;
  }
  io.out(`rolled ${m.name} (vmid ${m.vmid}) back to '${chosen}' in ${seconds(t0)}`);
  await converge(ctx, m, io);
  return 0;
}

/** What the GUI's "Run now" leaves out of a job before posting it to vzdump. */
const NOT_VZDUMP = ["enabled", "starttime", "dow", "id", "schedule", "type", "node", "comment", "next-run", "repeat-missed"];

export async function runJobCmd(args: string[], io: Io, open: Opener = openStack): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { stack: { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError("run-job takes a job id");
  const ctx = await open(stackOf(values));
  const nodes = ctx.plan.nodes.filter((n) => n.api);
  if (!nodes.length) throw new UsageError("the definition has no node with an api");
  const job = await (
    await ProxmoxClient.login(ctx.api(nodes[0]!))
  ).call<Record<string, unknown>>("GET", `cluster/backup/${encodeURIComponent(positionals[0]!)}`);
  const params: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(job))
    if (!NOT_VZDUMP.includes(k) && v !== null && v !== undefined)
      params[k] =
        typeof v === "object"
          ? Object.entries(v as Record<string, unknown>)
              .map(([a, b]) => `${a}=${String(b)}`)
              .join(",")
          : (v as string | number);
  params.all = params.all ? 1 : 0;
  if (!params.all) delete params.all;
  const targets = typeof job.node === "string" ? nodes.filter((n) => n.name === job.node) : nodes;
  if (!targets.length)
    throw new UsageError(`job '${positionals[0]}' runs on node '${String(job.node)}', which the definition does not know`);
  let failed = false;
  for (const node of targets) {
    const t0 = Date.now();
    const t = await (await ProxmoxClient.login(ctx.api(node))).task("POST", `nodes/${node.name}/vzdump`, params);
    for (const line of t.log.filter((l) => /^(INFO: Finished Backup|ERROR:)/.test(l))) io.err(`${node.name}: ${line}`);
    io.out(`job ${positionals[0]} on node '${node.name}': ${t.exitstatus === "OK" ? "OK" : failureOf(t)} (${seconds(t0)})`);
    failed ||= t.exitstatus !== "OK";
  }
  return failed ? 1 : 0;
}
