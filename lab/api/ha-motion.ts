// pve-ha-manager's get_resource_motion_info (PVE::HA::Config), which the migration preconditions of PVE 9 report: the
// HA resources a guest's resource-affinity rules would move along with it, and those that keep it off a node.
import type { ApiContext } from "./context";
import { disjointSets, checkFeasibility } from "./ha-rules-check";
import type { HaRule } from "./ha-rules-config";
import type { HaStack } from "./ha-stack";
import { haView } from "./ha-status";

export interface BlockingResource {
  sid: string;
  /** Only resource affinity: node affinity as a cause came with a later pve-ha-manager than the lab follows. */
  cause: "resource-affinity";
}

export interface MotionInfo {
  /** Resources in positive affinity with the guest, which would go to the same node. */
  dependent: string[];
  /** Per node: resources in negative affinity with the guest that are on (or bound for) that node. */
  blocking: Record<string, BlockingResource[]>;
}

/**
 * The guest's positive and negative partners after read_and_compile_rules_config: rules that fail the feasibility
 * checks and disabled ones dropped, connected positive rules merged, and the negative rules of any resource in the
 * guest's positive set applying to the guest too (create_implicit_negative_resource_affinity_rules).
 */
function affinitive(rules: HaRule[], nodes: string[], sid: string): { together: string[]; separate: string[] } {
  const dropped = checkFeasibility(rules, nodes);
  const kept = rules.filter((r) => r.type === "resource-affinity" && r.disable === undefined && !dropped[r.rule]);
  const set = disjointSets(kept.filter((r) => r.affinity === "positive")).find((s) => s.resources.has(sid));
  const members = set ? [...set.resources] : [sid];
  const separate = new Set<string>();
  for (const neg of kept.filter((r) => r.affinity === "negative"))
    for (const m of members) if (neg.resources.includes(m)) for (const c of neg.resources) if (c !== m) separate.add(c);
  return { together: members.filter((m) => m !== sid).sort(), separate: [...separate].sort() };
}

/**
 * get_resource_motion_info for an HA-managed guest (`ct:100`, `vm:300`), its service states the ones the lab's HA
 * status derives (every node online, no ignored resource among them): a partner counts only when the CRM has a state
 * for it, and a negative partner blocks the node it is on and the node it is moving to.
 */
export async function motionInfo(ctx: ApiContext, ha: HaStack, sid: string): Promise<MotionInfo> {
  const view = await haView(ctx, ha);
  const { together, separate } = affinitive(ha.rules.read().rules, view.nodes, sid);
  const blocking: Record<string, BlockingResource[]> = {};
  for (const node of view.nodes)
    for (const csid of separate) {
      const ss = view.services[csid];
      if (!ss || ss.node !== node || (ss.target && ss.target !== node)) continue;
      (blocking[node] ??= []).push({ sid: csid, cause: "resource-affinity" });
    }
  return { dependent: together.filter((c) => view.services[c]), blocking };
}
