// The /etc/pve a lab node's SSH sessions see, laid out as pmxcfs shows a cluster's on every one of its nodes: each
// node's guest configs under nodes/<node>/lxc, the own node's at lxc and local, the cluster's files (firewall/, ha/,
// jobs.cfg) beside them; kept apart from lab.ts so the layout stays one small, testable function.
import { join } from "node:path";
import { labNodeDir } from "./api-daemon";
import type { EtcPveView } from "./host/etc-pve-mounts";

/** A lab cluster's nodes by name, the first first (the API settings lab.json keeps, or a definition's nodes). */
export function clusterNodeNames(c: { node: string; nodes?: { node: string }[] } | { nodes: { name: string }[] }): string[] {
  return "node" in c ? [c.node, ...(c.nodes ?? []).map((n) => n.node)] : c.nodes.map((n) => n.name);
}

/** Where a node's own config tree (lxc/<vmid>.conf) is: the first node's is the cluster's <lab>/pve, another's its own. */
export function nodePveDir(labDir: string, cluster: string[], node: string): string {
  return join(labNodeDir(labDir, cluster, node), "pve");
}

/**
 * What `self`'s sessions see at /etc/pve: the cluster's files (<lab>/pve), every node's lxc directory at nodes/<node>/lxc,
 * the own node's again at lxc (what `pct` and node-side provisioning write through) and at local.
 * Unlike pmxcfs: lxc and local are bind mounts, not symlinks (every node's view is one <lab>/pve, where a symlink could
 * name one node only), and there is no qemu-server (the lab keeps VM configs in the API's memory).
 */
export function etcPveView(labDir: string, cluster: string[], self: string): EtcPveView {
  if (!cluster.includes(self)) return { dir: join(labDir, "pve") };
  return {
    dir: join(labDir, "pve"),
    binds: cluster.map((node) => ({ at: `nodes/${node}/lxc`, source: join(nodePveDir(labDir, cluster, node), "lxc") })),
    aliases: [
      { at: "lxc", of: `nodes/${self}/lxc` },
      { at: "local", of: `nodes/${self}` },
    ],
  };
}
