// POST /cluster/ha/resources/{sid}/migrate and …/relocate: requests to move an HA resource, with pve-ha-manager's
// checks and answers (bpg's provider migrates HA-managed VMs this way; `ha-manager migrate/relocate` and the GUI too),
// carried out by the lab itself, which runs no CRM or LRM (carryOutHaRequest in api/migrate.ts).
import type { ApiContext } from "../context";
import { fail } from "../errors";
import type { HaStack } from "../ha-stack";
import { carryOutHaRequest } from "../migrate";
import type { Route } from "../router";
import { NODE } from "../../pve/lxc-schema";
import { SID, parseSid } from "./ha";

/**
 * service_is_ha_managed. Proxmox's check_service_state then refuses a resource in the CRM's error state ("must be
 * disabled and fixed first"); the lab's derived CRM state is never `error` (no LRM of its reports a failure), so that
 * check is not made here rather than deriving the whole HA view for a refusal that cannot come.
 */
function assertManaged(ha: HaStack, sid: string): void {
  const state = ha.states().get(sid);
  if (state === undefined || state === "ignored") throw fail(`resource '${sid}' is not HA managed`);
}

/**
 * The request queued (`migrate <sid> <node>`) and its answer: PVE 8 returns nothing; PVE 9 the sid and node, and the
 * resources comigrated or blocking by resource-affinity rules, which the lab leaves out as it enforces no rule (it
 * neither moves those resources along nor refuses on their account).
 */
async function request(ctx: ApiContext, ha: HaStack, cmd: "migrate" | "relocate", params: Record<string, string>) {
  const s = await parseSid(ctx, params.sid!);
  const sid = `${s.type}:${s.name}`;
  assertManaged(ha, sid);
  carryOutHaRequest(ctx, cmd, Number(s.name), params.node!);
  return ctx.version.version.startsWith("8.") ? null : { sid, "requested-node": params.node! };
}

export function haRequestRoutes(ctx: ApiContext, ha: HaStack): Route[] {
  return (["migrate", "relocate"] as const).map((cmd) => ({
    method: "POST",
    path: `/cluster/ha/resources/{sid}/${cmd}`,
    schema: { sid: SID, node: NODE },
    handler: (r) => request(ctx, ha, cmd, r.params),
  }));
}
