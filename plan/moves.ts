// Guests whose node changed since they were deployed, and how each one gets there: a container Proxmox can migrate
// (restart mode: stopped, its volumes sent to the new node, started there; same vmid, same data) is migrated; one it
// cannot (a golden template, a clone made on its template's node, passed-through devices, bind mounts of the old
// node's datasets) and every VM are backed up on the old node, deleted and created anew. The run says which before it
// happens, and whether a backup is taken. A guest the cluster moved without Phoenix (HA recovery after a node failed,
// an admin's `pct migrate`) is followed from where it runs once the definition moves it too (adopted there, or
// migrated on); while the definition keeps it on the node it left, or when Phoenix cannot migrate it, the up is
// refused before anything is touched, with the fix. Pure.
import { type Deployment, replacementCauses } from "./deployment";
import type { Plan, PlannedMachine } from "./types";

export interface Move {
  guest: string;
  from: string;
  to: string;
  /** migrate: Proxmox moves it with its data (from === to: it is already there); replace: deleted on `from`, made anew on `to`. */
  how: "migrate" | "replace";
  /** The node the last up left it on, when the cluster moved it from there without Phoenix (then `from` is where it runs). */
  recorded?: string;
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
  found: ReadonlyMap<string, string> = new Map(),
): PlannedMoves {
  const nodes: Record<string, string> = previous
    ? Object.fromEntries(Object.values(previous.guests).map((g) => [g.name, g.node]))
    : { ...lockPlacements };
  const replaced = new Set<string>();
  for (const [name, p] of Object.entries(previous?.guests ?? {})) {
    const n = next.guests[name];
    if (n && replacementCauses(p, n).some((c) => c.field !== "node")) replaced.add(name);
  }
  const elsewhere = movedElsewhere(plan, nodes, found, replaced);
  const followed = new Set(elsewhere.moves.map((m) => m.guest));
  const recordedNodes = Object.fromEntries(Object.entries(nodes).filter(([name]) => !followed.has(name)));
  const moves = [...elsewhere.moves, ...movedGuests(plan, recordedNodes, replaced)].sort(
    (a, b) => order(plan, a.guest) - order(plan, b.guest),
  );
  const migrated = new Set(moves.filter((m) => m.how === "migrate").map((m) => m.guest));
  for (const [name, p] of Object.entries(previous?.guests ?? {})) {
    const n = next.guests[name];
    const movedByReplacement = moves.some((m) => m.guest === name && m.how === "replace");
    if (p.migrated && n && p.source === n.source && !replaced.has(name) && !movedByReplacement) migrated.add(name);
  }
  return { moves, migrated, refused: elsewhere.refused, notes: elsewhere.notes };
}

export interface PlannedMoves {
  moves: Move[];
  migrated: Set<string>;
  /** Guests the cluster moved without Phoenix that it cannot follow: the up stops before anything is touched. */
  refused: string[];
  /** Said, not refused: guests gone from the definition that run on another node than the last up left them on. */
  notes: string[];
}

const order = (plan: Plan, name: string) => plan.machines.findIndex((m) => m.name === name);

/**
 * Guests found running on another node than the last up left them on (`found`: guest → node, from the cluster). One
 * whose planned node changed too is followed from there: adopted where it runs when the plan puts it there, else
 * migrated on to its planned node (its placement is replaced either way, which keeps its container from being deleted
 * when it is imported anew). Refused: one planned on the node it left (bringing it back imports a container the state
 * may still hold, and Pulumi deletes what an import replaces), and one Phoenix cannot migrate or replaces anyway
 * (replacing it would delete it where the record says and make a vmid the cluster still holds).
 */
function movedElsewhere(
  plan: Plan,
  recorded: Readonly<Record<string, string>>,
  found: ReadonlyMap<string, string>,
  replaced: ReadonlySet<string>,
): { moves: Move[]; refused: string[]; notes: string[] } {
  const moves: Move[] = [];
  const refused: string[] = [];
  const planned = new Set(plan.machines.map((m) => m.name));
  const outside = (name: string, at: string, was: string) =>
    `${name} runs on node '${at}', not on '${was}' where the last up left it (moved outside Phoenix: an HA recovery or a manual migration)`;
  for (const m of plan.machines) {
    const was = recorded[m.name];
    const at = found.get(m.name);
    if (was === undefined || at === undefined || at === was) continue;
    const blocker = replaced.has(m.name) ? "another change replaces it" : migrationBlocker(m);
    if (!blocker && m.node === was) {
      // Bringing it back to a node its records still name would have to import its container again, which deletes
      // the container the state may still hold (the same guest, then back on that node): never done by itself.
      refused.push(
        `${outside(m.name, at, was)}; Phoenix does not bring it back to '${was}' by itself. To keep it where it runs, set ` +
          `its node to '${at}' (it is adopted there; setting '${was}' again later migrates it back); nothing was touched`,
      );
      continue;
    }
    if (blocker) {
      const tool = m.type === "vm" ? "qm" : "pct";
      refused.push(
        `${outside(m.name, at, was)}; Phoenix cannot follow it (${blocker}): move it back with '${tool} migrate ${m.vmid} ${was}' ` +
          `on node '${at}' (or wait for HA to fail it back) and run again; nothing was touched`,
      );
      continue;
    }
    // Its node changes in the definition too, so its placement is replaced: the container is imported where it ends up.
    const message =
      at === m.node
        ? `${outside(m.name, at, was)}; the definition puts it there, so it is adopted where it runs (nothing moves)`
        : `${outside(m.name, at, was)}: it migrates from node '${at}' to node '${m.node}' (restart mode: stopped, its ` +
          `volumes sent to '${m.node}', started there; same vmid, its data kept)`;
    moves.push({ guest: m.name, from: at, to: m.node, how: "migrate", recorded: was, message });
  }
  const notes = [...found]
    .filter(([name, at]) => !planned.has(name) && recorded[name] !== undefined && recorded[name] !== at)
    .map(
      ([name, at]) =>
        `${outside(name, at, recorded[name]!)}; it is no longer in the definition, but Phoenix deletes a guest only on the node ` +
        `it left it on: it stays on '${at}' (remove it there yourself once its data is safe)`,
    );
  return { moves, refused, notes };
}
