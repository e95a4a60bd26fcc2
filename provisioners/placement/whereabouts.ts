// Where the last up's guests run now, asked of the cluster before the plan's moves are decided: HA recovers a guest
// on another node when its node fails, and an admin may `pct migrate` one, without Phoenix knowing. Any node's API
// answers for the whole cluster (/cluster/resources), so the nodes are asked in turn until one answers.
import { type PveApi, pveSession } from "../engine/pve-api";

/** A guest the last up left, as its deployment record names it. */
export interface RecordedGuest {
  name: string;
  vmid: number;
  type: "lxc" | "vm";
}

export interface Whereabouts {
  /** Guest name → the node it runs on now; a guest not listed, or listed under another name, is absent. */
  found: Map<string, string>;
  /** Why no node answered (each node's error); undefined when one did. */
  error?: string;
}

interface ClusterGuest {
  vmid?: number | string;
  node?: string;
  type?: string;
  name?: string;
}

const TYPE = { lxc: "lxc", vm: "qemu" } as const;

/**
 * The nodes the cluster lists `guests` on. A vmid counts only with the guest's own name (its hostname or VM name):
 * the same vmid under another name is someone else's guest. Each API gets `perNodeMs` to answer.
 */
export async function whereGuestsRun(
  apis: readonly { node: string; api: PveApi }[],
  guests: readonly RecordedGuest[],
  perNodeMs = 15_000,
): Promise<Whereabouts> {
  const errors: string[] = [];
  for (const { node, api } of apis) {
    try {
      const listing = await withinTime(listGuests(api), perNodeMs, `no answer within ${perNodeMs / 1000} s`);
      const found = new Map<string, string>();
      for (const g of guests) {
        const hit = listing.find((r) => r.type === TYPE[g.type] && Number(r.vmid) === g.vmid && r.name === g.name);
        if (hit?.node) found.set(g.name, hit.node);
      }
      return { found };
    } catch (e) {
      errors.push(`node '${node}': ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { found: new Map(), error: errors.join("; ") || "no node has an API (nodes[].api)" };
}

async function listGuests(api: PveApi): Promise<ClusterGuest[]> {
  const s = await pveSession(api);
  return s.call<ClusterGuest[]>("GET", "cluster/resources", { type: "vm" });
}

function withinTime<T>(p: Promise<T>, ms: number, why: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(why)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
