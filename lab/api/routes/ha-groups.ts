// /cluster/ha/groups, served so that a 9.x lab, which never has an /etc/pve/ha/groups.cfg, refuses every call in
// pve-ha-manager's words as PVE 9 does once HA groups are migrated to rules (an 8.x lab: see `refuse`).
import type { ApiContext } from "../context";
import { fail, notImplemented } from "../errors";
import type { Request, Route } from "../router";
import type { ParamSchema } from "../../pve/schema";

const GROUP = { type: "string", format: "pve-configid" } as const;
const OPTIONS: ParamSchema = {
  comment: { type: "string", maxLength: 4096, optional: true },
  nofailback: { type: "boolean", optional: true },
  restricted: { type: "boolean", optional: true },
};
const NODES = { type: "string", format: "pve-ha-node-list" } as const;

/**
 * A handler refusing the call: `what` is Groups.pm's verb phrase ("index groups", "create group", …). An 8.x lab would
 * have to keep groups, which it does not: it answers them as it answers any route it does not serve, 501 "Method '…'
 * not implemented" (handler.ts), though only after the parameter checks, which a route it lacks skips.
 */
const refuse = (ctx: ApiContext, what: string) => (r: Request) => {
  if (ctx.version.version.startsWith("8.")) throw notImplemented(r.method, r.path);
  throw fail(`cannot ${what}: ha groups have been migrated to rules`);
};

export function haGroupsRoutes(ctx: ApiContext): Route[] {
  return [
    { method: "GET", path: "/cluster/ha/groups", schema: {}, handler: refuse(ctx, "index groups") },
    {
      method: "POST",
      path: "/cluster/ha/groups",
      schema: { group: GROUP, nodes: NODES, ...OPTIONS, type: { type: "string", enum: ["group"], optional: true } },
      handler: refuse(ctx, "create group"),
    },
    { method: "GET", path: "/cluster/ha/groups/{group}", schema: { group: GROUP }, handler: refuse(ctx, "read group") },
    {
      method: "PUT",
      path: "/cluster/ha/groups/{group}",
      schema: {
        group: GROUP,
        nodes: { ...NODES, optional: true },
        ...OPTIONS,
        delete: { type: "string", format: "pve-configid-list", maxLength: 4096, optional: true },
        digest: { type: "string", maxLength: 64, optional: true },
      },
      handler: refuse(ctx, "update group"),
    },
    { method: "DELETE", path: "/cluster/ha/groups/{group}", schema: { group: GROUP }, handler: refuse(ctx, "delete group") },
  ];
}
