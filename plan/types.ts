// The plan's data types: what must exist (nodes, base templates, machines in build order, registrations) once a
// definition is planned. Plain data; plan.ts builds it, components/ instantiate it.
import type { PlacementSpec } from "./placement";
import type { BaseTemplate, Definition, FeatureName, Features, SecretRef, Timeouts } from "../definition/schema";
import type { Machine } from "../definition/resolve";
import type { GpuBudget } from "../definition/gpu-budget";
import type { HostPci, PciMapping, PlannedVfio } from "./gpu";
import type { PlannedBackupJob, PlannedNodeBackup } from "./backup";
import type { PlannedFirewall } from "./firewall";
import type { PlannedDns } from "./dns";
import type { PlannedGateway } from "./gateway";
import type { PlannedHa } from "./ha";

export interface PlannedPortainerServer {
  /** The guest running the server. */
  server: string;
  adminPassword?: SecretRef | string;
  /** Agents registered under their guest's name, at tcp://<first address>:<agent port>; sorted by name. */
  agents: { name: string; url: string }[];
}

export interface PlannedInterface {
  name: string;
  bridge: string;
  /** CIDR, or "dhcp". */
  ip: string;
  gateway?: string;
  mac?: string;
  vlan?: number;
  firewall?: boolean;
  /** True when the address came from a pool. */
  allocated: boolean;
}

export interface PlannedMount {
  /** mp0, mp1, … */
  id: string;
  /** Path on the node. */
  source: string;
  dataset?: string;
  path: string;
  readOnly: boolean;
  backup: boolean;
  /**
   * mountPoints[].owner: container-side uid/gid, and the host ids the node gives the source directory (shifted
   * through the container's id map: 100000+uid by default, the ids themselves in a privileged container).
   */
  owner?: { uid: number; gid: number; hostUid: number; hostGid: number };
}

export type Transport = "pct" | "ssh";

/** A feature to provision in a machine, with its settings (defaults applied) and how its scripts get there. */
export interface PlannedFeature {
  feature: FeatureName;
  transport: Transport;
  settings: unknown;
}

export type Source =
  | { kind: "create"; template: string; storage: string; file?: string; url?: string; checksum?: string }
  | { kind: "clone"; template: string; vmid: number; snapshot: string };

export interface PlannedMachine {
  kind: "guest" | "template";
  name: string;
  /** Its entry in the definition, e.g. guests[3]: where a message tells the user to change something. */
  path: string;
  vmid: number;
  type: "lxc" | "vm";
  node: string;
  source: Source;
  /** Clone depth: 1 for machines made from a base template. */
  depth: number;
  cores?: number;
  memory?: number;
  swap?: number;
  disk?: { storage: string; size: number };
  network: PlannedInterface[];
  nameservers: string[];
  searchDomain?: string;
  unprivileged: boolean;
  nesting: boolean;
  keyctl: boolean;
  gpus: number[];
  /** LXC: device nodes passed through. */
  devices: string[];
  /** VM: PCI passthrough through cluster mappings. */
  hostpci: HostPci[];
  mountPoints: PlannedMount[];
  /** Datasets of the node this machine needs first: its mounts, and the one its disk's storage lives on. */
  datasets: string[];
  features: Features;
  provisioners: PlannedFeature[];
  dependsOn: string[];
  startAtBoot: boolean;
  bootOrder?: number;
  bootDelay?: number;
  /** Raw lxc.* lines for the node's config: the definition's lxcOptions, then the lxc.idmap lines of custom idMaps. */
  lxcOptions: string[];
  healthChecks: Machine["def"]["healthChecks"];
  /** The definition's time limits of this machine's steps (seconds); the features' own defaults apply to the rest. */
  timeouts?: Timeouts;
  cloudInit?: Machine["def"]["cloudInit"];
  description?: string;
  tags: string[];
  /**
   * Backed up before Phoenix deletes or replaces it, keeping the newest `keep` such backups. Plans always set it;
   * when absent a guest is backed up (keep 3) and a golden template is not, as the schema's defaults say.
   */
  backup?: { beforeReplace: boolean; keep: number };
  /** A Proxmox snapshot once its features ran, the newest `keep` kept, named <name>-YYYYMMDD-HHMMSS. */
  snapshots?: { keep: number; name: string };
  /** Replacing or deleting it is refused (plan/changes.ts). */
  protect: boolean;
}

