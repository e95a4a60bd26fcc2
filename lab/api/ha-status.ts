// The HA manager's state for the lab's cluster, as pve-ha-manager's CRM and LRMs would have written it to
// /etc/pve/ha/manager_status and each node's lrm_status, derived on every request: the lab runs no CRM or LRM (no
// fencing, no watchdog, nothing started or recovered), so it comes from resources.cfg, where the guests are and the
// requests being carried out, and every timestamp is the time of the request.
import { createHash } from "node:crypto";
import { type ApiContext, clusterNodes } from "./context";
import type { HaStack } from "./ha-stack";
import type { GuestType } from "../pve/backend";

/** A resource as read_and_check_resources_config gives it: its options with their defaults, and its guest's node. */
export interface ServiceConfig {
  state: string;
  max_restart: number;
  max_relocate: number;
  /** From PVE 9.0. */
  failback?: number;
  comment?: string;
  /** Where the guest is; absent when no node has it. */
  node?: string;
}

/** A service's entry in the manager status: the CRM's state for it, its node, its migration target. */
export interface ServiceStatus {
  node: string;
  state: string;
  uid: string;
  running?: number;
  target?: string;
}

export interface HaView {
  /** The time of the request, in seconds: every timestamp the status carries. */
  time: number;
  /** The CRM master: the cluster's first node. */
  master: string;
  nodes: string[];
  config: Record<string, ServiceConfig>;
  /** What the CRM keeps per service: not for ignored resources (the CRM drops them) nor guests no node has. */
  services: Record<string, ServiceStatus>;
}

/**
 * compute_new_uuid's md5_base64 over the state and sid: stable where the CRM's is random (it also mixes in its pid, the
 * time and a counter); the lab's LRM reports no results under it.
 */
const uid = (state: string, sid: string) => createHash("md5").update(`${state}${sid}`).digest("base64").replace(/=+$/, "");

const num = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Number(v));

/** The cluster's HA state now: each resource's config with defaults, and the CRM's state as the lab's guests stand. */
export async function haView(ctx: ApiContext, ha: HaStack): Promise<HaView> {
  const nodes = clusterNodes(ctx);
  const guests = new Map<number, { node: ApiContext; type: GuestType }>();
  for (const node of nodes) for (const g of await node.backend.listGuests()) guests.set(g.vmid, { node, type: g.type });
  const pve8 = ctx.version.version.startsWith("8.");
  const view: HaView = {
    time: Math.floor(Date.now() / 1000),
    master: nodes[0]!.node,
    nodes: nodes.map((n) => n.node),
    config: {},
    services: {},
  };
  for (const r of ha.resources.read().resources) {
    const sid = `${r.type}:${r.name}`;
    const guest = /^\d+$/.test(r.name) ? guests.get(Number(r.name)) : undefined;
    const state = r.options.state === undefined || r.options.state === "enabled" ? "started" : r.options.state;
    view.config[sid] = {
      state,
      ...(pve8 ? {} : { failback: num(r.options.failback, 1) }),
      max_restart: num(r.options.max_restart, 1),
      max_relocate: num(r.options.max_relocate, 1),
      ...(r.options.comment !== undefined ? { comment: r.options.comment } : {}),
      ...(guest ? { node: guest.node.node } : {}),
    };
    if (state === "ignored" || !guest) continue;
    const motion = ha.motions.get(sid);
    if (motion) view.services[sid] = { node: motion.node, state: motion.cmd, target: motion.target, uid: uid(motion.cmd, sid) };
    else if (state !== "started") view.services[sid] = { node: guest.node.node, state: "stopped", uid: uid("stopped", sid) };
    else {
      const running = (await guest.node.backend.runtime(guest.type, Number(r.name))).status === "running";
      view.services[sid] = {
        node: guest.node.node,
        state: "started",
        uid: uid("started", sid),
        ...(running ? { running: 1 } : {}),
      };
    }
  }
  return view;
}

/** The LRM's active_service_count: services on the node, or moving to it, that the CRM has not stopped. */
export function activeServices(view: HaView, node: string): number {
  return Object.values(view.services).filter((s) => (s.node === node || s.target === node) && s.state !== "stopped").length;
}

/** A node's lrm_status: the LRM holds the agent lock ('active') while it has active services, and waits for it otherwise. */
export function lrmStatus(view: HaView, node: string) {
  const state = activeServices(view, node) ? "active" : "wait_for_agent_lock";
  return { mode: "active", results: {}, state, timestamp: view.time };
}

/** The CRM master's manager_status: every node online, the services' states. */
export function managerStatus(view: HaView) {
  return {
    master_node: view.master,
    node_status: Object.fromEntries(view.nodes.map((n) => [n, "online"])),
    service_status: view.services,
    timestamp: view.time,
  };
}

/** pve-ha-manager's get_verbose_service_state: what status/current shows as a service's state. */
export function verboseState(sc: ServiceConfig, ss: ServiceStatus | undefined): string {
  const req = sc.state;
  if (req === "ignored") return "ignored";
  if (sc.node === undefined) return "not found";
  if (!ss) return "queued";
  const cur = ss.state;
  if (cur === "stopped") return req === "started" ? "starting" : req === "disabled" ? "disabled" : cur;
  if (cur === "started") return !ss.running ? "starting" : req === "stopped" || req === "disabled" ? "stopping" : cur;
  if (cur === "error" && req === "disabled") return "clearing error flag";
  return cur;
}
