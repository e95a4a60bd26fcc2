// Guests' `ha:` (Proxmox HA): nodes the definition knows, a state `up` does not fight, and what HA cannot do for a
// guest (recover it on another node of a one-node cluster, or move node-local GPUs and bind mounts with it).
import { type Problem, error, warning } from "../definition/problems";
import type { Index, Machine } from "../definition/resolve";
import type { Guest } from "../definition/schema";

export function checkHa(ix: Index): Problem[] {
  const out: Problem[] = [];
  const known = ix.def.nodes.map((n) => n.name);
  const spreadMembers = new Map<string, string[]>();
  for (const m of ix.machines) {
    if (m.kind !== "guest") continue;
    const g = m.def as Guest;
    if (!g.ha) continue;
    if (g.spread) spreadMembers.set(g.spread, [...(spreadMembers.get(g.spread) ?? []), g.name]);
    checkGuest(ix, m, g, known, out);
  }
  for (const [group, names] of spreadMembers)
    if (names.length > known.length)
      out.push(
        warning(
          "guests",
          `spread group '${group}' has ${names.length} HA guests (${names.join(", ")}) and the cluster ${known.length} node(s): HA cannot keep them apart, and Proxmox disables that rule`,
          "add nodes, or take guests out of the group",
        ),
      );
  return out;
}

function checkGuest(ix: Index, m: Machine, g: Guest, known: string[], out: Problem[]) {
  const path = `${m.path}.ha`;
  const ha = g.ha!;
  const node = ix.effective(m).node?.name;
  if (ha.state === "stopped")
    out.push(
      error(
        `${path}.state`,
        `HA would keep '${g.name}' stopped while up starts it: each would undo the other`,
        "use started, or disabled / ignored to keep HA from acting on it",
      ),
    );
  const seen = new Set<string>();
  (ha.nodes ?? []).forEach((n, i) => {
    if (!known.includes(n))
      out.push(error(`${path}.nodes[${i}]`, `no node '${n}' in this definition`, `use one of: ${known.join(", ")}`));
    else if (seen.has(n)) out.push(error(`${path}.nodes[${i}]`, `node '${n}' is listed twice`, "list each node once"));
    seen.add(n);
  });
  const own = ha.nodes?.indexOf(node ?? "") ?? -1;
  if (node !== undefined && own > 0)
    out.push(
      error(
        `${path}.nodes`,
        `'${g.name}' runs on '${node}' but lists '${ha.nodes![0]}' first: HA would move it there and the next up back`,
        `list '${node}' first, or set node to '${ha.nodes![0]}'`,
      ),
    );
  if (known.length < 2)
    out.push(
      warning(path, `a one-node cluster: HA can restart '${g.name}' but has no other node to recover it on`, "add a node"),
    );
  const local = nodeLocal(ix, m, g);
  if (local && known.length > 1 && !(ha.strict && (ha.nodes ?? [node]).every((n) => n === node)))
    out.push(
      warning(
        path,
        `HA cannot recover '${g.name}' on another node: its ${local} stay on '${node ?? "its node"}'`,
        `set ha.nodes: [${node ?? "its node"}] and ha.strict: true to restart it only there`,
      ),
    );
}

/** What ties the guest to its node (HA's recovery would start it elsewhere without it), or undefined. */
function nodeLocal(ix: Index, m: Machine, g: Guest): string | undefined {
  if (ix.effective(m).gpus.length > 0) return "GPUs";
  if (g.mountPoints.length > 0) return "bind mounts of the node's datasets and paths";
  return undefined;
}
