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
import { clusterRoutes } from "./routes/cluster";
import { lxcRoutes } from "./routes/lxc";
import { type NodeNetwork, nodeRoutes } from "./routes/node";
import { qemuRoutes } from "./routes/qemu";
import { storageRoutes } from "./routes/storage";
import { HOST, requestHandler } from "./handler";
import { TaskManager } from "../pve/tasks";

export interface LabApiOptions {
  /** Certificate, audit log and cluster-level config (PCI mappings) live here. */
  stateDir: string;
  /** 8006 by default; 0 picks a free port. */
  port?: number;
  /** Node name the API answers for ("pve" by default). */
  node?: string;
  tokens: TokenConfig[];
  /** Users who may log in with a password (POST /access/ticket), e.g. root@pam. */
  users?: UserConfig[];
  backend: LabBackend;
  /** Interfaces GET /nodes/{node}/network reports (the provider can find the node's SSH address there). */
  network?: NodeNetwork[];
  hardware?: { cpus: number; memory: number };
  /** Proxmox VE version reported; 8.4.1 by default (the provider gates features on it). */
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
  /** Endpoints served (method + path pattern). */
  endpoints: { method: string; path: string }[];
  close(): Promise<void>;
}

export { HOST };

export async function startLabApi(o: LabApiOptions): Promise<LabApi> {
  const node = o.node ?? "pve";
  const tasks = new TaskManager(node);
  const ctx: ApiContext = {
    node,
    backend: o.backend,
    tasks,
    locks: new Map(),
    macPrefix: "BC:24:11",
    version: o.version ?? { version: "8.4.1", release: "8.4", repoid: "2a5fa54a8503f96d" },
  };
  const auth = new Authenticator(o.tokens, o.users ?? []);
  const audit = new AuditLog(join(o.stateDir, "audit.jsonl"));
  const router = new Router();
  router.add(
    ...nodeRoutes(ctx, o.network ?? [], o.hardware ?? { cpus: 4, memory: 16 * 1024 ** 3 }),
    ...storageRoutes(ctx),
    ...lxcRoutes(ctx),
    ...qemuRoutes(ctx),
    ...clusterRoutes(ctx, join(o.stateDir, "pve", "mapping", "pci.json")),
  );
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
    endpoints: [{ method: "POST", path: "/access/ticket" }, ...router.list()],
    close: async () => {
      await tasks.settle();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
