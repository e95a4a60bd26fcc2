// `phoenix lab status`: what is up (pools, bridges, the API, each node's containers, the first node's VMs) and what
// the lab cannot do, said plainly.
import { join } from "node:path";
import { apiUrl } from "./api-daemon";
import { certificateFingerprint } from "./api/cert";
import { bridgeExists } from "./host/bridge";
import { listVms } from "./host/qemu";
import { listDatasets, poolExists, zfsReady } from "./host/zfs";
import { defaultStateDir, readState } from "./lab-state";
import { type NodeStatus, lxcContainers, nodeStatuses } from "./node-status";

export interface LabStatus {
  up: boolean;
  stateDir: string;
  zfs: { daemon: boolean; pools: Record<string, string[]> };
  bridges: Record<string, boolean>;
  api?: { url: string; node: string; fingerprint?: string };
  /** The first node's containers (each node's are in `nodes`). */
  containers: { vmid: number; state: string }[];
  /** QEMU VMs the lab started (their directories under <state>/qemu). */
  vms: { vmid: number; state: string }[];
  /** Every node of the lab up, the first first: its sshd's port and its containers (node-status.ts). */
  nodes: NodeStatus[];
  /** What the lab cannot do, said plainly. */
  limits: string[];
}

export function labStatus(stateDir = defaultStateDir()): LabStatus {
  const state = readState(stateDir);
  const daemon = zfsReady();
  const nodes = state ? nodeStatuses(stateDir, state) : [];
  return {
    up: state !== undefined,
    stateDir,
    zfs: {
      daemon,
      pools: Object.fromEntries((state?.pools ?? []).map((p) => [p, daemon && poolExists(p) ? listDatasets(p) : []])),
    },
    bridges: Object.fromEntries((state?.bridges ?? []).map((b) => [b, bridgeExists(b)])),
    ...(state?.api
      ? { api: { url: apiUrl(state.api.port), node: state.api.node, fingerprint: certificateFingerprint(join(stateDir, "api")) } }
      : {}),
    containers: nodes[0]?.containers ?? lxcContainers(stateDir),
    vms: nodes[0]?.vms ?? listVms(stateDir),
    nodes,
    limits: [
      "no GPU: GPU passthrough is planned and validated, never exercised",
      "no internet: guests get Debian's packages through the lab's apt proxy only",
      "no Docker Hub: the lab's registry mirror serves stand-in images (busybox, plain HTTP): portainer/agent:lts (the Docker API forwarded), nginx:1.27-alpine and busybox:1.36 for apps, and test doubles of the Portainer API (portainer/portainer-ce:lts, whose stacks run Compose v2 against the agent) and of vllm serve (vllm/vllm-openai:latest)",
      "QEMU VMs boot under software emulation (TCG): this machine's /dev/kvm (PVM) boots no stock kernel (PHOENIX_LAB_QEMU_ACCEL=kvm where it does); one disk per VM, direct kernel boot of the lab's Debian 12 image whatever the template",
      "this kernel has no AppArmor: profiles are syntax-checked with apparmor_parser, not enforced",
      "no systemd on the node (this machine's PID 1 is not): its sessions' systemctl runs dnsmasq.service as its unit does (Debian's systemd-helper, the lab's own /etc/dnsmasq.d and /run/dnsmasq) and hands any other unit to the real systemctl, which refuses",
      "zfs-fuse grants privileges to host uid 0 only and takes no idmapped mount: unprivileged containers (ids shifted on the dataset, as Proxmox extracts them) see their zfs-fuse volumes through a bindfs view that restores kernel permission checks",
      "Docker's /var/lib/docker in nesting containers lives on the host's disk (zfs-fuse has no storage driver Docker can use): vzdump archives it, and a snapshot takes a full copy of it (a rollback puts the copy back) where ZFS would share blocks",
    ],
  };
}
