// What the stack has deployed, guest by guest, as far as replacing or deleting one goes, and what changes between two
// such records: which guests an up replaces or deletes, the field that causes it, where their data lives, whether a
// backup is taken and whether protection refuses it. Pure: the program compares the record it left last time (a stack
// output) with the one its plan makes now, and says it before anything happens.
import type { AdoptionDecision } from "./adoption";
import { plannedMounts } from "./adoption";
import type { Plan, PlannedMachine } from "./types";

export interface DeployedGuest {
  name: string;
  vmid: number;
  node: string;
  type: "lxc" | "vm";
  kind: "guest" | "template";
  /** Its entry in the definition, e.g. guests[1]. */
  path: string;
  protect: boolean;
  /** How it was made: create:<base template>, clone:<template>, or adopted (it ran before the stack; origin kept). */
  source: string;
  /** The build of the golden template it is a clone of (its own for a golden template), else null. */
  build: string | null;
  unprivileged: boolean;
  diskStorage: string | null;
  diskSize: number | null;
  /** Its mount points, "<host path> -> <path>": the provider replaces a container whose set changes. */
  mounts: string[];
  /** The datasets its mount points put data on; none: its data lives only in its rootfs. */
  dataOn: string[];
  /** Whether a backup is taken before it is replaced or deleted. */
  backup: boolean;
  /** Moved between nodes by migration (plan/moves.ts): its create-time fields are what Proxmox read back after it. */
  migrated?: boolean;
}

export interface DeployedDataset {
  name: string;
  node: string;
  /** nodes[i].zfs.datasets[j] */
  path: string;
  protect: boolean;
}

export interface Deployment {
  version: 1;
  guests: Record<string, DeployedGuest>;
  datasets: Record<string, DeployedDataset>;
}

/**
 * Whether a backup is taken before the machine is replaced or deleted: its backupBeforeReplace (plan.backup); a plan
 * without it takes the schema's default (guests yes, golden templates no).
 */
export function backupBeforeReplace(m: PlannedMachine): boolean {
  return m.backup?.beforeReplace ?? m.kind === "guest";
}

/** The record of a plan as the up would leave it; adopted guests keep what Proxmox cannot change in place. */
export function deploymentOf(
  plan: Pick<Plan, "machines" | "nodes">,
  builds: ReadonlyMap<string, string>,
  adopted: ReadonlyMap<string, AdoptionDecision> = new Map(),
  migrated: ReadonlySet<string> = new Set(),
): Deployment {
  const guests: Record<string, DeployedGuest> = {};
  for (const m of plan.machines) {
    const kept = adopted.get(m.name);
    // What the provider leaves as the guest runs (its adoption's ignoreChanges) is what it stays; the rest is planned.
    const ignored = (...paths: string[]) => !!kept && paths.some((p) => kept.ignoreChanges.includes(p));
    const o = kept?.observed ?? {};
    const golden = m.kind === "template" ? m.name : m.source.kind === "clone" ? m.source.template : undefined;
    const plannedSize = m.disk?.size ?? null;
    guests[m.name] = {
      name: m.name,
      vmid: m.vmid,
      node: m.node,
      type: m.type,
      kind: m.kind,
      path: m.path,
      protect: m.protect,
      source: kept ? "adopted" : `${m.source.kind}:${m.source.template}`,
      build: kept ? null : ((golden !== undefined ? builds.get(golden) : undefined) ?? null),
      unprivileged: ignored("unprivileged") && o.unprivileged !== undefined ? o.unprivileged : m.unprivileged,
      diskStorage: ignored("disk", "disk.datastoreId") && o.diskStorage !== undefined ? o.diskStorage : (m.disk?.storage ?? null),
      diskSize: ignored("disk", "disk.size") && o.diskSize !== undefined ? o.diskSize : plannedSize,
      mounts: ignored("mountPoints") && o.mounts !== undefined ? [...o.mounts] : plannedMounts(m),
      dataOn: [...new Set(m.mountPoints.flatMap((mp) => (mp.dataset ? [mp.dataset] : [])))].sort(),
      backup: backupBeforeReplace(m),
      ...(migrated.has(m.name) ? { migrated: true } : {}),
    };
  }
  const datasets: Record<string, DeployedDataset> = {};
  plan.nodes.forEach((n, i) =>
    n.datasets.forEach((d, j) => {
      datasets[d.name] = { name: d.name, node: n.name, path: `nodes[${i}].zfs.datasets[${j}]`, protect: d.protect };
    }),
  );
  return { version: 1, guests, datasets };
}

