// The firewall log's API: /nodes/{node}/firewall/log (every line of the node's pve-firewall.log) and
// /nodes/{node}/{lxc,qemu}/{vmid}/firewall/log (the guest's lines: those starting with its vmid), paged as
// pve-firewall's dump_fw_logfile pages them, with the number of matching lines as `total` beside the data.
import { NODE, VMID } from "../../pve/lxc-schema";
import { dumpLog } from "../../pve/firewall-log";
import type { ParamSchema } from "../../pve/schema";
import { type ApiContext, requireNode } from "../context";
import { WithAttributes } from "../result-attributes";
import type { Route } from "../router";

const PAGE: ParamSchema = {
  start: { type: "integer", minimum: 0, optional: true },
  limit: { type: "integer", minimum: 0, optional: true },
  since: { type: "integer", minimum: 0, optional: true },
  until: { type: "integer", minimum: 0, optional: true },
};

function page(params: Record<string, string>) {
  const n = (k: string) => (params[k] === undefined ? undefined : Number(params[k]));
  return { start: n("start"), limit: n("limit"), since: n("since"), until: n("until") };
}

export function firewallLogRoutes(ctx: ApiContext): Route[] {
  const host: Route = {
    method: "GET",
    path: "/nodes/{node}/firewall/log",
    schema: { node: NODE, ...PAGE },
    handler: async ({ params }) => {
      requireNode(ctx, params.node!);
      const { total, data } = dumpLog(await ctx.backend.readFirewallLog(), page(params));
      return new WithAttributes(data, { total });
    },
  };
  // pve-firewall reads the node's log for any vmid (no config check): a guest gone keeps its lines
  const guests = (["lxc", "qemu"] as const).map((type): Route => ({
    method: "GET",
    path: `/nodes/{node}/${type}/{vmid}/firewall/log`,
    schema: { node: NODE, vmid: VMID, ...PAGE },
    handler: async ({ params }) => {
      requireNode(ctx, params.node!);
      const vmid = `${Number(params.vmid)} `;
      const { total, data } = dumpLog(await ctx.backend.readFirewallLog(), page(params), (l) => l.startsWith(vmid));
      return new WithAttributes(data, { total });
    },
  }));
  return [host, ...guests];
}
