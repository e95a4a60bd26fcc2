// Identity and references: vmids, names, nodes, templates, dependencies, cycles.
import { dependencyOrder, topoSort } from "../definition/graph";
import { type Problem, error } from "../definition/problems";
import type { Index } from "../definition/resolve";

export const VMID_MIN = 100;
export const VMID_MAX = 999_999_999;

export function checkIdentity(ix: Index): Problem[] {
  const out: Problem[] = [];
  const { def } = ix;

  const seenNodes = new Map<string, number>();
  def.nodes.forEach((n, i) => {
    const first = seenNodes.get(n.name);
    if (first !== undefined)
      out.push(
        error(`nodes[${i}].name`, `node '${n.name}' is declared twice (also nodes[${first}])`, "give each node one entry"),
      );
    else seenNodes.set(n.name, i);
  });

  // vmids: guests, golden templates and VM base templates share Proxmox's one id space.
  const vmids = new Map<number, string>();
  const names = new Map<string, string>();
  const claim = (path: string, vmid: number | undefined, name: string, label: string) => {
    if (vmid !== undefined) {
      if (vmid < VMID_MIN || vmid > VMID_MAX)
        out.push(
          error(
            `${path}.vmid`,
            `vmid ${vmid} is outside Proxmox's range ${VMID_MIN}–${VMID_MAX}`,
            "pick a vmid from 100 to 999999999",
          ),
        );
      const other = vmids.get(vmid);
      if (other)
        out.push(error(`${path}.vmid`, `vmid ${vmid} is already used by ${other}`, "give each guest and template its own vmid"));
      else vmids.set(vmid, `${path} (${label})`);
    }
    const otherName = names.get(name);
    if (otherName)
      out.push(
        error(
          `${path}.name`,
          `name '${name}' is already used by ${otherName}`,
          "names must be unique across guests and templates",
        ),
      );
    else names.set(name, path);
  };
  def.templates.forEach((t, i) => {
    const path = `templates[${i}]`;
    claim(path, t.vmid, t.name, t.name);
  });
  def.guests.forEach((g, i) => claim(`guests[${i}]`, g.vmid, g.name, g.name));

  for (const [name, { t, path }] of ix.bases) {
    if (t.type === "vm" && t.vmid === undefined)
      out.push(
        error(`${path}.vmid`, `VM base template '${name}' needs a vmid (a Proxmox VM template is a VM)`, "add vmid, e.g. 9000"),
      );
    if (t.type === "lxc" && t.vmid !== undefined)
      out.push(
        error(
          `${path}.vmid`,
          `LXC base template '${name}' is a file on a storage and takes no vmid`,
          "remove vmid, or make it a golden template with a parent",
        ),
      );
    checkNodeRef(ix, path, t.node, out);
  }

  for (const m of ix.machines) {
    // A guest without node is placed (validate/placement.ts says when none takes it).
    if (m.kind === "template" || m.def.node !== undefined) checkNodeRef(ix, m.path, m.def.node, out);
    const field = m.kind === "guest" ? "template" : "parent";
    const guestSource = ix.byName.get(m.from);
    const base = ix.bases.get(m.from);
    if (!base && !guestSource) {
      out.push(
        error(
          `${m.path}.${field}`,
          `unknown template '${m.from}'`,
          `declare it under templates, or use one of: ${templateNames(ix).join(", ") || "(none declared)"}`,
        ),
      );
    } else if (guestSource && guestSource.kind === "guest") {
      out.push(
        error(
          `${m.path}.${field}`,
          `'${m.from}' is a guest, not a template`,
          "clone from a template: move it under templates with a parent",
        ),
      );
    } else {
      const srcType = base ? base.t.type : guestSource!.type;
      if (srcType !== m.type)
        out.push(
          error(
            `${m.path}.${field}`,
            `${m.type} '${m.name}' cannot be made from ${srcType} template '${m.from}'`,
            `use a ${m.type} template`,
          ),
        );
      if (guestSource && m.def.node && guestSource.def.node && m.def.node !== guestSource.def.node)
        out.push(
          error(
            `${m.path}.node`,
            `'${m.name}' is on node '${m.def.node}' but its template '${m.from}' is on '${guestSource.def.node}'`,
            "clone on the template's node",
          ),
        );
    }
    m.def.dependsOn.forEach((d, j) => {
      if (!ix.byName.has(d))
        out.push(
          error(
            `${m.path}.dependsOn[${j}]`,
            `unknown dependency '${d}'`,
            "name a guest or golden template declared in this definition",
          ),
        );
      else if (d === m.name) out.push(error(`${m.path}.dependsOn[${j}]`, `'${m.name}' depends on itself`, "remove it"));
    });
  }

  const cloneCycle = topoSort(
    ix.machines.filter((m) => m.kind === "template").map((m) => m.name),
    new Map(ix.machines.map((m) => [m.name, [m.from]])),
  ).cycle;
  if (cloneCycle) {
    const m = ix.byName.get(cloneCycle[0]!)!;
    out.push(
      error(
        `${m.path}.parent`,
        `templates clone from each other in a cycle: ${cloneCycle.join(" → ")}`,
        "one template in the chain must come from a base template",
      ),
    );
  } else {
    const cycle = dependencyOrder(ix).cycle;
    if (cycle) {
      const m = ix.byName.get(cycle[0]!)!;
      out.push(error(`${m.path}.dependsOn`, `dependency cycle: ${cycle.join(" → ")}`, "remove one of these dependencies"));
    }
  }
  return out;
}

function checkNodeRef(ix: Index, path: string, node: string | undefined, out: Problem[]) {
  if (node === undefined) {
    if (ix.def.nodes.length > 1)
      out.push(
        error(
          `${path}.node`,
          "node is required when the definition declares more than one node",
          `set node to one of: ${[...ix.nodes.keys()].join(", ")}`,
        ),
      );
  } else if (!ix.nodes.has(node)) {
    out.push(error(`${path}.node`, `unknown node '${node}'`, `use one of: ${[...ix.nodes.keys()].join(", ")}`));
  }
}

function templateNames(ix: Index): string[] {
  return [...ix.bases.keys(), ...ix.machines.filter((m) => m.kind === "template").map((m) => m.name)];
}
