// Address allocation for `ip: auto` interfaces.
//
// Stability: an address recorded in `previous` (the stack's lock file) is kept as long as it is
// still valid, so adding guests never renumbers existing ones. Without a record, each interface
// starts probing at a slot derived from a hash of its key, and interfaces are served in vmid order;
// the result does not depend on the order guests are written in, and most additions move nothing.
import { createHash } from "node:crypto";

export interface Pool {
  id: string;
  /** Pools of one address space (a bridge) never hand out the same address twice. Defaults to id. */
  space?: string;
  first: number;
  last: number;
  /** Addresses of the pool that are not available (static addresses, gateway, network/broadcast). */
  reserved: ReadonlySet<number>;
}

export interface Request {
  /** Stable identity of the interface: "<guest name>/<interface name>". */
  key: string;
  pool: Pool;
  /** Serving order; ties broken by key. */
  vmid: number;
}

export interface Allocation {
  addresses: Map<string, number>;
  /** Requests that found no free address (validation reports the pool as dry first). */
  unserved: string[];
}

export function preferredOffset(key: string, size: number): number {
  const h = createHash("sha256").update(key).digest();
  return h.readUInt32BE(0) % size;
}

export function allocate(requests: readonly Request[], previous: ReadonlyMap<string, number> = new Map()): Allocation {
  const taken = new Map<string, Set<number>>();
  const takenIn = (p: Pool) => {
    const key = p.space ?? p.id;
    let s = taken.get(key);
    if (!s) taken.set(key, (s = new Set()));
    return s;
  };
  const free = (p: Pool, a: number) => a >= p.first && a <= p.last && !p.reserved.has(a) && !takenIn(p).has(a);
  const addresses = new Map<string, number>();
  const ordered = [...requests].sort((a, b) => a.vmid - b.vmid || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  for (const r of ordered) {
    const before = previous.get(r.key);
    if (before !== undefined && free(r.pool, before)) {
      addresses.set(r.key, before);
      takenIn(r.pool).add(before);
    }
  }
  const unserved: string[] = [];
  for (const r of ordered) {
    if (addresses.has(r.key)) continue;
    const size = r.pool.last - r.pool.first + 1;
    const start = preferredOffset(r.key, size);
    let got: number | undefined;
    for (let i = 0; i < size; i++) {
      const a = r.pool.first + ((start + i) % size);
      if (free(r.pool, a)) {
        got = a;
        break;
      }
    }
    if (got === undefined) unserved.push(r.key);
    else {
      addresses.set(r.key, got);
      takenIn(r.pool).add(got);
    }
  }
  return { addresses, unserved };
}