export interface FieldChange {
  field: "node" | "vmid" | "type" | "source" | "build" | "unprivileged" | "diskStorage" | "diskSize" | "mounts";
  from: string;
  to: string;
}

export type Change =
  | { op: "replace"; guest: DeployedGuest; previous: DeployedGuest; because: FieldChange[] }
  | { op: "delete"; guest: DeployedGuest }
  | { op: "delete-dataset"; dataset: DeployedDataset };

const show = (v: unknown): string =>
  v === null || v === undefined ? "none" : Array.isArray(v) ? `[${v.join(", ")}]` : String(v);

/** Why the provider would replace `prev` to make `next`: the fields that cannot change in place, in that order. */
export function replacementCauses(prev: DeployedGuest, next: DeployedGuest): FieldChange[] {
  const out: FieldChange[] = [];
  for (const field of ["node", "vmid", "type", "source", "build", "unprivileged", "diskStorage"] as const) {
    // a guest that migrates keeps its vmid and data on the new node
    if (field === "node" && next.migrated) continue;
    // another template means another build anyway: the source says it
    if (field === "build" && prev.source !== next.source) continue;
    if (prev[field] !== next[field]) out.push({ field, from: show(prev[field]), to: show(next[field]) });
  }
  // a smaller disk is a replacement; a larger one grows in place
  if (prev.diskSize !== null && next.diskSize !== null && next.diskSize < prev.diskSize)
    out.push({ field: "diskSize", from: `${prev.diskSize} GiB`, to: `${next.diskSize} GiB` });
  if (next.type === "lxc" && prev.mounts.join("\n") !== next.mounts.join("\n"))
    out.push({ field: "mounts", from: show(prev.mounts), to: show(next.mounts) });
  return out;
}

/** Every guest the next up replaces or deletes, and every dataset it deletes, from the previous record to the next. */
export function changesBetween(prev: Deployment | undefined, next: Deployment): Change[] {
  if (!prev) return [];
  const out: Change[] = [];
  for (const [name, p] of Object.entries(prev.guests ?? {})) {
    const n = next.guests[name];
    if (!n) out.push({ op: "delete", guest: p });
    else {
      const because = replacementCauses(p, n);
      if (because.length > 0) out.push({ op: "replace", guest: n, previous: p, because });
    }
  }
  for (const [name, d] of Object.entries(prev.datasets ?? {}))
    if (!next.datasets[name]) out.push({ op: "delete-dataset", dataset: d });
  return out;
}

const LABEL: Record<FieldChange["field"], string> = {
  node: "node",
  vmid: "vmid",
  type: "type",
  source: "what it is made from",
  build: "its golden template's build",
  unprivileged: "unprivileged",
  diskStorage: "disk.storage",
  diskSize: "disk.size",
  mounts: "mountPoints",
};

export function describeCause(c: FieldChange): string {
  if (c.field === "source" && c.from === "adopted")
    return `it runs as adopted and the definition has it rebuilt as ${c.to.replace(":", " of ")}`;
  if (c.field === "build") return "its golden template is rebuilt (its features, scripts or settings changed)";
  return `${LABEL[c.field]} changes from ${c.from} to ${c.to}`;
}

