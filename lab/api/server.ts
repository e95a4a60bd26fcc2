// The lab's Proxmox VE API: HTTPS on 127.0.0.1 (8006 by default) with a self-signed certificate kept
// in the state directory, /api2/json routes answering {"data": …} like pveproxy, API-token (and
// ticket) authentication, Proxmox's parameter checks and error shapes, worker tasks with UPIDs, and a
// JSON-lines audit log of every request. Endpoints it does not serve answer 501 and are logged, so
// gaps are visible. State lives behind a LabBackend (memory-backend.ts, or real LXC on ZFS).
import { createServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { AuditLog } from "./audit";
import { type Identity, Authenticator, type TokenConfig, type UserConfig } from "./auth";
import type { LabBackend } from "../pve/backend";
import { ensureCertificate } from "./cert";
import type { ApiContext } from "./context";
import { ApiError, isApiError, notImplemented, paramError } from "./errors";
import { Router } from "./router";
import { clusterRoutes } from "./routes/cluster";
import { lxcRoutes } from "./routes/lxc";
import { type NodeNetwork, nodeRoutes } from "./routes/node";
import { qemuRoutes } from "./routes/qemu";
import { storageRoutes } from "./routes/storage";
import { type Params, validateParams } from "../pve/schema";
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
  /**
   * Proxmox VE version reported; 9.0.3 by default (the provider gates features on it, and the API's behaviour follows
   * it: from 9.0 a container created without `unprivileged` is unprivileged).
   */
  version?: { version: string; release: string; repoid: string };
}

export interface LabApi {
  url: string;
  port: number;
  tasks: TaskManager;
  /** Endpoints served (method + path pattern). */
  endpoints: { method: string; path: string }[];
  close(): Promise<void>;
}

export const HOST = "127.0.0.1";

/**
 * The release the lab answers as: PVE 9.0, whose API creates containers unprivileged unless told otherwise (as its
 * GUI always did). Not 9.1: bpg's provider then sends 9.1's `host-managed` on every container NIC.
 */
export const LAB_PVE_VERSION = { version: "9.0.3", release: "9.0", repoid: "025864202ebb6109" };

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function addParam(params: Params, key: string, value: string): void {
  const prev = params[key];
  params[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
}

async function readParams(req: IncomingMessage, url: URL): Promise<Params> {
  const params: Params = {};
  for (const [k, v] of url.searchParams) addParam(params, k, v);
  if (req.method === "POST" || req.method === "PUT") {
    const body = await readBody(req);
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
    if (body && type === "application/json") {
      const obj = JSON.parse(body) as Record<string, unknown>;
      for (const [k, v] of Object.entries(obj))
        for (const x of Array.isArray(v) ? v : [v])
          addParam(params, k, typeof x === "string" ? x : String(typeof x === "boolean" ? Number(x) : x));
    } else if (body) for (const [k, v] of new URLSearchParams(body)) addParam(params, k, v);
  }
  return params;
}

/** A reason phrase HTTP can carry: the message's first line, printable ASCII. */
function reason(message: string): string {
  return (message.split("\n")[0] ?? "").replace(/[^\x20-\x7e]/g, "?").slice(0, 200) || "error";
}

function send(res: ServerResponse, status: number, message: string, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, reason(message), {
    "Content-Type": "application/json;charset=UTF-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "max-age=0",
    Pragma: "no-cache",
    Server: "pve-api-daemon/3.0",
  });
  res.end(text);
}

export async function startLabApi(o: LabApiOptions): Promise<LabApi> {
  const node = o.node ?? "pve";
  const tasks = new TaskManager(node);
  const ctx: ApiContext = {
    node,
    backend: o.backend,
    tasks,
    locks: new Map(),
    macPrefix: "BC:24:11",
    version: o.version ?? LAB_PVE_VERSION,
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

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = Date.now();
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", `https://${HOST}`);
    let params: Params = {};
    let identity: Identity | undefined;
    let status = 200;
    let message: string | undefined;
    const apiPath = url.pathname.startsWith("/api2/json/") ? url.pathname.slice("/api2/json".length) : undefined;
    try {
      params = await readParams(req, url).catch(() => {
        throw new ApiError(400, "unable to parse request parameters");
      });
      if (apiPath === undefined) throw notImplemented(method, url.pathname);
      const segments = apiPath
        .split("/")
        .filter(Boolean)
        .map((s) => decodeURIComponent(s));
      const path = `/${segments.join("/")}`;
      let data: unknown;
      if (path === "/access/ticket" && method === "POST") {
        const one = (k: string) => (Array.isArray(params[k]) ? (params[k] as string[])[0] : (params[k] as string | undefined));
        const realm = one("realm");
        const username =
          one("username") && realm && !one("username")!.includes("@") ? `${one("username")}@${realm}` : one("username");
        const t = auth.login(username, one("password"));
        identity = { authid: t.username, isRoot: t.username === "root@pam" };
        data = { ...t, cap: {} };
      } else if (path === "/access/ticket" && method === "GET") {
        data = null;
      } else {
        identity = auth.authenticate(req);
        const match = router.match(method, segments);
        if (!match) throw notImplemented(method, path);
        const merged: Params = { ...params, ...match.pathParams };
        const { values, arrays, errors } = validateParams(match.route.schema, merged, match.route.patterns);
        if (Object.keys(errors).length) throw paramError(errors);
        data = await match.route.handler({ method, path, params: values, arrays, identity });
      }
      send(res, 200, "OK", { data: data ?? null });
    } catch (e) {
      const err = isApiError(e) ? e : new ApiError(500, e instanceof Error ? e.message : String(e));
      status = err.status;
      message = err.message;
      send(res, err.status, err.message, {
        data: null,
        message: `${err.message}\n`,
        ...(err.errors ? { errors: err.errors } : {}),
      });
    } finally {
      audit.write({
        time: new Date(t0).toISOString(),
        method,
        path: apiPath ?? url.pathname,
        params,
        status,
        ...(identity ? { user: identity.authid } : {}),
        ...(message ? { message } : {}),
        ms: Date.now() - t0,
      });
    }
  }

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
