// GET /cluster/ha/status, …/current and …/manager_status shaped as pve-ha-manager's Status.pm answers for a quorate
// cluster (PVE 9.0's: no fencing entry, no arm/disarm children), over the lab's derived HA state (ha-status.ts): no
// CRM or LRM runs here (no fencing, no watchdog), the first node stands for the CRM master and every node for an LRM.
import type { ApiContext } from "../context";
import {
  type HaView,
  type ServiceConfig,
  type ServiceStatus,
  haView,
  lrmStatus,
  managerStatus,
  verboseState,
} from "../ha-status";
import type { HaStack } from "../ha-stack";
import type { Route } from "../router";

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad2 = (n: number) => String(n).padStart(2, "0");

/** Perl's scalar localtime of a timestamp: `Thu Sep  4 10:03:07 2025`. */
export function perlLocaltime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const time = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, " ")} ${time} ${d.getFullYear()}`;
}

/** A service's entry: where the CRM has it, its verbose state, and the resource's settings. */
function serviceEntry(sid: string, sc: ServiceConfig, ss?: ServiceStatus): Record<string, unknown> {
  const node = ss ? ss.node : (sc.node ?? null);
  const state = verboseState(sc, ss);
  const { state: requested, node: _where, ...settings } = sc;
  return {
    id: `service:${sid}`,
    type: "service",
    sid,
    node,
    ...(ss ? { crm_state: ss.state } : {}),
    state,
    status: `${sid} (${node ?? "---"}, ${state})`,
    request_state: requested,
    ...settings,
  };
}

/**
 * Status.pm's `current`: quorum, the master (idle when no resource is configured, as a CRM with nothing to manage
 * goes), each node's LRM (idle when it waits for the agent lock without active services), each service.
 */
function current(ctx: ApiContext, view: HaView): Record<string, unknown>[] {
  const at = perlLocaltime(view.time);
  const crm = Object.keys(view.config).length ? "active" : "idle";
  const res: Record<string, unknown>[] = [
    { id: "quorum", type: "quorum", node: ctx.node, status: "OK", quorate: 1 },
    { id: "master", type: "master", node: view.master, status: `${view.master} (${crm}, ${at})`, timestamp: view.time },
  ];
  for (const node of [...view.nodes].sort()) {
    const lrm = lrmStatus(view, node).state === "active" ? "active" : "idle";
    res.push({ id: `lrm:${node}`, type: "lrm", node, status: `${node} (${lrm}, ${at})`, timestamp: view.time });
  }
  const managed = Object.keys(view.services).sort();
  for (const sid of managed) res.push(serviceEntry(sid, view.config[sid]!, view.services[sid]));
  // resources the CRM does not keep (ignored, or without a guest), as Status.pm shows those "not yet processed"
  for (const sid of Object.keys(view.config).sort()) if (!view.services[sid]) res.push(serviceEntry(sid, view.config[sid]!));
  return res;
}

export function haStatusRoutes(ctx: ApiContext, ha: HaStack): Route[] {
  return [
    {
      method: "GET",
      path: "/cluster/ha/status",
      schema: {},
      handler: () => [{ name: "current" }, { name: "manager_status" }],
    },
    {
      method: "GET",
      path: "/cluster/ha/status/current",
      schema: {},
      handler: async () => current(ctx, await haView(ctx, ha)),
    },
    {
      method: "GET",
      path: "/cluster/ha/status/manager_status",
      schema: {},
      handler: async () => {
        const view = await haView(ctx, ha);
        return {
          manager_status: managerStatus(view),
          quorum: { node: ctx.node, quorate: 1 },
          lrm_status: Object.fromEntries([...view.nodes].sort().map((n) => [n, lrmStatus(view, n)])),
        };
      },
    },
  ];
}
