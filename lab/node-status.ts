// `phoenix lab status` of every node of a lab cluster, not only the first: each node's sshd and its containers, read
// from that node's own state directory (<state> for the first, <state>/nodes/<node> for the others).
import { join } from "node:path";
import { type ApiSettings, nodeStateDir } from "./api-daemon";
import { Lxc } from "./host/lxc";
import { listVms } from "./host/qemu";
import type { NodeSshEntry } from "./node-sshd";

export interface GuestState {
  vmid: number;
  state: string;
}

export interface NodeStatus {
  node: string;
  /** Its own sshd (the first node's is the lab's port); absent for a node the definition gives no `ssh`. */
  ssh?: { port: number };
  containers: GuestState[];
  /** The first node's only: the lab's QEMU runner is its own (another node's VMs are API objects). */
  vms?: GuestState[];
}

/** What lab.json says of the nodes. */
export interface LabNodes {
  sshPort: number;
  nodeSsh?: NodeSshEntry[];
  api: Pick<ApiSettings, "node" | "nodes">;
}

/** The containers LXC has under a node's state directory, running or not. */
export function lxcContainers(nodeDir: string): GuestState[] {
  const lxc = new Lxc(join(nodeDir, "lxc"));
  return lxc.list().map((vmid) => ({ vmid, state: lxc.state(vmid) }));
}

/** Every node of the lab in order, the first first; `containers` and `vms` read a node's state directory. */
export function nodeStatuses(
  stateDir: string,
  state: LabNodes,
  containers: (nodeDir: string) => GuestState[] = lxcContainers,
  vms: (stateDir: string) => GuestState[] = listVms,
): NodeStatus[] {
  const first: NodeStatus = {
    node: state.api.node,
    ssh: { port: state.sshPort },
    containers: containers(stateDir),
    vms: vms(stateDir),
  };
  const others = (state.api.nodes ?? []).map(({ node }): NodeStatus => {
    const ssh = state.nodeSsh?.find((e) => e.node === node);
    return { node, ...(ssh ? { ssh: { port: ssh.port } } : {}), containers: containers(nodeStateDir(stateDir, node)) };
  });
  return [first, ...others];
}
