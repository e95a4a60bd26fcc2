// IP pools of the bridges, and the pool an `ip: auto` interface draws from.
import { parseRange } from "./ipv4";
import type { Bridge } from "./schema";

export interface PoolInfo {
  bridge: string;
  name: string;
  path: string;
  first: number;
  last: number;
}

export function poolsOf(bridges: readonly Bridge[]): PoolInfo[] {
  return bridges.flatMap((b, i) =>
    b.pools.flatMap((p, j) => {
      const r = parseRange(p.range);
      return r ? [{ bridge: b.name, name: p.name, path: `network.bridges[${i}].pools[${j}]`, ...r }] : [];
    }),
  );
}

/** The pool an `auto` interface draws from: the named one, else the bridge's first. */
export function poolFor(pools: readonly PoolInfo[], bridge: string, name: string | undefined): PoolInfo | undefined {
  return pools.find((p) => p.bridge === bridge && (name === undefined || p.name === name));
}
