// Where a container lives in the cluster, kept by Phoenix because the provider cannot move one: its node_name forces
// a new container. A node change the plan can migrate replaces this resource, and its create migrates the guest
// through the API (restart mode, as `pct migrate --restart`): same vmid, its volumes sent to the new node, started
// again there. The container is registered `deletedWith` this resource, so the provider never deletes the guest on
// the node it left; in exchange, removing the guest (or a destroy) deletes it here, after its backup guard ran.
import * as pulumi from "@pulumi/pulumi";
import { type LogTarget, openRunLog } from "../engine/log";
import { type PveApi, type PveSession, isMissing, pveSession, taskFailure } from "../engine/pve-api";
import { plainState } from "../engine/state";

export interface GuestPlacementInputs {
  api: PveApi;
  /** The node the plan puts the guest on. */
  node: string;
  vmid: number;
  guest: string;
  /** Whether a node change moves the guest (migration); false: the container's replacement does (GPU, bind mounts). */
  migrate: boolean;
  /**
   * Where the guest is when this up moves it: the node the last up left it on, or the one the cluster moved it to
   * without Phoenix (plan/moves.ts). Only a guest found there is migrated: a vmid found on another node (a new
   * guest's) is someone else's guest, never touched. Not compared by diff.
   */
  from?: string;
  /** Restart-mode timeout: how long the container may take to shut down before it is stopped (s). */
  timeout: number;
  log?: LogTarget;
}

export type GuestPlacementOutputs = GuestPlacementInputs;

/** The node a guest runs on now, from /cluster/resources; undefined when the cluster has no such guest. */
export async function locate(s: PveSession, vmid: number): Promise<{ node: string; status: string; lock?: string } | undefined> {
  const all = await s.call<{ vmid?: number; node?: string; type?: string; status?: string; lock?: string }[]>(
    "GET",
    "cluster/resources",
    { type: "vm" },
  );
  const hit = all.find((r) => r.type === "lxc" && Number(r.vmid) === vmid);
  return hit?.node ? { node: hit.node, status: hit.status ?? "unknown", ...(hit.lock ? { lock: hit.lock } : {}) } : undefined;
}

/** A node change that migrates replaces the placement (its create moves the guest); anything else is in place. */
export function diffPlacement(olds: GuestPlacementOutputs, news: GuestPlacementInputs): pulumi.dynamic.DiffResult {
  const replaces = [...(olds.vmid !== news.vmid ? ["vmid"] : []), ...(olds.node !== news.node && news.migrate ? ["node"] : [])];
  const changed = (["node", "guest", "migrate", "timeout"] as const).some((k) => olds[k] !== news[k]);
  const apiChanged = JSON.stringify(olds.api) !== JSON.stringify(news.api);
  return { changes: replaces.length > 0 || changed || apiChanged, replaces };
}

/**
 * Moves the guest from `i.from` to `i.node` when this up moves it and it may migrate; a guest not made yet, already
 * there, or found on any other node is left to its container (whose import or create then says what is wrong).
 */
export async function placeGuest(i: GuestPlacementInputs): Promise<void> {
  if (!i.migrate || i.from === undefined || i.from === i.node) return;
  const s = await pveSession(i.api);
  const here = await locate(s, i.vmid);
  if (!here || here.node !== i.from) return;
  const log = openRunLog(i.log);
  const running = here.status === "running";
  const t0 = Date.now();
  log.note(`migrating ${i.guest} (CT ${i.vmid}) from node '${here.node}' to '${i.node}'${running ? " in restart mode" : ""}`);
  const task = await s.task("POST", `nodes/${here.node}/lxc/${i.vmid}/migrate`, {
    target: i.node,
    ...(running ? { restart: 1, timeout: i.timeout } : {}),
  });
  if (task.exitstatus !== "OK") {
    log.note(task.log.join("\n"));
    throw new Error(
      `migrating ${i.guest} (CT ${i.vmid}) from node '${here.node}' to '${i.node}' failed: ${taskFailure(task)}; it stays on ` +
        `'${here.node}' and nothing was deleted`,
    );
  }
  const now = await arrival(s, i.vmid, { node: i.node, running }, i.timeout * 1000);
  if (now?.node !== i.node)
    throw new Error(
      `migration of ${i.guest} (CT ${i.vmid}) ended OK but after ${i.timeout} s the cluster lists it on '${now?.node ?? "no node"}'`,
    );
  log.note(`${i.guest} runs on '${i.node}' after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/**
 * Where the guest is once it reached `to.node`, unlocked (and running again if it ran), or `ms` passed: an HA-managed
 * guest's migrate task only asks the HA manager to move it ("Requesting HA migration"), which then shuts it down,
 * migrates and starts it, so the task's end is not the guest's arrival.
 */
async function arrival(s: PveSession, vmid: number, to: { node: string; running: boolean }, ms: number) {
  const until = Date.now() + ms;
  for (;;) {
    const now = await locate(s, vmid);
    const there = now?.node === to.node && !now.lock && (!to.running || now.status === "running");
    if (there || Date.now() >= until) return now;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Deletes the guest when it lives on this placement's node (it was removed); one that moved away is left alone. */
export async function removeGuest(i: GuestPlacementOutputs): Promise<void> {
  const s = await pveSession(i.api);
  const here = await locate(s, i.vmid);
  if (!here || here.node !== i.node) return;
  const base = `nodes/${i.node}/lxc/${i.vmid}`;
  const log = openRunLog(i.log);
  if (here.status !== "stopped") {
    const stop = await s.task("POST", `${base}/status/stop`);
    if (stop.exitstatus !== "OK") throw new Error(`stopping ${i.guest} (CT ${i.vmid}) failed: ${taskFailure(stop)}`);
  }
  // gone meanwhile (the API says it does not exist) is what was wanted; a failed task is not
  const del = await s.task("DELETE", base, { purge: 1, "destroy-unreferenced-disks": 1 }).catch((e: unknown) => {
    if (isMissing(e)) return undefined;
    throw e;
  });
  if (del && del.exitstatus !== "OK") throw new Error(`deleting ${i.guest} (CT ${i.vmid}) failed: ${taskFailure(del)}`);
  log.note(`deleted ${i.guest} (CT ${i.vmid}) on '${i.node}'`);
}

export const guestPlacementProvider: pulumi.dynamic.ResourceProvider<GuestPlacementInputs, GuestPlacementOutputs> = {
  async diff(_id, olds, news) {
    return diffPlacement(olds, news);
  },
  async create(inputs) {
    await placeGuest(inputs);
    return { id: `${inputs.node}/${inputs.vmid}`, outs: plainState(inputs) };
  },
  async update(_id, _olds, news) {
    return { outs: plainState(news) };
  },
  async delete(_id, props) {
    await removeGuest(props);
  },
};

export interface GuestPlacementArgs {
  api: pulumi.Input<PveApi>;
  node: pulumi.Input<string>;
  vmid: pulumi.Input<number>;
  guest: pulumi.Input<string>;
  migrate: pulumi.Input<boolean>;
  from?: pulumi.Input<string>;
  timeout?: pulumi.Input<number>;
}

export class GuestPlacement extends pulumi.dynamic.Resource {
  declare readonly node: pulumi.Output<string>;
  constructor(name: string, args: GuestPlacementArgs, opts: pulumi.CustomResourceOptions) {
    super(
      guestPlacementProvider,
      name,
      { timeout: 180, ...args, api: pulumi.secret(args.api), log: { stack: pulumi.getStack(), resource: name } },
      { ...opts, additionalSecretOutputs: ["api"] },
      "phoenix",
      "GuestPlacement",
    );
  }
}
