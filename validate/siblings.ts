// Environments side by side: definitions beside each other (stacks/*.yaml) may share a Proxmox node, never its vmids
// or addresses. Reads the sibling definitions and says which vmids, addresses and pools collide, with the fix.
import { readdirSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { readDefinitionFile } from "../definition/load";
import { formatIp, parseCidr } from "../definition/ipv4";
import { poolsOf } from "../definition/pools";
import { type Problem, error, warning } from "../definition/problems";
import { type Definition, type Node, isGolden } from "../definition/schema";

export interface Sibling {
  /** The environment's name: the file's name without its extension (stacks/staging.yaml → staging). */
  env: string;
  file: string;
  def: Definition;
}

/** Files in stacks/ that are not definitions: lock files, the agent's policies, the JSON schema. */
export function isDefinitionFile(name: string): boolean {
  return /\.(ya?ml|json)$/.test(name) && !/\.(agent\.ya?ml|lock\.json|schema\.json)$/.test(name);
}

export function envOfFile(file: string): string {
  return basename(file, extname(file));
}

/** The other definitions in `file`'s directory that shape-check (a broken sibling reports its own problems). */
export function readSiblings(file: string): Sibling[] {
  const dir = dirname(resolve(file));
  const self = resolve(file);
  const out: Sibling[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (!isDefinitionFile(name) || path === self) continue;
    const parsed = readDefinitionFile(path);
    // Named as stacks/<env>.yaml: the same in every checkout (a problem's text does not change with the directory).
    if (parsed.definition) out.push({ env: envOfFile(name), file: join(basename(dir), name), def: parsed.definition });
  }
  return out;
}

/** How a node is recognised across definitions: its API endpoint, else its SSH address, else its name. */
export function nodeKey(n: Node): string {
  if (n.api) {
    const u = new URL(n.api.endpoint);
    return `${u.hostname}:${u.port || "8006"}`;
  }
  if (n.ssh) return `${n.ssh.host}:${n.ssh.port}`;
  return `name:${n.name}`;
}

interface Claim {
  path: string;
  label: string;
  nodeKey: string;
}

/** vmids by node: guests, golden templates and VM base templates (one id space per Proxmox cluster). */
function vmidsOf(def: Definition): Map<number, Claim[]> {
  const keyOf = (node: string | undefined) => {
    const n = node === undefined ? (def.nodes.length === 1 ? def.nodes[0] : undefined) : def.nodes.find((x) => x.name === node);
    return n ? nodeKey(n) : undefined;
  };
  const out = new Map<number, Claim[]>();
  const add = (vmid: number | undefined, path: string, label: string, node: string | undefined) => {
    const k = keyOf(node);
    if (vmid === undefined || k === undefined) return;
    out.set(vmid, [...(out.get(vmid) ?? []), { path: `${path}.vmid`, label, nodeKey: k }]);
  };
  def.templates.forEach((t, i) => add(t.vmid, `templates[${i}]`, t.name, t.node));
  def.guests.forEach((g, i) => add(g.vmid, `guests[${i}]`, g.name, g.node));
  return out;
}

interface Address {
  ip: number;
  path: string;
  label: string;
}

function staticAddresses(def: Definition): Address[] {
  const machines = [
    ...def.templates.flatMap((t, i) => (isGolden(t) ? [{ m: t, path: `templates[${i}]` }] : [])),
    ...def.guests.map((g, i) => ({ m: g, path: `guests[${i}]` })),
  ];
  return machines.flatMap(({ m, path }) =>
    m.network.flatMap((nic, j) => {
      const c = parseCidr(nic.ip);
      return c ? [{ ip: c.address, path: `${path}.network[${j}].ip`, label: m.name }] : [];
    }),
  );
}

const where = (s: Sibling, path: string, label?: string) => `${s.file} ${path}${label ? ` (${label})` : ""}`;

/** Problems of `def` against the sibling environments that share one of its nodes. */
export function checkSiblings(def: Definition, siblings: readonly Sibling[]): Problem[] {
  const mine = new Set(def.nodes.map(nodeKey));
  const out: Problem[] = [];
  const sharing = siblings.filter((s) => s.def.nodes.some((n) => mine.has(nodeKey(n))));
  const usedVmids = new Set<number>([...vmidsOf(def).keys()]);
  for (const s of sharing) for (const v of vmidsOf(s.def).keys()) usedVmids.add(v);
  for (const s of sharing) {
    const theirs = vmidsOf(s.def);
    for (const [vmid, claims] of vmidsOf(def)) {
      for (const c of claims) {
        const other = theirs.get(vmid)?.find((o) => o.nodeKey === c.nodeKey);
        if (!other) continue;
        out.push(
          error(
            c.path,
            `vmid ${vmid} (${c.label}) is also used by environment '${s.env}' on the same node (${c.nodeKey}): ${where(s, other.path, other.label)}`,
            `give it a vmid no environment on this node uses, e.g. ${freeVmid(usedVmids, vmid)}`,
          ),
        );
      }
    }
    out.push(...addressCollisions(def, s));
    out.push(...datasetOverlaps(def, s));
  }
  return out;
}

function freeVmid(used: Set<number>, near: number): number {
  let v = Math.max(100, near + 1);
  while (used.has(v)) v++;
  return v;
}

function addressCollisions(def: Definition, s: Sibling): Problem[] {
  const out: Problem[] = [];
  const theirStatics = staticAddresses(s.def);
  const theirPools = poolsOf(s.def.network.bridges);
  for (const a of staticAddresses(def)) {
    const same = theirStatics.find((b) => b.ip === a.ip);
    if (same)
      out.push(
        error(
          a.path,
          `address ${formatIp(a.ip)} (${a.label}) is also used by environment '${s.env}' on a shared node: ${where(s, same.path, same.label)}`,
          "give it an address no environment on this node uses",
        ),
      );
    const pool = theirPools.find((p) => a.ip >= p.first && a.ip <= p.last);
    if (pool)
      out.push(
        error(
          a.path,
          `address ${formatIp(a.ip)} (${a.label}) lies in environment '${s.env}''s pool ${formatIp(pool.first)}-${formatIp(pool.last)} (${where(s, pool.path)}), which may hand it out`,
          "pick an address outside the other environments' pools",
        ),
      );
  }
  for (const p of poolsOf(def.network.bridges)) {
    const overlap = theirPools.find((q) => p.first <= q.last && q.first <= p.last);
    if (overlap)
      out.push(
        error(
          `${p.path}.range`,
          `pool ${formatIp(p.first)}-${formatIp(p.last)} overlaps environment '${s.env}''s pool ${formatIp(overlap.first)}-${formatIp(overlap.last)} on a shared node (${where(s, overlap.path)}): both may hand out the same address`,
          "give each environment on a node its own range",
        ),
      );
    const inside = theirStatics.find((b) => b.ip >= p.first && b.ip <= p.last);
    if (inside)
      out.push(
        error(
          `${p.path}.range`,
          `pool ${formatIp(p.first)}-${formatIp(p.last)} contains ${formatIp(inside.ip)}, used by environment '${s.env}' (${where(s, inside.path, inside.label)})`,
          "give the pool a range that leaves the other environments' addresses out",
        ),
      );
  }
  return out;
}

/** A dataset two stacks declare is managed twice: destroying one environment would remove the other's data. */
function datasetOverlaps(def: Definition, s: Sibling): Problem[] {
  const out: Problem[] = [];
  def.nodes.forEach((n, i) => {
    const theirs = s.def.nodes.filter((m) => nodeKey(m) === nodeKey(n)).flatMap((m) => m.zfs.datasets.map((d) => d.name));
    n.zfs.datasets.forEach((d, j) => {
      if (theirs.includes(d.name))
        out.push(
          warning(
            `nodes[${i}].zfs.datasets[${j}]`,
            `dataset ${d.name} is also declared by environment '${s.env}' (${s.file}) on the same node: both stacks manage it`,
            "declare a shared dataset in one environment and keep it protected (protect: true)",
          ),
        );
    });
  });
  return out;
}
