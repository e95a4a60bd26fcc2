// Version, the node list and status, the node's network, worker tasks (status, log, stop) and
// query-url-metadata: what the provider calls at startup and while waiting on operations.
import type { ApiContext } from "../context";
import { requireNode } from "../context";
import { fail } from "../errors";
import { NODE } from "../../pve/lxc-schema";
import type { Route } from "../router";
import { parseUpid } from "../../pve/tasks";

export interface NodeNetwork {
  iface: string;
  type: "bridge" | "eth";
  /** IPv4 address and prefix, e.g. 10.100.0.1/24 */
  cidr?: string;
  gateway?: string;
}

export function nodeRoutes(ctx: ApiContext, network: NodeNetwork[], hardware: { cpus: number; memory: number }): Route[] {
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
      handler: () => [
        {
          node: ctx.node,
          id: `node/${ctx.node}`,
          type: "node",
          status: "online",
          level: "",
          cpu: 0.02,
          maxcpu: hardware.cpus,
          mem: Math.floor(hardware.memory / 4),
          maxmem: hardware.memory,
          uptime: uptime(),
          ssl_fingerprint: "",
        },
      ],
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
        return {
          uptime: uptime(),
          cpu: 0.02,
          cpuinfo: { cpus: hardware.cpus, cores: hardware.cpus, sockets: 1, model: "Phoenix lab CPU" },
          memory: {
            total: hardware.memory,
            used: Math.floor(hardware.memory / 4),
            free: hardware.memory - Math.floor(hardware.memory / 4),
          },
          pveversion: `pve-manager/${ctx.version.version}/${ctx.version.repoid}`,
          kversion: "Linux (lab)",
        };
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
            "any_bridge",
            "any_local_bridge",
            "include_sdn",
          ],
          optional: true,
        },
      },
      handler: (r) => {
        requireNode(ctx, r.params.node!);
        return network
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
            user: t.user,
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
          user: t.user,
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
