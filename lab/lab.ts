// `phoenix lab up|down|status|reset`: the host side of the local Proxmox-compatible lab, built from a
// definition (stacks/dev.yaml by default): its ZFS pools, bridges, apt proxy, base template and the
// node's sshd. Idempotent; everything it makes lives under one state directory or is torn down by `down`.
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseCidr } from "../definition/ipv4";
import {
  type ApiCredentials,
  type ApiSettings,
  apiUrl,
  ensureApiCredentials,
  ensureApiDaemon,
  labApiClient,
  labNodeDir,
  labNodeDirs,
  nodeStateDir,
  serveLabApi,
  stopApiDaemon,
} from "./api-daemon";
import { certificateFingerprint } from "./api/cert";
import { type BaseTemplate, type Definition, isGolden } from "../definition/schema";
import { stopAllVms } from "./host/qemu";
import { VM_HOST_PACKAGES, ensureVmImage } from "./host/vm-image";
import type { HostStorage, VmTemplateSeed } from "./node/host-backend";
import { APT_PROXY_PORT, ensureAptProxy, stopAptProxy } from "./host/apt-proxy";
import { REGISTRY_PACKAGES, REGISTRY_PORT, ensureRegistry, stopRegistry } from "./host/registry";
import { pushStandInImages } from "./host/stand-in-images";
import { ensureBaseTarball, installTemplate } from "./host/base-template";
import { ensureBridge, removeBridge } from "./host/bridge";
import { firewallTable } from "./host/firewall-nft";
import { removeFirewallTable } from "./node/host-firewall";
import { Lxc } from "./host/lxc";
import { VIEW_PACKAGES } from "./host/fuse-view";
import { PROXMOX_SUBID_RANGE, ensureSubIds } from "./host/subids";
import { pct } from "./node/pct";
import { run } from "./host/run";
import { ensureNodeSshd, stopNodeSshd } from "./host/sshd";
import { ensureExtraNodeSshds, extraNodeSsh, stopExtraNodeSshds } from "./node-sshd";
import { clusterNodeNames, etcPveView } from "./etc-pve-view";
import { ensureNodeServiceDirs, labSystemctl, nodeServiceBinds, stopNodeDnsmasq } from "./host/node-services";
import { ULOGD_PACKAGES, ensureFirewallLogger, logGroup, stopFirewallLogger } from "./host/firewall-log";
import { type LabState, defaultStateDir, readState, statePath } from "./lab-state";
import { destroyPool, ensurePool, ensureZfsDaemon, stopZfsDaemon } from "./host/zfs";

export const LAB_PACKAGES = [
  "lxc",
  "zfs-fuse",
  "debootstrap",
  "zstd",
  "openssh-server",
  "apt-cacher-ng",
  // the Proxmox firewall's enforcement on the bridge (node/host-firewall.ts)
  "nftables",
  "apparmor",
  "iproute2",
  "openssl",
  // As on Proxmox (lxc-pve depends on it): LXC then maps ids through newuidmap, which holds root to /etc/subuid.
  "uidmap",
  ...VIEW_PACKAGES,
  ...REGISTRY_PACKAGES,
  // the firewall's log (host/firewall-log.ts)
  ...ULOGD_PACKAGES,
];
const POOL_SIZE = 8 * 1024 ** 3;

export interface LabOptions {
  definition: Definition;
  stateDir?: string;
  sshPort?: number;
  log?: (s: string) => void;
}

export interface LabUp {
  stateDir: string;
  sshPort: number;
  sshPrivateKey: string;
  sshHostKey: string;
  /** The nodes beyond the first with an sshd of their own (the same client key logs in). */
  nodes: { node: string; sshPort: number; sshHostKey: string }[];
  aptProxy?: string;
  /** https://127.0.0.1:<port> */
  apiUrl: string;
  /** SHA-256 of the API's self-signed certificate (AB:CD:…), for nodes[].api.fingerprint. */
  apiFingerprint: string;
  credentials: ApiCredentials;
}

/** The command that runs this repository's CLI (`phoenix …`). */
export const PHOENIX_CLI = [process.execPath, join(__dirname, "..", "scripts", "phoenix.cjs")];

