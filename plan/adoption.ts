// What the program does with guests `phoenix adopt` took over (definition/adoption.ts): import each running guest
// under the program's own URN until the stack holds it, keep its create-time origin and what Proxmox cannot change in
// place, and let its provisioning check first. Pure: the record, the plan and what the stack last deployed in.
import type { AdoptedGuest, AdoptionRecord, Observed } from "../definition/adoption";
import type { Plan, PlannedMachine } from "./types";

/** Provider properties that only matter when a guest is made: an adopted guest never made here keeps its own. */
export const CREATE_TIME_FIELDS: Record<"lxc" | "vm", string[]> = {
  // the clone block (full or linked, which template and snapshot), the OS template file, root's keys and password
  lxc: ["clone", "operatingSystem", "initialization.userAccount"],
  vm: ["clone"],
};

export interface AdoptionDecision {
  /** Import the running guest (node/vmid) under the program's URN; unset once the stack holds it. */
  importId?: string;
  /** Provider property paths left as the guest runs: its create-time origin and its record's `keep`. */
  ignoreChanges: string[];
  /** What it is where Proxmox cannot change it in place, as adopt found it. */
  observed: Observed;
  /** Its provisioning steps check first and install only what is missing. */
  checkFirst: boolean;
}

export interface Adoption {
  /** By machine name: guests kept as they ran. A guest rebuilt from the definition has none. */
  guests: Map<string, AdoptionDecision>;
  /** PCI mapping id → import id, for mappings that existed before the stack. */
  pciMappings: Map<string, string>;
  /** Record entries the program could not use, said as warnings. */
  notes: string[];
}

/** Names of the machines the stack already holds (from its previous deployment record). */
export type InState = ReadonlySet<string>;

function matches(e: AdoptedGuest, m: PlannedMachine): boolean {
  return e.vmid === m.vmid && e.type === m.type && e.node === m.node;
}

export function adoptionOf(record: AdoptionRecord, plan: Pick<Plan, "machines" | "nodes">, inState: InState): Adoption {
  const guests = new Map<string, AdoptionDecision>();
  const notes: string[] = [];
  for (const [name, e] of Object.entries(record.guests)) {
    const m = plan.machines.find((x) => x.name === name);
    if (!m) continue; // no longer in the definition: the up deletes it like any guest it holds (and says so first)
    if (!matches(e, m)) {
      notes.push(
        `adoption record: '${name}' was adopted as ${e.type} ${e.vmid} on ${e.node}, but the definition says ${m.type} ${m.vmid} on ` +
          `${m.node}; it is not treated as adopted (run phoenix adopt again)`,
      );
      continue;
    }
    const held = inState.has(name);
    if (e.rebuild && held) continue;
    if (e.rebuild) notes.push(`'${name}' is rebuilt by the up after this one: this up imports it as it runs first`);
    guests.set(name, {
      ...(held ? {} : { importId: `${m.node}/${m.vmid}` }),
      ignoreChanges: [...new Set([...CREATE_TIME_FIELDS[m.type], ...e.keep])],
      observed: e.observed,
      checkFirst: true,
    });
  }
  const pciMappings = new Map<string, string>();
  const planned = new Set(plan.nodes.flatMap((n) => n.gpuMappings.map((g) => g.id)));
  for (const id of record.pciMappings) if (planned.has(id)) pciMappings.set(id, id);
  return { guests, pciMappings, notes };
}

/** A mount point as adopt observes it and the plan declares it. */
export function mountKey(source: string, path: string): string {
  return `${source} -> ${path}`;
}

export function plannedMounts(m: PlannedMachine): string[] {
  return m.mountPoints.map((mp) => mountKey(mp.source, mp.path)).sort();
}

/**
 * The provider property paths where a running container differs from its definition in a way the provider would
 * replace it for (Proxmox cannot change them in place): kept as it runs while it is adopted. VMs move disks and
 * grow them in place; their other differences show in adopt's preview.
 */
export function keepPaths(m: PlannedMachine, observed: Observed): string[] {
  if (m.type !== "lxc") return [];
  const keep: string[] = [];
  if (observed.unprivileged !== undefined && observed.unprivileged !== m.unprivileged) keep.push("unprivileged");
  if (m.disk && observed.diskStorage !== undefined && observed.diskStorage !== m.disk.storage) keep.push("disk.datastoreId");
  // a smaller disk would be a replacement (Proxmox never shrinks one); a larger one grows in place
  if (m.disk && observed.diskSize !== undefined && observed.diskSize > m.disk.size) keep.push("disk.size");
  if (observed.mounts !== undefined && observed.mounts.join("\n") !== plannedMounts(m).join("\n")) keep.push("mountPoints");
  return keep;
}
