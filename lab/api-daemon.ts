// The lab's Proxmox API as a background process of `phoenix lab up`: root@pam's password and an API
// token generated once into <state>/api/credentials.json (0600), the server run by `phoenix lab api`
// over the real host backend, its pid in <state>/api/api.pid, its output in <state>/api/api.log.
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LabClient } from "./pve/client";
import { type LabApi, startLabApi } from "./api/server";
import { livePid, ok, waitFor } from "./host/run";
import { QemuRunner } from "./host/qemu";
import { ensureVmImage } from "./host/vm-image";
import { type HostStorage, HostBackend, type VmTemplateSeed } from "./node/host-backend";

export interface ApiCredentials {
  /** root@pam's password (what stacks log in with when they need root-only options). */
  rootPassword: string;
  /** root@pam!phoenix */
  tokenId: string;
  tokenSecret: string;
}

/** What the API daemon serves, kept in lab.json by `lab up`. */
export interface ApiSettings {
  port: number;
  node: string;
  storages: HostStorage[];
  /** The cluster's other nodes (a definition with several): each its own storages, state and containers. */
  nodes?: { node: string; storages: HostStorage[] }[];
  aptProxy?: string;
  /** The lab's bridges, where the first node's own traffic meets its guests (its host firewall filters it there). */
  bridges?: string[];
  /** TCP ports of the lab's stand-ins for the internet on the bridges (apt proxy, registry mirror). */
  standIns?: number[];
  /** Present when the definition has VM templates: VMs then boot under QEMU from the lab's VM image. */
  vm?: { accel: string; templates: VmTemplateSeed[] };
}

const apiDir = (stateDir: string) => join(stateDir, "api");

/** Where a node beyond the first keeps its configs (pve/lxc) and containers (lxc): <state>/nodes/<node>. */
export const nodeStateDir = (stateDir: string, node: string) => join(stateDir, "nodes", node);

/** A node's state directory among the cluster's node names (the first first): the lab's own for the first node. */
export const labNodeDir = (stateDir: string, cluster: readonly string[], node: string) =>
  cluster.indexOf(node) > 0 ? nodeStateDir(stateDir, node) : stateDir;

/** Every node's state directory, the first node's (the lab's own) first. */
export const labNodeDirs = (stateDir: string, others: readonly { node: string }[] = []) => [
  stateDir,
  ...others.map((n) => nodeStateDir(stateDir, n.node)),
];

export function ensureApiCredentials(stateDir: string): ApiCredentials {
  const file = join(apiDir(stateDir), "credentials.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as ApiCredentials;
  mkdirSync(apiDir(stateDir), { recursive: true, mode: 0o700 });
  const creds: ApiCredentials = {
    rootPassword: randomBytes(18).toString("base64url"),
    tokenId: "root@pam!phoenix",
    tokenSecret: randomUUID(),
  };
  writeFileSync(file, JSON.stringify(creds, null, 2), { mode: 0o600 });
  return creds;
}

export function apiUrl(port: number): string {
  return `https://127.0.0.1:${port}`;
}

/** A client of the running lab API, logged in with the lab's token. */
export function labApiClient(stateDir: string, port: number): LabClient {
  const c = ensureApiCredentials(stateDir);
  return new LabClient({ url: apiUrl(port), token: `${c.tokenId}=${c.tokenSecret}` });
}

const pidOf = (stateDir: string) => livePid(join(apiDir(stateDir), "api.pid"));

async function answers(stateDir: string, port: number): Promise<boolean> {
  try {
    return (await labApiClient(stateDir, port).call("GET", "version")).status === 200;
  } catch {
    return false;
  }
}

/** Starts the API daemon unless it already answers; `cli` is the command that runs `phoenix lab api`. */
export async function ensureApiDaemon(stateDir: string, port: number, cli: string[]): Promise<string> {
  ensureApiCredentials(stateDir);
  if (pidOf(stateDir) !== undefined && (await answers(stateDir, port))) return apiUrl(port);
  await stopApiDaemon(stateDir);
  const out = openSync(join(apiDir(stateDir), "api.log"), "a");
  const child = spawn(cli[0]!, [...cli.slice(1), "lab", "api"], {
    detached: true,
    stdio: ["ignore", out, out],
    env: { ...process.env, PHOENIX_LAB_DIR: stateDir },
  });
  closeSync(out);
  writeFileSync(join(apiDir(stateDir), "api.pid"), String(child.pid));
  child.unref();
  const deadline = Date.now() + 30_000;
  while (!(await answers(stateDir, port))) {
    if (pidOf(stateDir) === undefined || Date.now() > deadline) {
      const log = readFileSync(join(apiDir(stateDir), "api.log"), "utf8")
        .trim()
        .split("\n")
        .slice(-10)
        .join("\n");
      throw new Error(
        `the lab API did not come up on ${apiUrl(port)}; its log (${join(apiDir(stateDir), "api.log")}) ends:\n${log}`,
      );
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return apiUrl(port);
}

export async function stopApiDaemon(stateDir: string): Promise<void> {
  const pid = pidOf(stateDir);
  if (pid !== undefined) {
    process.kill(pid, "SIGTERM");
    await waitFor("the lab API to exit", () => !ok("kill", ["-0", String(pid)]), 15_000);
  }
  rmSync(join(apiDir(stateDir), "api.pid"), { force: true });
}

/** Runs the API in this process until SIGTERM (what the daemon is). */
export async function serveLabApi(stateDir: string, settings: ApiSettings): Promise<LabApi> {
  const creds = ensureApiCredentials(stateDir);
  const qemu = settings.vm
    ? new QemuRunner({
        stateDir,
        image: ensureVmImage(),
        accel: settings.vm.accel,
        ...(settings.aptProxy ? { aptProxy: settings.aptProxy } : {}),
      })
    : undefined;
  const backend = new HostBackend({
    stateDir,
    storages: settings.storages,
    nodeTraffic: { name: settings.node, bridges: settings.bridges ?? [], standIns: settings.standIns ?? [] },
    ...(settings.aptProxy ? { aptProxy: settings.aptProxy } : {}),
    ...(qemu ? { qemu, vmTemplates: settings.vm!.templates } : {}),
  });
  // The other nodes: their own guests and storages, the cluster's files (the firewall's) in the first node's /etc/pve.
  const others = (settings.nodes ?? []).map((n) => ({
    node: n.node,
    backend: new HostBackend({
      stateDir: nodeStateDir(stateDir, n.node),
      storages: n.storages,
      clusterDir: join(stateDir, "pve"),
      ...(settings.aptProxy ? { aptProxy: settings.aptProxy } : {}),
    }),
  }));
  const cluster = [backend, ...others.map((n) => n.backend)];
  for (const b of cluster) b.joinCluster(cluster);
  const api = await startLabApi({
    stateDir: apiDir(stateDir),
    pveDir: join(stateDir, "pve"),
    port: settings.port,
    node: settings.node,
    tokens: [{ id: creds.tokenId, secret: creds.tokenSecret }],
    users: [{ userid: "root@pam", password: creds.rootPassword }],
    backend,
    nodes: others.map((n) => ({ node: n.node, backend: n.backend })),
  });
  // what the stored firewall says, from the start (the tables are the lab's own; `lab down` removes them)
  for (const b of cluster) await b.firewall.apply().catch((e: Error) => process.stderr.write(`firewall: ${e.message}\n`));
  const stop = () => void api.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  return api;
}