/** The VM base templates the lab provides (Proxmox admins import a cloud image as one), on the first images storage. */
export function vmTemplateSeeds(definition: Definition): VmTemplateSeed[] {
  const node = definition.nodes[0];
  const storage = node?.storage.find((s) => s.content.includes("images"))?.id;
  const bridge = definition.network.bridges[0]?.name;
  return definition.templates
    .filter((t): t is BaseTemplate => !isGolden(t) && t.type === "vm" && t.vmid !== undefined)
    .map((t) => {
      if (!storage)
        throw new Error(
          `VM template '${t.name}': the lab puts its disk on a storage with 'images' content, and nodes[0] has none`,
        );
      if (!bridge) throw new Error(`VM template '${t.name}': the lab needs a bridge in network.bridges for its NIC`);
      return { vmid: t.vmid!, name: t.name, storage, bridge };
    });
}

/** The storages of a definition's node the lab can hold: dir and zfspool. */
function nodeStorages(node: Definition["nodes"][number]): HostStorage[] {
  return node.storage
    .filter((s) => s.type === "dir" || s.type === "zfspool")
    .map((s) => ({
      id: s.id,
      type: s.type as "dir" | "zfspool",
      content: s.content,
      ...(s.path ? { path: s.path } : {}),
      ...(s.pool ? { pool: s.pool } : {}),
    }));
}

/** The lab's API settings from the definition: its first node, the port of its API endpoint, its storages. */
export function apiSettings(definition: Definition, aptProxy?: string): ApiSettings {
  const vmTemplates = vmTemplateSeeds(definition);
  // the bridges the lab makes (those with a gateway address), its apt proxy and registry on the first
  const bridges = definition.network.bridges.filter((b) => b.gateway).map((b) => b.name);
  const node = definition.nodes[0];
  if (!node) throw new Error("the definition has no node for the lab to be");
  const url = node.api ? new URL(node.api.endpoint) : undefined;
  if (url && url.hostname !== "127.0.0.1" && url.hostname !== "localhost")
    throw new Error(
      `nodes[0].api.endpoint is ${node.api!.endpoint}: the lab serves its API on 127.0.0.1 only; use https://127.0.0.1:8006/`,
    );
  return {
    port: url?.port ? Number(url.port) : 8006,
    node: node.name,
    storages: nodeStorages(node),
    // the cluster's other nodes, each with its own storages (its own pool, its own `local`), behind the same API
    ...(definition.nodes.length > 1
      ? { nodes: definition.nodes.slice(1).map((n) => ({ node: n.name, storages: nodeStorages(n) })) }
      : {}),
    ...(aptProxy ? { aptProxy } : {}),
    ...(bridges.length > 0 ? { bridges, standIns: [APT_PROXY_PORT, REGISTRY_PORT] } : {}),
    ...(vmTemplates.length > 0 ? { vm: { accel: process.env.PHOENIX_LAB_QEMU_ACCEL ?? "tcg", templates: vmTemplates } } : {}),
  };
}

