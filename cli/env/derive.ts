// A new environment's definition from another's: the same nodes and shape, with vmids, static addresses and pools
// moved to ones no environment sharing those nodes uses (pure; the edits keep the source's comments and layout).
import { type Document, parseDocument } from "yaml";
import { checkShape } from "../../definition/load";
import { formatIp, isHostAddress, parseCidr, parseIp, parseRange } from "../../definition/ipv4";
import { poolsOf } from "../../definition/pools";
import type { Definition } from "../../definition/schema";
import { type Sibling, checkSiblings, nodeKey } from "../../validate/siblings";
import { VMID_MAX } from "../../validate/identity";

export interface Derived {
  text: string;
  /** What moved, one line each (vmid 200 → 300, …). */
  moves: string[];
}

export class DeriveError extends Error {}

type Path = (string | number)[];

/** The vmids and addresses taken on the nodes `def` uses, by every sibling that shares one. */
function taken(def: Definition, siblings: readonly Sibling[]) {
  const keys = new Set(def.nodes.map(nodeKey));
  const sharing = siblings.filter((s) => s.def.nodes.some((n) => keys.has(nodeKey(n))));
  const vmids = new Set<number>();
  const addresses = new Set<number>();
  const ranges: { first: number; last: number }[] = [];
  for (const s of sharing) {
    for (const t of s.def.templates) if (t.vmid !== undefined) vmids.add(t.vmid);
    for (const g of s.def.guests) vmids.add(g.vmid);
    for (const m of [...s.def.templates, ...s.def.guests])
      for (const nic of "network" in m ? m.network : []) {
        const c = parseCidr(nic.ip);
        if (c) addresses.add(c.address);
      }
    for (const b of s.def.network.bridges) if (b.gateway) addresses.add(parseIp(b.gateway)!);
    ranges.push(...poolsOf(s.def.network.bridges));
  }
  return { vmids, addresses, ranges };
}

/** The smallest offset, in hundreds, that moves every vmid of `def` off the taken ones. */
function vmidOffset(own: number[], used: Set<number>): number {
  if (own.every((v) => !used.has(v))) return 0;
  for (let off = 100; ; off += 100) {
    if (own.some((v) => v + off > VMID_MAX)) throw new DeriveError("no free vmid range for this environment");
    if (own.every((v) => !used.has(v + off))) return off;
  }
}

