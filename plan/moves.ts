// Guests whose node changed since they were deployed, and how each one gets there: a container Proxmox can migrate
// (restart mode: stopped, its volumes sent to the new node, started there; same vmid, same data) is migrated; one it
// cannot (a golden template, a clone made on its template's node, passed-through devices, bind mounts of the old
// node's datasets) and every VM are backed up on the old node, deleted and created anew. The run says which before it
// happens, and whether a backup is taken. Pure.
import { type Deployment, replacementCauses } from "./deployment";
import type { Plan, PlannedMachine } from "./types";

export interface Move {
  guest: string;
  from: string;
  to: string;
  /** migrate: Proxmox moves it with its data; replace: deleted on `from`, created anew on `to`. */
  how: "migrate" | "replace";
  /** Where its backup goes on the old node before a replacement; undefined when none is taken (or it migrates). */
  backupStorage?: string;
  message: string;
}

/** Guest name → node, as the lock file records it. */
export function placementsOf(plan: Plan): Record<string, string> {
  return Object.fromEntries(plan.machines.map((m) => [m.name, m.node]).sort(([a], [b]) => (a! < b! ? -1 : 1)));
}

/** Why Proxmox cannot migrate this machine to another node here; undefined when it can (a container, restart mode). */
export function migrationBlocker(m: PlannedMachine): string | undefined {
  if (m.type === "vm") return "a VM is not migrated by Phoenix";
  if (m.kind === "template") return "a golden template stays on the node its clones are made on";
  if (m.source.kind === "clone") return `a clone is made on the node of its golden template '${m.source.template}'`;
  if (m.gpus.length > 0 || m.devices.length > 0) return "its passed-through devices belong to the node";
  if (m.mountPoints.length > 0) return "its mount points bind the old node's datasets";
  return undefined;
}

/**
 * The guests planned on another node than `previous` says, in plan order. `blocked` names guests that are replaced
 * anyway (another field forces it): they move by replacement, not migration.
 */
export function movedGuests(
  plan: Plan,
  previous: Readonly<Record<string, string>>,
  blocked: ReadonlySet<string> = new Set(),
): Move[] {
  const out: Move[] = [];
  for (const m of plan.machines) {
    const from = previous[m.name];
    if (from === undefined || from === m.node) continue;
    const blocker = blocked.has(m.name) ? "it is replaced anyway" : migrationBlocker(m);
    if (!blocker) {
      const message =
        `${m.name} migrates from node '${from}' to node '${m.node}' (restart mode: stopped, its volumes sent to ` +
        `'${m.node}', started there; same vmid, its data kept)`;
      out.push({ guest: m.name, from, to: m.node, how: "migrate", message });
      continue;
    }
    const what = m.type === "vm" ? "VM" : "container";
    const backup = m.backup?.beforeReplace ?? m.kind === "guest";
    const storage = backup ? plan.nodes.find((n) => n.name === from)?.backup?.storage : undefined;
    const head = `${m.name} moves from node '${from}' to node '${m.node}': it is not migrated (${blocker}), so it is deleted on '${from}' and created anew on '${m.node}'`;
    const message = !backup
      ? `${head}, WITHOUT a backup (backupBeforeReplace: false): whatever its ${what} holds is lost`
      : storage
        ? `${head}, after a backup to storage '${storage}' of '${from}' (phoenix restore ${m.name} brings it back where that storage is reachable)`
        : `${head}; node '${from}' has no backup storage, so the deletion will stop until it has one`;
    out.push({ guest: m.name, from, to: m.node, how: "replace", ...(storage ? { backupStorage: storage } : {}), message });
  }
  return out;
}

/**
 * The moves of this up and the guests whose record says `migrated`: those migrating now, and those migrated before
 * that are neither replaced now nor made from something else since. The previous nodes come from the last up's record
 * (written only when an up succeeds), else from the lock file. `next` is the plan's record without migrations.
 */
export function planMoves(
  plan: Plan,
  previous: Deployment | undefined,
  lockPlacements: Readonly<Record<string, string>>,
  next: Deployment,
): { moves: Move[]; migrated: Set<string> } {
  const nodes = previous
    ? Object.fromEntries(Object.values(previous.guests).map((g) => [g.name, g.node]))
    : { ...lockPlacements };
  const replaced = new Set<string>();
  for (const [name, p] of Object.entries(previous?.guests ?? {})) {
    const n = next.guests[name];
    if (n && replacementCauses(p, n).some((c) => c.field !== "node")) replaced.add(name);
  }
  const moves = movedGuests(plan, nodes, replaced);
  const migrated = new Set(moves.filter((m) => m.how === "migrate").map((m) => m.guest));
  for (const [name, p] of Object.entries(previous?.guests ?? {})) {
    const n = next.guests[name];
    const movedByReplacement = moves.some((m) => m.guest === name && m.how === "replace");
    if (p.migrated && n && p.source === n.source && !replaced.has(name) && !movedByReplacement) migrated.add(name);
  }
  return { moves, migrated };
}