export async function labUp(o: LabOptions): Promise<LabUp> {
  const dir = o.stateDir ?? defaultStateDir();
  const log = o.log ?? (() => {});
  const sshPort = o.sshPort ?? o.definition.nodes[0]?.ssh?.port ?? 8022;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const step = async <T>(what: string, f: () => T | Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const r = await f();
    log(`${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return r;
  };
  await step("Debian packages", () =>
    run("bash", [join(__dirname, "..", "scripts", "ensure-apt.sh"), ...LAB_PACKAGES], { timeoutMs: 20 * 60_000 }),
  );
  await step("root's subordinate ids (/etc/subuid, /etc/subgid)", () => ensureNodeSubIds(o.definition));
  await step("zfs-fuse daemon", () => ensureZfsDaemon(join(dir, "zfs")));
  const pools = o.definition.nodes.flatMap((n) => n.zfs.pools.map((p) => p.name));
  for (const p of pools) await step(`ZFS pool ${p}`, () => ensurePool(p, join(dir, "zfs"), POOL_SIZE));
  const bridges = o.definition.network.bridges.filter((b) => b.gateway);
  for (const b of bridges)
    await step(`bridge ${b.name} (${b.gateway})`, () => ensureBridge(b.name, `${b.gateway}/${parseCidr(b.subnet)!.prefix}`));
  const aptProxy = bridges[0]
    ? await step(`apt proxy on ${bridges[0].gateway}`, () => ensureAptProxy(dir, bridges[0]!.gateway!))
    : undefined;
  if (bridges[0]) {
    // Its storage is the lab's own: stand-ins are made here, not fetched, and labs of different versions side by side
    // (other branches' tests) push other stand-ins under the same Docker Hub names.
    const registry = await step(`registry mirror on ${bridges[0].gateway}:5000`, () =>
      ensureRegistry(dir, bridges[0]!.gateway!, undefined, join(dir, "registry-storage")),
    );
    await step("stand-in images (no Docker Hub here)", () => pushStandInImages(registry, log));
  }
  const tarball = await step("base template (debootstrap, cached)", () => ensureBaseTarball(log));
  const templates: string[] = [];
  for (const n of o.definition.nodes)
    for (const s of n.storage)
      if (s.type === "dir" && s.path && s.content.includes("vztmpl"))
        templates.push(await step(`template on storage ${s.id}`, () => installTemplate(tarball, s.path!)));
  if (vmTemplateSeeds(o.definition).length > 0) {
    await step("QEMU packages", () =>
      run("bash", [join(__dirname, "..", "scripts", "ensure-apt.sh"), ...VM_HOST_PACKAGES], { timeoutMs: 20 * 60_000 }),
    );
    await step("VM image (kernel, cloud-init, guest agent; cached)", () => ensureVmImage(log));
  }
  await step(`${ETC_PVE}: the node sshd's sessions see ${join(dir, "pve")} there`, () => linkEtcPve(dir));
  const first = nodeSshd(dir, sshPort, clusterNodeNames(o.definition));
  const keys = await step(`node sshd on 127.0.0.1:${sshPort}`, () => ensureNodeSshd(first));
  const nodeSsh = extraNodeSsh(o.definition, sshPort);
  const nodes = await ensureExtraNodeSshds(dir, nodeSsh, first, (n) => nodeSessions(dir, first.cluster, n), step);

  await step(`pct at ${PCT_PATH}`, () => installPct(dir));
  const api = apiSettings(o.definition, aptProxy);
  await step("firewall log (ulogd2 on each node's NFLOG group)", () => ensureFirewallLogger(dir, firewallLogNodes(dir, api)));
  const state: LabState = {
    pools,
    bridges: bridges.map((b) => b.name),
    templates,
    sshPort,
    ...(nodeSsh.length ? { nodeSsh } : {}),
    ...(aptProxy ? { aptProxy } : {}),
    api,
  };
  writeFileSync(statePath(dir), JSON.stringify(state, null, 2));
  const url = await step(`Proxmox API on ${apiUrl(api.port)} (node ${api.node})`, () =>
    ensureApiDaemon(dir, api.port, PHOENIX_CLI),
  );
  return {
    stateDir: dir,
    sshPort,
    sshPrivateKey: keys.clientKey,
    sshHostKey: keys.hostKey,
    nodes,
    ...(aptProxy ? { aptProxy } : {}),
    apiUrl: url,
    apiFingerprint: apiFingerprint(dir),
    credentials: ensureApiCredentials(dir),
  };
}

/** Each node's state directory and the NFLOG group its firewall's log rules use (host/firewall-log.ts). */
function firewallLogNodes(dir: string, api: ApiSettings): { dir: string; group: number }[] {
  return labNodeDirs(dir, api.nodes).map((d) => ({ dir: d, group: logGroup(firewallTable(d)) }));
}

/** The API certificate's fingerprint; the API daemon made the certificate when it started. */
function apiFingerprint(dir: string): string {
  const f = certificateFingerprint(join(dir, "api"));
  if (!f) throw new Error(`the lab's API certificate is missing under ${join(dir, "api")}`);
  return f;
}

/**
 * root's ranges in /etc/subuid and /etc/subgid as the definition's node declares them (Proxmox's root:100000:65536 by
 * default). Like a Proxmox host's, they stay after `down` (other labs' unprivileged containers may need them).
 */
export function ensureNodeSubIds(definition: Definition): void {
  const node = definition.nodes[0];
  ensureSubIds("/etc/subuid", node?.subuid ?? [PROXMOX_SUBID_RANGE]);
  ensureSubIds("/etc/subgid", node?.subgid ?? [PROXMOX_SUBID_RANGE]);
}

/** The first node's sshd of the lab in `dir`: its sessions see this lab's /etc/pve and pct (host/sshd.ts). */
const nodeSshd = (dir: string, port: number, cluster: string[]) => ({
  port,
  dir: join(dir, "ssh"),
  labDir: dir,
  /** The lab's nodes, the first first: the nodes/<node>/lxc its sessions see, and its fellow nodes' sshds see. */
  cluster,
  ...nodeSessions(dir, cluster, cluster[0] ?? ""),
});

/**
 * What a node's sessions share with the lab (its pct, the cluster's /etc/pve) and have of their own node (its node
 * services, its guest configs at /etc/pve/lxc).
 */
const nodeSessions = (dir: string, cluster: string[], node: string) => {
  const nodeDir = labNodeDir(dir, cluster, node);
  ensureNodeServiceDirs(nodeDir);
  return {
    sbin: { pct: pctScript(dir), systemctl: labSystemctl() },
    binds: nodeServiceBinds(nodeDir),
    etcPve: etcPveView(dir, cluster, node),
  };
};

/**
 * Stops the lab's node sshd and starts it again as `labUp` does, in the lab's own mount namespace, with what its
 * directory holds now (a host key changed behind Pulumi's back, say). An sshd started by hand would serve the
 * host's /etc/pve instead of this lab's.
 */
export async function restartNodeSshd(stateDir = defaultStateDir()): Promise<void> {
  const state = readState(stateDir);
  if (!state) throw new Error(`no lab at ${stateDir}: run the lab first`);
  await stopNodeSshd(join(stateDir, "ssh"));
  await ensureNodeSshd(nodeSshd(stateDir, state.sshPort, clusterNodeNames(state.api)));
}

/** Leaves no container, mount, pool, bridge or process of the lab behind. */
export async function labDown(stateDir = defaultStateDir(), log: (s: string) => void = () => {}): Promise<void> {
  const state = readState(stateDir);
  await stopApiDaemon(stateDir);
  await stopFirewallLogger(stateDir);
  rmSync(join(stateDir, "firewall-log"), { recursive: true, force: true });
  await stopExtraNodeSshds(stateDir, state?.nodeSsh ?? []);
  for (const vmid of await stopAllVms(stateDir)) log(`VM ${vmid} stopped and removed`);
  // the first node's state, then each other node's (<state>/nodes/<name>)
  const nodeDirs = labNodeDirs(stateDir, state?.api.nodes);
  for (const lxc of nodeDirs.map((d) => new Lxc(join(d, "lxc")))) {
    for (const vmid of lxc.list()) {
      lxc.remove(vmid);
      log(`container ${vmid} removed`);
    }
    // Views, device nodes and Docker's data of the containers just removed: left behind, a new container with the same
    // vmid would run the old images (a stale stand-in image did, once).
    lxc.removeRunDir();
  }
  rmSync(join(stateDir, "pve"), { recursive: true, force: true });
  rmSync(join(stateDir, "nodes"), { recursive: true, force: true });
  await stopNodeDnsmasq(stateDir);
  await stopNodeSshd(join(stateDir, "ssh"));
  // The shared pct, when this lab wrote it last: other labs' sessions run their own (host/sshd.ts).
  removePct(stateDir);
  unlinkEtcPve();
  await stopAptProxy(stateDir);
  await stopRegistry(stateDir);
  for (const p of state?.pools ?? []) {
    await destroyPool(p);
    log(`ZFS pool ${p} destroyed`);
  }
  // The daemon is the machine's: another lab's pools keep it running.
  if (!run("zpool", ["list", "-H", "-o", "name"], { allowFail: true }).stdout.trim()) await stopZfsDaemon(join(stateDir, "zfs"));
  for (const table of nodeDirs.map(firewallTable)) {
    removeFirewallTable(table);
    log(`nftables tables ${table} removed`);
  }
  for (const b of state?.bridges ?? []) {
    removeBridge(b);
    log(`bridge ${b} removed`);
  }
  for (const t of state?.templates ?? []) rmSync(t, { force: true });
  if (state) rmSync(statePath(stateDir));
}

/** Where the node's `pct` goes: on the default PATH of root's SSH sessions, as on a Proxmox node. */
export const PCT_PATH = "/usr/local/sbin/pct";
const PCT_MARK = "# phoenix-lab pct";

/** The node's `pct`: a node sshd's sessions name their lab (PHOENIX_LAB_DIR); elsewhere it is the last lab's that came up. */
export function pctScript(stateDir: string): string {
  const cli = join(__dirname, "..", "scripts", "phoenix.cjs");
  return `#!/bin/sh\n${PCT_MARK}\nPHOENIX_LAB_DIR="\${PHOENIX_LAB_DIR:-${stateDir}}" exec '${process.execPath}' '${cli}' lab pct "$@"\n`;
}

/**
 * pct for a person on this host, and this lab's own (first on its node sshd's PATH, and in its sessions'
 * /usr/local/sbin, host/sshd.ts): labs side by side overwrite the shared one.
 */
export function installPct(stateDir: string): void {
  const cli = join(__dirname, "..", "scripts", "phoenix.cjs");
  mkdirSync(join(stateDir, "bin"), { recursive: true });
  writeFileSync(
    join(stateDir, "bin", "pct"),
    `#!/bin/sh\n${PCT_MARK}\nPHOENIX_LAB_DIR='${stateDir}' exec '${process.execPath}' '${cli}' lab pct "$@"\n`,
    { mode: 0o755 },
  );
  // PHOENIX_LAB_GLOBAL_PCT=0 leaves the shared one alone: a lab of an older version side by side, whose sessions
  // take the shared pct without naming their lab, would otherwise reach this lab's containers.
  if (process.env.PHOENIX_LAB_GLOBAL_PCT === "0") return;
  writeFileSync(PCT_PATH, pctScript(stateDir), { mode: 0o755 });
}

/** Where Proxmox keeps guest configs; node-side provisioning (raw lxc.* lines) edits them there. */
export const ETC_PVE = "/etc/pve";

/**
 * /etc/pve as an empty directory: each lab's node sshd bind-mounts its own configs over it in its own mount
 * namespace (host/sshd.ts), so labs side by side each see theirs. A real Proxmox node's /etc/pve (pmxcfs, with
 * content) makes the lab refuse to run.
 */
export function linkEtcPve(stateDir: string): void {
  mkdirSync(join(stateDir, "pve", "lxc"), { recursive: true });
  // An older lab linked /etc/pve to its state directory.
  if (isSymlink(ETC_PVE) && readlinkSync(ETC_PVE).endsWith("/pve")) rmSync(ETC_PVE);
  if (existsSync(ETC_PVE) && (isSymlink(ETC_PVE) || readdirSync(ETC_PVE).length > 0))
    throw new Error(`${ETC_PVE} exists and is not empty: this looks like a real Proxmox node; the lab will not run here`);
  mkdirSync(ETC_PVE, { recursive: true });
}

/** Whether a process still sees /etc/pve as a mount point (another lab's node sshd, or its sessions). */
export function etcPveInUse(): boolean {
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (
        readFileSync(`/proc/${pid}/mountinfo`, "utf8")
          .split("\n")
          .some((l) => l.split(" ")[4] === ETC_PVE)
      )
        return true;
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return false;
}

/** Removes /etc/pve and the node's `pct` once no other lab uses them (their sessions keep their mounts). */
export function unlinkEtcPve(): void {
  if (etcPveInUse()) return;
  if (isSymlink(ETC_PVE) && readlinkSync(ETC_PVE).endsWith("/pve")) rmSync(ETC_PVE);
  else if (existsSync(ETC_PVE) && readdirSync(ETC_PVE).length === 0) rmSync(ETC_PVE, { recursive: true });
  removePct();
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Removes the shared pct; given a state directory, only when it is that lab's (another lab may have put its own). */
export function removePct(stateDir?: string): void {
  if (!existsSync(PCT_PATH)) return;
  const text = readFileSync(PCT_PATH, "utf8");
  if (text.includes(PCT_MARK) && (stateDir === undefined || text.includes(`\${PHOENIX_LAB_DIR:-${stateDir}}`))) rmSync(PCT_PATH);
}

/** `pct` as the node runs it, on the lab's state. */
export async function labPct(argv: string[], stateDir = defaultStateDir()): Promise<number> {
  const state = readState(stateDir);
  // a session of another node's sshd (node-sshd.ts) names its node: that node's configs and containers
  const other = state?.nodeSsh?.find((n) => n.node === process.env.PHOENIX_LAB_NODE)?.node;
  const node = other ?? state?.api.node ?? "lab";
  const api = state?.api ? { client: labApiClient(stateDir, state.api.port), node } : undefined;
  return pct(argv, {
    stateDir: other ? nodeStateDir(stateDir, other) : stateDir,
    node,
    ...(api ? { api } : {}),
    out: (s) => process.stdout.write(`${s}\n`),
    err: (s) => process.stderr.write(`${s}\n`),
  });
}

/** `phoenix lab api`: the API daemon itself, over the state `lab up` wrote. */
export async function labServeApi(stateDir = defaultStateDir()): Promise<void> {
  const state = readState(stateDir);
  if (!state?.api) throw new Error(`the lab at ${stateDir} is not up: run \`phoenix lab up\` first`);
  const api = await serveLabApi(stateDir, state.api);
  process.stdout.write(`lab API on ${api.url} (node ${state.api.node})\n`);
}

export async function labReset(stateDir = defaultStateDir(), log?: (s: string) => void): Promise<void> {
  await labDown(stateDir, log);
  rmSync(stateDir, { recursive: true, force: true });
}

export { defaultStateDir } from "./lab-state";
export { type LabStatus, labStatus } from "./status";
