// Version, the node list and status, the node's network, worker tasks (status, log, stop) and
// query-url-metadata: what the provider calls at startup and while waiting on operations.
import { existsSync, readFileSync, statfsSync } from "node:fs";
import { cpus, loadavg, machine, release, version } from "node:os";
import type { ApiContext } from "../context";
import { clusterNodes, requireNode } from "../context";
import { fail } from "../errors";
import { NODE } from "../../pve/lxc-schema";
import type { Route } from "../router";
import { parseUpid } from "../../pve/tasks";

/** /proc/meminfo's swap lines in bytes (zeros where there is none). */
function swap(): { free: number; total: number; used: number } {
  let info = "";
  try {
    info = readFileSync("/proc/meminfo", "utf8");
  } catch {
    // not Linux: no swap to report
  }
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(info)?.[1] ?? 0) * 1024;
  const total = kib("SwapTotal");
  const free = kib("SwapFree");
  return { free, total, used: total - free };
}

/** GET /nodes/{node}/status as pve-manager's Nodes.pm fills it (this machine's kernel, load and root filesystem). */
function nodeStatus(ctx: ApiContext, hardware: { cpus: number; memory: number }, uptime: number): Record<string, unknown> {
  const used = Math.floor(hardware.memory / 4);
  const fs = statfsSync("/");
  const [cpu] = cpus();
  return {
    uptime,
    idle: 0,
    loadavg: loadavg().map((l) => l.toFixed(2)),
    cpu: 0.02,
    wait: 0,
    cpuinfo: {
      cpus: hardware.cpus,
      cores: hardware.cpus,
      sockets: 1,
      model: cpu?.model ?? "unknown",
      mhz: String(cpu?.speed ?? 0),
      user_hz: 100,
      hvm: "1",
      flags: "",
    },
    memory: {
      total: hardware.memory,
      used,
      free: hardware.memory - used,
      // pve-manager 9 added it; 8.4's node status has no `available`
      ...(ctx.version.version.startsWith("8.") ? {} : { available: hardware.memory - used }),
    },
    swap: swap(),
    ksm: { shared: 0 },
    rootfs: {
      total: fs.blocks * fs.bsize,
      avail: fs.bavail * fs.bsize,
      free: fs.bfree * fs.bsize,
      used: (fs.blocks - fs.bfree) * fs.bsize,
    },
    "current-kernel": { sysname: "Linux", release: release(), version: version(), machine: machine() },
    "boot-info": { mode: existsSync("/sys/firmware/efi") ? "efi" : "legacy-bios" },
    kversion: `Linux ${release()} ${version()}`,
    pveversion: `pve-manager/${ctx.version.version}/${ctx.version.repoid}`,
  };
}

/** A task's owner as Tasks.pm shows it: a token's UPID user `user@realm!name` splits into `user` and `tokenid`. */
function taskUser(authid: string): { user: string; tokenid?: string } {
  const bang = authid.indexOf("!");
  return bang === -1 ? { user: authid } : { user: authid.slice(0, bang), tokenid: authid.slice(bang + 1) };
}

