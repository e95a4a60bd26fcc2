// The lab's Proxmox VE API: HTTPS on 127.0.0.1 (8006 by default) with a self-signed certificate kept
// in the state directory, /api2/json routes answering {"data": …} like pveproxy, API-token (and
// ticket) authentication, Proxmox's parameter checks and error shapes, worker tasks with UPIDs, and a
// JSON-lines audit log of every request. Endpoints it does not serve answer 501 and are logged, so
// gaps are visible. State lives behind a LabBackend (memory-backend.ts, or real LXC on ZFS).
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { AuditLog } from "./audit";
import { Authenticator, type TokenConfig, type UserConfig } from "./auth";
import type { LabBackend } from "../pve/backend";
import { ensureCertificate } from "./cert";
import type { ApiContext } from "./context";
import { Router } from "./router";
import { JobStore } from "./backup-jobs";
import { backupRoutes } from "./routes/backup";
import { clusterRoutes } from "./routes/cluster";
import { haRoutes } from "./routes/ha";
import { haGroupsRoutes } from "./routes/ha-groups";
import { haRequestRoutes } from "./routes/ha-requests";
import { haStatusRoutes } from "./routes/ha-status";
import { HaStack } from "./ha-stack";
import { haRulesRoutes } from "./routes/ha-rules";
import { migrateRoutes } from "./routes/migrate";
import { ClusterRouter } from "./cluster-router";
import { firewallClusterRoutes } from "./routes/firewall-cluster";
import { firewallGuestRoutes } from "./routes/firewall-guest";
import { firewallLogRoutes } from "./routes/firewall-log";
import { lxcSnapshotRoutes } from "./routes/lxc-snapshot";
import { lxcRoutes } from "./routes/lxc";
import { nodeRoutes } from "./routes/node";
import { accessRoutes } from "./routes/access";
import { qemuRoutes } from "./routes/qemu";
import { storageRoutes } from "./routes/storage";
import { HOST, requestHandler } from "./handler";
import { TaskManager } from "../pve/tasks";

export interface LabApiOptions {
  /** Certificate, audit log and cluster-level config (PCI mappings) live here. */
  stateDir: string;
  /** What /etc/pve holds on a node (jobs.cfg); <stateDir>/pve when not given. */
  pveDir?: string;
  /** 8006 by default; 0 picks a free port. */
  port?: number;
  /** Node name the API answers for ("pve" by default). */
  node?: string;
  tokens: TokenConfig[];
  /** Users who may log in with a password (POST /access/ticket), e.g. root@pam. */
  users?: UserConfig[];
  backend: LabBackend;
  /** The cluster's other nodes, each with its own backend (its own storages, guests and tasks); none: a lone node. */
  nodes?: { node: string; backend: LabBackend }[];
  hardware?: { cpus: number; memory: number };
  /**
   * Proxmox VE version reported; 9.0.3 by default (the provider gates features on it, and the API's behaviour follows
   * it: from 9.0 a container created without `unprivileged` is unprivileged).
   */
  version?: { version: string; release: string; repoid: string };
  /**
   * How long after a request came in a 401 answers it (pveproxy: 3 s for every unauthorized call, failed logins
   * included), so passwords and tokens cannot be tried quickly. Default UNAUTHORIZED_DELAY_MS.
   */
  unauthorizedDelayMs?: number;
}

/** pveproxy's delay of every 401 answer ("always delay unauthorized calls by 3 seconds"). */
export const UNAUTHORIZED_DELAY_MS = 3000;

export interface LabApi {
  url: string;
  port: number;
  tasks: TaskManager;
  /** Every node's tasks (the first node's are `tasks`). */
  nodeTasks: Map<string, TaskManager>;
  /** Endpoints served (method + path pattern). */
  endpoints: { method: string; path: string }[];
  close(): Promise<void>;
}

export { HOST };

/** Every route the lab serves, by Proxmox API area. */
export function labRouter(
  ctx: ApiContext,
  auth: Authenticator,
  o: Pick<LabApiOptions, "stateDir" | "pveDir" | "hardware">,
): Router {
  const router = new Router();
  // the cluster's HA configuration, shared by every node's router (startLabApi gives each node the same one)
  const ha = ctx.ha ?? new HaStack(join(o.pveDir ?? join(o.stateDir, "pve"), "ha"));
  // /etc/pve/mapping/pci.cfg: /cluster/mapping/pci keeps it, a VM's migration preconditions read it
  const pciMappings = join(o.stateDir, "pve", "mapping", "pci.json");
  router.add(
    ...accessRoutes(auth),
    ...nodeRoutes(ctx, o.hardware ?? { cpus: 4, memory: 16 * 1024 ** 3 }),
    ...storageRoutes(ctx),
    ...lxcRoutes(ctx),
    ...lxcSnapshotRoutes(ctx),
    ...qemuRoutes(ctx),
    ...backupRoutes(ctx, new JobStore(join(o.pveDir ?? join(o.stateDir, "pve"), "jobs.cfg"))),
    ...clusterRoutes(ctx, pciMappings),
    ...haRoutes(ctx, ha),
    ...haRequestRoutes(ctx, ha),
    ...haRulesRoutes(ctx, ha),
    ...haGroupsRoutes(ctx),
    ...haStatusRoutes(ctx, ha),
    ...migrateRoutes(ctx, pciMappings),
    ...firewallClusterRoutes(ctx),
    ...firewallGuestRoutes(ctx),
    ...firewallLogRoutes(ctx),
  );
  return router;
}

/**
 * The release the lab answers as: PVE 9.0, whose API creates containers unprivileged unless told otherwise (as its
 * GUI always did). Not 9.1: bpg's provider then sends 9.1's `host-managed` on every container NIC.
 */
export const LAB_PVE_VERSION = { version: "9.0.3", release: "9.0", repoid: "025864202ebb6109" };

export async function startLabApi(o: LabApiOptions): Promise<LabApi> {
  const locks = new Map<number, string>();
  const version = o.version ?? LAB_PVE_VERSION;
  const members = [{ node: o.node ?? "pve", backend: o.backend }, ...(o.nodes ?? [])];
  const ha = new HaStack(join(o.pveDir ?? join(o.stateDir, "pve"), "ha"));
  const cluster: ApiContext[] = members.map((m) => ({
    node: m.node,
    backend: m.backend,
    tasks: new TaskManager(m.node),
    locks,
    macPrefix: "BC:24:11",
    version,
    ha,
  }));
  if (members.length > 1) for (const c of cluster) c.cluster = cluster;
  const ctx = cluster[0]!;
  const tasks = ctx.tasks;
  const auth = new Authenticator(o.tokens, o.users ?? []);
  const audit = new AuditLog(join(o.stateDir, "audit.jsonl"));
  const routers = new Map(cluster.map((c) => [c.node, labRouter(c, auth, o)] as const));
  const router = new ClusterRouter(routers, routers.get(ctx.node)!);
  const cert = ensureCertificate(o.stateDir);

  const handle = requestHandler({ auth, audit, router, unauthorizedDelayMs: o.unauthorizedDelayMs ?? UNAUTHORIZED_DELAY_MS });

  const server = createServer({ key: cert.key, cert: cert.cert, minVersion: "TLSv1.2" }, (req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 8006, HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://${HOST}:${port}`,
    port,
    tasks,
    nodeTasks: new Map(cluster.map((c) => [c.node, c.tasks])),
    endpoints: router.list(),
    close: async () => {
      for (const c of cluster) await c.tasks.settle();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
