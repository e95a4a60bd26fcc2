// Guests the plan cannot place (an error naming each node's reason) and spread groups it could not keep apart.
import { type Problem, error, warning } from "../definition/problems";
import type { Index } from "../definition/resolve";
import type { Placement } from "../definition/placement";

export function checkPlacement(ix: Index, placement: Placement): Problem[] {
  const out: Problem[] = [];
  const pathOf = (name: string) => ix.byName.get(name)?.path ?? "guests";
  const nodes = ix.def.nodes.map((n) => n.name).join(", ");
  for (const u of placement.unplaced)
    out.push(
      error(
        `${pathOf(u.guest)}.node`,
        `no node takes '${u.guest}': ${Object.entries(u.refusals)
          .map(([n, why]) => `'${n}': ${why}`)
          .join("; ")}`,
        `lower its cores or memory, raise a node's cores, memory or overcommit, declare what it needs on a node, or set node to one of: ${nodes}`,
      ),
    );
  for (const c of placement.spreadConflicts)
    out.push(
      warning(
        `${pathOf(c.guest)}.spread`,
        `'${c.guest}' shares node '${c.node}' with ${c.with.map((w) => `'${w}'`).join(", ")} of spread group '${c.group}': no other node takes it`,
        "add a node, free room on another, or lower its needs",
      ),
    );
  ix.def.guests.forEach((g, i) => {
    if (g.gpuCount !== undefined && g.gpus !== undefined)
      out.push(error(`guests[${i}].gpuCount`, "give either gpus (indexes) or gpuCount", "remove one of them"));
  });
  return out;
}
