// Guests whose node changed since the lock file was written. Proxmox cannot move a container between nodes here (the
// cluster issue brings migration), so such a guest is backed up on its old node, deleted and created anew on the new
// one: the run says so, and says whether a backup will be taken, before it happens. Pure.
import type { Plan } from "./types";

export interface Move {
  guest: string;
  from: string;
  to: string;
  /** Where its backup goes on the old node; undefined when none is taken. */
  backupStorage?: string;
  message: string;
}

/** Guest name → node, as the lock file records it. */
export function placementsOf(plan: Plan): Record<string, string> {
  return Object.fromEntries(plan.machines.map((m) => [m.name, m.node]).sort(([a], [b]) => (a! < b! ? -1 : 1)));
}

export function movedGuests(plan: Plan, previous: Readonly<Record<string, string>>): Move[] {
  const out: Move[] = [];
  for (const m of plan.machines) {
    const from = previous[m.name];
    if (from === undefined || from === m.node) continue;
    const backup = m.backup?.beforeReplace ?? m.kind === "guest";
    const storage = backup ? plan.nodes.find((n) => n.name === from)?.backup?.storage : undefined;
    const what = m.type === "vm" ? "VM" : "container";
    const head = `${m.name} moves from node '${from}' to node '${m.node}': Proxmox does not migrate it here, so it is deleted on '${from}' and created anew on '${m.node}'`;
    const message = !backup
      ? `${head}, WITHOUT a backup (backupBeforeReplace: false): whatever its ${what} holds is lost`
      : storage
        ? `${head}, after a backup to storage '${storage}' of '${from}' (phoenix restore ${m.name} brings it back where that storage is reachable)`
        : `${head}; node '${from}' has no backup storage, so the deletion will stop until it has one`;
    out.push({ guest: m.name, from, to: m.node, ...(storage ? { backupStorage: storage } : {}), message });
  }
  return out;
}