export function deriveDefinition(sourceText: string, siblings: readonly Sibling[]): Derived {
  const doc = parseDocument(sourceText);
  const shaped = checkShape(doc.toJS());
  if (!shaped.definition) throw new DeriveError(`the source definition does not shape-check: ${shaped.problems[0]?.message}`);
  const def = shaped.definition;
  const moves: string[] = [];
  const t = taken(def, siblings);

  const machines: { path: Path; vmid?: number; name: string; network?: Definition["guests"][number]["network"] }[] = [
    ...def.templates.map((x, i) => ({
      path: ["templates", i],
      vmid: x.vmid,
      name: x.name,
      network: "network" in x ? x.network : undefined,
    })),
    ...def.guests.map((g, i) => ({ path: ["guests", i], vmid: g.vmid, name: g.name, network: g.network })),
  ];
  const own = machines.flatMap((m) => (m.vmid !== undefined ? [m.vmid] : []));
  const off = vmidOffset(own, t.vmids);
  for (const m of machines)
    if (m.vmid !== undefined && off) {
      doc.setIn([...m.path, "vmid"], m.vmid + off);
      moves.push(`${m.name}: vmid ${m.vmid} → ${m.vmid + off}`);
    }

  const bridges = new Map(def.network.bridges.map((b, i) => [b.name, { b, i, net: parseCidr(b.subnet)! }]));
  const mine = new Set<number>();
  const isFree = (a: number, net: ReturnType<typeof parseCidr> & object) =>
    isHostAddress(net, a) && !t.addresses.has(a) && !mine.has(a) && !t.ranges.some((r) => a >= r.first && a <= r.last);
  for (const b of def.network.bridges) if (b.gateway) mine.add(parseIp(b.gateway)!);

  // Pools first: each to a free run of its bridge's subnet, as large as it was or the largest free run (which must
  // still hold every `ip: auto` interface drawing from it).
  def.network.bridges.forEach((b, i) =>
    b.pools.forEach((p, j) => {
      const r = parseRange(p.range)!;
      const net = parseCidr(b.subnet)!;
      const size = r.last - r.first + 1;
      let run = { first: r.first, size };
      for (let a = r.first; a <= r.last; a++) if (!isFree(a, net)) run = largestFreeRun(net, (x) => isFree(x, net), size);
      const needed = autoNics(def, b.name, p.name, b.pools[0]?.name === p.name);
      if (run.size < Math.max(needed, 1))
        throw new DeriveError(
          `no free range in ${b.subnet} for pool ${p.name} (${needed} address(es) needed): give the new environment another subnet`,
        );
      if (run.first !== r.first || run.size !== size) {
        const range = `${formatIp(run.first)}-${formatIp(run.first + run.size - 1)}`;
        doc.setIn(["network", "bridges", i, "pools", j, "range"], range);
        moves.push(`pool ${b.name}/${p.name}: ${p.range} → ${range}`);
      }
      for (let a = run.first; a < run.first + run.size; a++) mine.add(a);
    }),
  );

  // Then every static address, to a free one of its subnet (outside every pool).
  for (const m of machines)
    (m.network ?? []).forEach((nic, j) => {
      const c = parseCidr(nic.ip);
      const bridge = bridges.get(nic.bridge);
      if (!c || !bridge) return;
      let a = c.address;
      if (!isFree(a, bridge.net)) {
        a = -1;
        for (let x = bridge.net.network; x <= bridge.net.broadcast; x++)
          if (isFree(x, bridge.net) && !poolsOf(def.network.bridges).some((p) => x >= p.first && x <= p.last)) {
            a = x;
            break;
          }
        if (a < 0) throw new DeriveError(`no free address in ${bridge.b.subnet} for ${m.name}`);
        const ip = `${formatIp(a)}/${c.prefix}`;
        doc.setIn([...m.path, "network", j, "ip"], ip);
        moves.push(`${m.name}: ${nic.ip} → ${ip}`);
      }
      mine.add(a);
    });

  const text = doc.toString({ flowCollectionPadding: false, lineWidth: 0 });
  assertNoCollision(doc, siblings);
  return { text, moves };
}

/** The first free run of `want` addresses in `net`, else the largest free run. */
function largestFreeRun(net: NonNullable<ReturnType<typeof parseCidr>>, free: (a: number) => boolean, want: number) {
  let best = { first: 0, size: 0 };
  let start = -1;
  for (let a = net.network; a <= net.broadcast + 1; a++) {
    if (a <= net.broadcast && free(a)) {
      if (start < 0) start = a;
      if (a - start + 1 >= want) return { first: start, size: want };
    } else if (start >= 0) {
      if (a - start > best.size) best = { first: start, size: a - start };
      start = -1;
    }
  }
  return best;
}

/** Interfaces with `ip: auto` that draw from pool `pool` of `bridge` (an unnamed pool means the bridge's first). */
function autoNics(def: Definition, bridge: string, pool: string, first: boolean): number {
  return [...def.templates, ...def.guests]
    .flatMap((m) => ("network" in m ? m.network : []))
    .filter((n) => n.ip === "auto" && n.bridge === bridge && (n.pool === pool || (n.pool === undefined && first))).length;
}

function assertNoCollision(doc: Document, siblings: readonly Sibling[]) {
  const shaped = checkShape(doc.toJS());
  const left = checkSiblings(shaped.definition!, siblings).filter((p) => p.severity === "error");
  if (left.length) throw new DeriveError(`still colliding: ${left.map((p) => `${p.path}: ${p.message}`).join("; ")}`);
}

/** A definition for an environment made from nothing: one node, one bridge, no guest yet; valid as it is. */
export function minimalDefinition(env: string): string {
  return `# yaml-language-server: $schema=./definition.schema.json
# The ${env} environment (phoenix env new): point the node at your Proxmox host, then add templates and guests.
version: 1
nodes:
  - name: pve
    api:
      endpoint: https://pve.example.internal:8006/
      username: root@pam
      password: { secret: proxmoxRootPassword }
    ssh:
      host: pve.example.internal
      user: root
      privateKey: { secret: nodeSshKey }
network:
  bridges:
    - name: vmbr0
      subnet: 192.168.100.0/24
      gateway: 192.168.100.1
      pools:
        - name: guests
          range: 192.168.100.100-192.168.100.199
templates: []
guests: []
`;
}