function what(g: Pick<DeployedGuest, "type" | "vmid" | "node">): string {
  return `${g.type === "lxc" ? "CT" : "VM"} ${g.vmid} on ${g.node}`;
}

/** Where its data lives, said plainly. */
export function dataNote(g: DeployedGuest): string {
  return g.dataOn.length === 0
    ? "its data lives only in its rootfs, which goes with it"
    : `its rootfs goes with it; its data on dataset${g.dataOn.length > 1 ? "s" : ""} ${g.dataOn.join(", ")} stays`;
}

const sentence = (s: string) => s[0]!.toUpperCase() + s.slice(1);

export function backupNote(g: DeployedGuest): string {
  return g.backup ? "a backup is taken first (backupBeforeReplace)" : "no backup is taken (backupBeforeReplace: false)";
}

/** One line per change, for the preview's log and `phoenix plan --stack`. */
export function describeChange(c: Change): string {
  if (c.op === "delete-dataset")
    return `dataset '${c.dataset.name}' on ${c.dataset.node} will be DESTROYED with its data: it is no longer in the definition`;
  const g = c.guest;
  const head =
    c.op === "replace"
      ? `${g.kind} '${g.name}' (${what(c.previous)}) will be REPLACED: ${c.because.map(describeCause).join("; ")}`
      : `${g.kind} '${g.name}' (${what(g)}) will be DELETED: it is no longer in the definition`;
  return `${head}. ${sentence(dataNote(g))}; ${backupNote(g)}.`;
}

/** How the program prefixes a refusal it reports as a warning instead of stopping (PHOENIX_REPORT_ONLY=1: adopt, plan --stack). */
export const REFUSED = "refused: ";

/** The refusals protection makes for these changes: one message per guest or dataset, naming it, why and the way out. */
export function protectionRefusals(changes: Change[]): string[] {
  const out: string[] = [];
  for (const c of changes) {
    if (c.op === "replace" && c.guest.protect)
      out.push(
        `${c.guest.kind} '${c.guest.name}' (${what(c.previous)}) is protected: this up would replace it because ` +
          `${c.because.map(describeCause).join("; ")}. To rebuild it anyway set protect: false on ${c.guest.path} ` +
          `(in the same up is fine). ${sentence(dataNote(c.guest))}; ${backupNote(c.guest)}.`,
      );
    if (c.op === "delete" && c.guest.protect)
      out.push(
        `${c.guest.kind} '${c.guest.name}' (${what(c.guest)}) is protected: this up would delete it (it is no longer in the ` +
          `definition). To delete it, put it back with protect: false, run pulumi up, then remove it. ${sentence(dataNote(c.guest))}.`,
      );
    if (c.op === "delete-dataset" && c.dataset.protect)
      out.push(
        `dataset '${c.dataset.name}' on ${c.dataset.node} is protected: this up would destroy it and its data (it is no longer in ` +
          `the definition). To destroy it, put it back with protect: false, run pulumi up, then remove it.`,
      );
  }
  return out;
}

/** What `pulumi destroy` is refused with while anything is protected; "" when nothing is. */
export function destroyRefusal(d: Deployment): string {
  const guests = Object.values(d.guests).filter((g) => g.protect);
  const datasets = Object.values(d.datasets).filter((x) => x.protect);
  if (guests.length + datasets.length === 0) return "";
  const lines = [
    ...guests.map(
      (g) =>
        `${g.kind} '${g.name}' (${what(g)}) is protected: destroy would delete it. To delete it set protect: false on ${g.path} and ` +
        `run pulumi up first. ${sentence(dataNote(g))}.`,
    ),
    ...datasets.map(
      (x) =>
        `dataset '${x.name}' on ${x.node} is protected: destroy would destroy it and its data. To destroy it set protect: false on ` +
        `${x.path} and run pulumi up first.`,
    ),
  ];
  return `pulumi destroy refused; nothing was deleted.\n${lines.join("\n")}`;
}
