// Guests' `ha:` (Proxmox HA): nodes the definition knows, a state `up` does not fight, and what HA cannot do for a
// guest (recover it on another node of a one-node cluster, or move node-local GPUs and bind mounts with it).
import { type Problem, error, warning } from "../definition/problems";
import type { Index, Machine } from "../definition/resolve";
import type { Guest } from "../definition/schema";
import { type HaSpreadMember, haSpreadGroups } from "../definition/ha-spread";

export function checkHa(ix: Index): Problem[] {
  const out: Problem[] = [];
  const known = ix.def.nodes.map((n) => n.name);
  const members: (HaSpreadMember & { m: Machine; g: Guest })[] = [];
  for (const m of ix.machines) {
    const g = m.def as Guest;
    if (m.kind !== "guest" || !g.ha) continue;
    members.push({ name: g.name, node: ix.effective(m).node?.name ?? "", ...(g.spread ? { spread: g.spread } : {}), m, g });
    checkGuest(ix, m, g, known, out);
  }
  const pathOf = (name: string) => `${members.find((x) => x.name === name)!.m.path}.ha`;
  for (const { group, guests, shared } of haSpreadGroups(members)) {
    if (shared.length > 0) {
      out.push(
        warning(
          pathOf(shared[0]!.guest),
          `spread group '${group}': HA guests ${shared.map((x) => `'${x.guest}'`).join(", ")} share node '${shared[0]!.node}', so no HA rule keeps the group apart (HA would move one away, and the next up back)`,
          "add a node or free room on one, so that placement keeps them apart",
        ),
      );
      continue;
    }
    for (const name of guests) {
      const x = members.find((y) => y.name === name)!;
      if (new Set([x.node, ...(x.g.ha!.nodes ?? [])]).size > 1)
        out.push(
          warning(
            `${pathOf(name)}.nodes`,
            `'${name}' is in spread group '${group}', which HA keeps apart, and Proxmox takes no node priorities beside that rule: its nodes are equals (HA leaves it on its own while that node is up)`,
            "list only its own node, or take it out of the group, to silence this",
          ),
        );
    }
  }
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
