// The provider's arguments for HA resources and rules, from the plan's HA specs. Pure: no resources are created here.
import type * as proxmox from "@muhlba91/pulumi-proxmoxve";
import type { PlannedHaResource, PlannedHaRule } from "../../plan/ha";

export function haResourceArgs(r: PlannedHaResource): proxmox.HaresourceArgs {
  return {
    resourceId: r.sid,
    state: r.state,
    maxRestart: r.maxRestart,
    maxRelocate: r.maxRelocate,
    ...(r.comment !== undefined ? { comment: r.comment } : {}),
  };
}

export function haRuleArgs(r: PlannedHaRule): proxmox.HaruleArgs {
  return {
    rule: r.rule,
    type: r.type,
    resources: r.resources,
    comment: r.comment,
    ...(r.nodes ? { nodes: r.nodes, strict: r.strict ?? false } : {}),
    ...(r.affinity ? { affinity: r.affinity } : {}),
  };
}
