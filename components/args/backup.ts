// Plan → arguments of the backup resources: a node's API for the dynamic providers, a guest's backup guard and
// lifecycle snapshots, and proxmoxve.backup.Job for scheduled jobs; each node's API in plain, for the program's
// question where guests run. Pure: no resources are created here.
import type * as proxmox from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import type { PveApi } from "../../provisioners/engine/pve-api";
import type { PlannedBackupJob, PlannedMachine, PlannedNode } from "../../plan/plan";

/** The node's API as the backup and snapshot providers reach it, with the same credentials as its provider. */
export function pveApiArgs(
  node: PlannedNode,
  secrets: { apiToken?: pulumi.Input<string>; password?: pulumi.Input<string> },
): pulumi.Output<PveApi> | undefined {
  const api = node.api;
  if (!api) return undefined;
  return pulumi.secret(
    pulumi.all([secrets.apiToken, secrets.password]).apply(([token, password]) => plainPveApi(api, token, password)),
  );
}

/** A node's API with its credentials in plain: the token, and the user with the password when both are given. */
function plainPveApi(api: NonNullable<PlannedNode["api"]>, token?: string, password?: string): PveApi {
  return {
    endpoint: api.endpoint,
    insecure: api.insecure,
    ...(api.fingerprint !== undefined ? { fingerprint: api.fingerprint } : {}),
    ...(token ? { token } : {}),
    ...(api.username && password ? { username: api.username, password } : {}),
  };
}

/** A machine's backup settings, with the schema's defaults when a plan predates them. */
export function backupOf(m: PlannedMachine): { beforeReplace: boolean; keep: number } {
  return m.backup ?? { beforeReplace: m.kind === "guest", keep: 3 };
}

/** What a guest's backup guard is told (its vmid and API come from resources). */
export function guardSettings(m: PlannedMachine, node: PlannedNode) {
  const b = backupOf(m);
  return {
    node: m.node,
    type: m.type === "vm" ? ("qemu" as const) : ("lxc" as const),
    guest: m.name,
    enabled: b.beforeReplace,
    ...(node.backup ? { storage: node.backup.storage } : {}),
    mode: node.backup?.mode ?? ("snapshot" as const),
    compress: node.backup?.compress ?? "zstd",
    keep: b.keep,
  };
}

export function backupJobArgs(j: PlannedBackupJob): proxmox.backup.JobArgs {
  return {
    resourceId: j.id,
    schedule: j.schedule,
    storage: j.storage,
    node: j.node,
    ...(j.vmids ? { vmids: j.vmids.map(String) } : {}),
    ...(j.all ? { all: true } : {}),
    ...(j.exclude ? { excludes: j.exclude.map(String) } : {}),
    mode: j.mode,
    compress: j.compress,
    ...(j.prune ? { pruneBackups: Object.fromEntries(Object.entries(j.prune).map(([k, v]) => [k, String(v)])) } : {}),
    enabled: j.enabled,
    ...(j.notes !== undefined ? { notesTemplate: j.notes } : {}),
    ...(j.mailto ? { mailtos: j.mailto } : {}),
  };
}

/**
 * Each node's API with its secrets resolved by `secret` (a stack secret's plain value, used for this question only),
 * in the definition's order; nodes without an API or its credentials are left out.
 */
export function clusterApis(
  plan: { nodes: readonly PlannedNode[] },
  secret: (name: string) => string | undefined,
): { node: string; api: PveApi }[] {
  const plain = (ref: { secret: string } | string | undefined) => (typeof ref === "object" ? secret(ref.secret) : ref);
  return plan.nodes.flatMap((n) => {
    const a = n.api;
    if (!a) return [];
    const token = plain(a.token);
    const password = plain(a.password);
    if (!token && !(a.username && password)) return [];
    return [{ node: n.name, api: plainPveApi(a, token, password) }];
  });
}
