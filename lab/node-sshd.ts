// Each node of a lab cluster beyond the first has its own sshd, as each Proxmox node has: on the port its `ssh` in the
// definition names, its sessions see the cluster's /etc/pve with that node's guest configs at /etc/pve/lxc
// (etc-pve-view.ts) and run the lab's `pct` on that node's containers. One client key logs in to all of them, as root's
// key does on a Proxmox cluster (its authorized_keys are shared through /etc/pve/priv); each node keeps its own host key.
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Definition } from "../definition/schema";
import { nodeStateDir } from "./api-daemon";
import { type NodeSshd, ensureNodeSshd, stopNodeSshd } from "./host/sshd";

/** A node beyond the first with an sshd of its own. */
export interface NodeSshEntry {
  node: string;
  port: number;
}

/** The nodes beyond the first that the definition gives SSH, on their ports; two sshds on one port are refused. */
export function extraNodeSsh(definition: Pick<Definition, "nodes">, firstPort: number): NodeSshEntry[] {
  const out: NodeSshEntry[] = [];
  const taken = new Map<number, string>([[firstPort, definition.nodes[0]?.name ?? "the first node"]]);
  definition.nodes.forEach((n, i) => {
    if (i === 0 || !n.ssh) return;
    const port = n.ssh.port;
    const other = taken.get(port);
    if (other)
      throw new Error(
        `nodes[${i}].ssh.port: ${port} is ${other}'s SSH port already; the lab runs each node's sshd on 127.0.0.1, so ` +
          `give '${n.name}' a port of its own`,
      );
    taken.set(port, n.name);
    out.push({ node: n.name, port });
  });
  return out;
}

/** Where a node's sshd keeps its keys, config and pid. */
export const nodeSshDir = (labDir: string, node: string) => join(nodeStateDir(labDir, node), "ssh");

/** What a node's sessions have of the lab: its `pct`, that node's services and its view of the cluster's /etc/pve. */
export type NodeSessions = (node: string) => Pick<NodeSshd, "sbin" | "binds" | "etcPve">;

/**
 * Starts (or keeps) the node's sshd: `first` is the first node's sshd (whose client key it takes), `sessions` what
 * each node sshd of this lab gives its sessions.
 */
export async function ensureExtraNodeSshd(
  labDir: string,
  e: NodeSshEntry,
  first: NodeSshd,
  sessions: NodeSessions,
): Promise<{ node: string; sshPort: number; sshHostKey: string }> {
  const dir = nodeSshDir(labDir, e.node);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const f of ["client_ed25519", "client_ed25519.pub"]) copyFileSync(join(first.dir, f), join(dir, f));
  const keys = await ensureNodeSshd({ ...sessions(e.node), port: e.port, dir, labDir, node: e.node });
  return { node: e.node, sshPort: e.port, sshHostKey: keys.hostKey };
}

/** Each node's sshd in turn, each start said through `step` as the lab's other steps are. */
export async function ensureExtraNodeSshds(
  labDir: string,
  entries: NodeSshEntry[],
  first: NodeSshd,
  sessions: NodeSessions,
  step: <T>(what: string, f: () => Promise<T>) => Promise<T>,
): Promise<{ node: string; sshPort: number; sshHostKey: string }[]> {
  const out = [];
  for (const e of entries)
    out.push(await step(`node ${e.node}'s sshd on 127.0.0.1:${e.port}`, () => ensureExtraNodeSshd(labDir, e, first, sessions)));
  return out;
}

export async function stopExtraNodeSshds(labDir: string, entries: NodeSshEntry[]): Promise<void> {
  for (const e of entries) await stopNodeSshd(nodeSshDir(labDir, e.node));
}