export function nodeRoutes(ctx: ApiContext, hardware: { cpus: number; memory: number }): Route[] {
  const started = Date.now();
  const uptime = () => Math.floor((Date.now() - started) / 1000);
  const task = (p: Record<string, string>) => {
    requireNode(ctx, p.node!);
    const upid = parseUpid(p.upid!);
    if (!upid) throw fail(`unable to parse worker upid '${p.upid}'`);
    const t = ctx.tasks.get(p.upid!);
    if (!t || upid.node !== ctx.node) throw fail(`no such task`);
    return t;
  };
  const upidParams = { node: NODE, upid: { type: "string", maxLength: 256 } } as const;
  return [
    { method: "GET", path: "/version", schema: {}, handler: () => ({ ...ctx.version, console: "xtermjs" }) },
    {
      method: "GET",
      path: "/nodes",
      schema: {},
      // every node of the lab's cluster (they share this machine: its CPUs and memory)
      handler: () =>
        clusterNodes(ctx).map((n) => ({
          node: n.node,
          id: `node/${n.node}`,
          type: "node",
          status: "online",
          level: "",
          cpu: 0.02,
          maxcpu: hardware.cpus,
          mem: Math.floor(hardware.memory / 4),
          maxmem: hardware.memory,
          uptime: uptime(),
          ssl_fingerprint: "",
        })),
    },
    {
      method: "GET",
      path: "/nodes/{node}",
      schema: { node: NODE },
      handler: (r) => {
        requireNode(ctx, r.params.node!);
        return ["lxc", "qemu", "storage", "tasks", "network", "status", "version", "query-url-metadata"].map((name) => ({
          name,
        }));
      },
    },
    {
      method: "GET",
      path: "/nodes/{node}/status",
      schema: { node: NODE },
      handler: (r) => {
        requireNode(ctx, r.params.node!);
        return nodeStatus(ctx, hardware, uptime());
      },
    },
    {
      method: "GET",
      path: "/nodes/{node}/version",
      schema: { node: NODE },
      handler: (r) => {
        requireNode(ctx, r.params.node!);
        return ctx.version;
      },
    },
    {
      method: "GET",
      path: "/nodes/{node}/network",
      schema: {
        node: NODE,
        type: {
          type: "string",
          enum: [
            "bridge",
            "bond",
            "eth",
            "alias",
            "vlan",
            "OVSBridge",
            "OVSBond",
            "OVSPort",
            "OVSIntPort",
            "vnet",
            "fabric",
            "any_bridge",
            "any_local_bridge",
            "include_sdn",
          ],
          optional: true,
        },
      },
      handler: async (r) => {
        requireNode(ctx, r.params.node!);
        return (await ctx.backend.listNetwork())
          .filter((n) => !r.params.type || r.params.type === n.type || (r.params.type.startsWith("any_") && n.type === "bridge"))
          .map((n, i) => {
            const [address, prefix] = (n.cidr ?? "").split("/");
            return {
              iface: n.iface,
              type: n.type,
              active: 1,
              autostart: 1,
              priority: i + 1,
              families: ["inet"],
              method: n.cidr ? "static" : "manual",
              method6: "manual",
              ...(n.cidr ? { cidr: n.cidr, address, netmask: prefix } : {}),
              ...(n.gateway ? { gateway: n.gateway } : {}),
              ...(n.type === "bridge" ? { bridge_ports: "", bridge_stp: "off", bridge_fd: "0" } : {}),
            };
          });
      },
    },
    {
      method: "GET",
      path: "/nodes/{node}/tasks",
      schema: {
        node: NODE,
        limit: { type: "integer", minimum: 0, optional: true },
        start: { type: "integer", minimum: 0, optional: true },
        vmid: { type: "integer", optional: true },
        typefilter: { type: "string", optional: true },
        source: { type: "string", optional: true },
        errors: { type: "boolean", optional: true },
        userfilter: { type: "string", optional: true },
      },
      handler: (r) => {
        requireNode(ctx, r.params.node!);
        return ctx.tasks
          .list()
          .filter((t) => !r.params.vmid || t.id === r.params.vmid)
          .filter((t) => !r.params.typefilter || t.type === r.params.typefilter)
          .reverse()
          .slice(Number(r.params.start ?? 0), Number(r.params.start ?? 0) + Number(r.params.limit ?? 50))
          .map((t) => ({
            upid: t.upid,
            node: t.node,
            pid: t.pid,
            pstart: t.pstart,
            starttime: t.starttime,
            type: t.type,
            id: t.id,
            ...taskUser(t.user),
            ...(t.status === "stopped" ? { status: t.exitstatus, endtime: t.endtime } : {}),
          }));
      },
    },
    {
      method: "GET",
      path: "/nodes/{node}/tasks/{upid}",
      schema: upidParams,
      handler: (r) => {
        task(r.params);
        return [{ name: "log" }, { name: "status" }];
      },
    },
    {
      method: "GET",
      path: "/nodes/{node}/tasks/{upid}/status",
      schema: upidParams,
      handler: (r) => {
        const t = task(r.params);
        return {
          upid: t.upid,
          node: t.node,
          pid: t.pid,
          pstart: t.pstart,
          starttime: t.starttime,
          type: t.type,
          id: t.id,
          ...taskUser(t.user),
          status: t.status,
          ...(t.status === "stopped" ? { exitstatus: t.exitstatus } : {}),
        };
      },
    },
    {
      method: "GET",
      path: "/nodes/{node}/tasks/{upid}/log",
      schema: {
        ...upidParams,
        start: { type: "integer", minimum: 0, optional: true },
        limit: { type: "integer", minimum: 0, optional: true },
        download: { type: "boolean", optional: true },
      },
      handler: (r) => {
        const t = task(r.params);
        const start = Number(r.params.start ?? 0);
        const limit = Number(r.params.limit ?? 50);
        return t.log.slice(start, start + limit).map((text, i) => ({ n: start + i + 1, t: text }));
      },
    },
    {
      method: "DELETE",
      path: "/nodes/{node}/tasks/{upid}",
      schema: upidParams,
      handler: (r) => {
        task(r.params);
        return null;
      },
    },
    {
      method: "GET",
      path: "/nodes/{node}/query-url-metadata",
      schema: {
        node: NODE,
        url: { type: "string", pattern: "https?://.*" },
        "verify-certificates": { type: "boolean", optional: true },
      },
      handler: async (r) => {
        requireNode(ctx, r.params.node!);
        try {
          return await ctx.backend.queryUrl(r.params.url!, r.params["verify-certificates"] !== "0");
        } catch (e) {
          throw fail((e as Error).message);
        }
      },
    },
  ];
}