export interface PlannedNode {
  name: string;
  api?: Definition["nodes"][number]["api"];
  ssh?: Definition["nodes"][number]["ssh"];
  datasets: Definition["nodes"][number]["zfs"]["datasets"];
  gpuMappings: PciMapping[];
  apparmorProfiles: Definition["nodes"][number]["apparmorProfiles"];
  nvidiaDriver?: { version: string; installOnHost: boolean; runfileSha256?: string; timeout?: number };
  /**
   * The boot unit that makes /dev/nvidia* exist before Proxmox starts guests (nvidia.bootInit, default installOnHost),
   * with the GPUs it turns persistence mode on for: all when none is passed to a VM, else the host's by PCI address.
   */
  gpuInit?: { gpus: { index: number; pci?: string }[]; persistence: "all" | string[] };
  /** VFIO preparation (nodes[].vfio). */
  vfio?: PlannedVfio;
  /** Where its guests are backed up before a deletion or replacement; absent when it has no backup storage. */
  backup?: PlannedNodeBackup;
  backupJobs?: PlannedBackupJob[];
}

export interface PlannedBaseTemplate {
  name: string;
  type: "lxc" | "vm";
  node: string;
  vmid?: number;
  os?: string;
  source: BaseTemplate["source"];
}

export interface PlannedAppTarget {
  guest: string;
  vmid: number;
  /** The guest's first address, when known: the app's URLs use it. */
  address?: string;
  /** deploy: portainer — the server whose API deploys it, onto the environment named after the guest. */
  portainer?: { server: string; environment: string; adminPassword: SecretRef | string; agentPort: number };
}

/** An app (a Docker Compose project) on its guests; files are read from the definition's directory when deployed. */
export interface PlannedApp {
  name: string;
  description?: string;
  compose: string;
  deploy: "compose" | "portainer";
  variables: Record<string, string | SecretRef>;
  /** The variables given as { endpoint }: the guest and service they name, and the URL the plan gave them. */
  endpoints: Record<string, { guest: string; service: "vllm" | "ollama"; url: string }>;
  files: { template: string; path: string; mode?: string }[];
  volumes: Record<string, { driver: string; options: Record<string, string> }>;
  externalVolumes: string[];
  removeVolumes: boolean;
  targets: PlannedAppTarget[];
}

export interface Plan {
  nodes: PlannedNode[];
  baseTemplates: PlannedBaseTemplate[];
  /** Golden templates and guests, in an order where every machine follows its template and dependencies. */
  machines: PlannedMachine[];
  /** Portainer servers and the agents each registers as environments. */
  portainer: PlannedPortainerServer[];
  /** Docker Compose projects and the guests they run on. */
  apps: PlannedApp[];
  /** "<guest>/<interface>" → allocated CIDR; the lock file records these. */
  allocations: Record<string, string>;
  /** Public keys (or references to them) for root in containers and the cloud-init user of VMs. */
  sshKeys: Definition["access"]["sshKeys"];
  sshPrivateKey?: Definition["access"]["sshPrivateKey"];
  /** Names of the Pulumi secret config keys (phoenix:<name>) the stack needs. */
  secrets: string[];
  /** Each GPU's memory budget: the services that use it and their shares. */
  gpuBudgets: GpuBudget[];
  /** The Proxmox firewall (datacenter and guests), when the definition declares one. */
  firewall?: PlannedFirewall;
  /** The internal DNS server (network.dns). */
  dns?: PlannedDns;
  /** The HTTPS gateway (gateway:). */
  gateway?: PlannedGateway;
  /** Proxmox HA: the guests with `ha:` as HA resources, and their rules (node preference, spread groups). */
  ha?: PlannedHa;
  /** Each guest's node and why (pinned, kept from the lock file, or placed now). */
  placements: PlacementSpec[];
}
