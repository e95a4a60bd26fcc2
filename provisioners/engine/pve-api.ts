// A small client of a node's Proxmox VE API for dynamic providers (backups before deletions, lifecycle snapshots):
// an API token or a ticket from the node's user and password, form-encoded requests, worker tasks awaited by polling
// their status once a second (as bpg's provider does) with their log read back when they fail.
// Dynamic providers are closure-serialized: builtins are required inside the functions, never imported at the top.
import { normalizeFingerprint } from "../../definition/grammar";

/** How to reach a node's API: what the definition's nodes[].api gives (secrets resolved). */
export interface PveApi {
  /** https://host:8006/ */
  endpoint: string;
  insecure?: boolean;
  /**
   * The SHA-256 fingerprint of the node's certificate (nodes[].api.fingerprint): the connection is made, the
   * certificate compared, and only on a match is the request (and its credentials) sent.
   */
  fingerprint?: string;
  /** user@realm!tokenid=secret */
  token?: string;
  username?: string;
  password?: string;
}

export type PveParams = Record<string, string | number | boolean | undefined>;

export interface PveTask {
  upid: string;
  /** "OK", a warning count, or the error. */
  exitstatus: string;
  log: string[];
}

export interface PveSession {
  call<T = unknown>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, params?: PveParams): Promise<T>;
  /** Starts a worker (a call that answers with a UPID) and waits for its end. */
  task(method: "POST" | "PUT" | "DELETE", path: string, params?: PveParams, timeoutMs?: number): Promise<PveTask>;
}

/** Thrown for an HTTP error: Proxmox's status, its message (the reason phrase) and parameter errors. */
export class PveError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Whether an error says the object is gone (Proxmox answers 500 "… does not exist" for a missing guest). */
export function isMissing(e: unknown): boolean {
  return e instanceof Error && /does not exist|no such|not found/i.test(e.message) && !/storage '/.test(e.message);
}

function encode(params: PveParams): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined) q.append(k, typeof v === "boolean" ? (v ? "1" : "0") : String(v));
  return q.toString();
}

function request(api: PveApi, headers: Record<string, string>, method: string, path: string, params: PveParams) {
  const https = require("node:https") as typeof import("node:https");
  const form = encode(params);
  const inQuery = method === "GET" || method === "DELETE";
  const url = new URL(
    `${api.endpoint.replace(/\/+$/, "")}/api2/json/${path.replace(/^\//, "")}${inQuery && form ? `?${form}` : ""}`,
  );
  const body = !inQuery && form ? form : undefined;
  const all: Record<string, string> = { Accept: "application/json", ...headers };
  if (body) {
    all["Content-Type"] = "application/x-www-form-urlencoded";
    all["Content-Length"] = String(Buffer.byteLength(body));
  }
  return new Promise<{ status: number; reason: string; json: Record<string, unknown> }>((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        headers: all,
        rejectUnauthorized: api.insecure !== true && api.fingerprint === undefined,
        timeout: 120_000,
        ...(api.fingerprint !== undefined ? { createConnection: pinnedConnection(api.endpoint, api.fingerprint) } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: Record<string, unknown> = {};
          try {
            json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            json = { message: text };
          }
          resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? "", json });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${url.href}: no answer within 120 s`)));
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

/**
 * A TLS connection handed to the request only once the server's certificate has the pinned fingerprint: nothing is
 * written to a server that presents another (a self-signed node certificate cannot be checked against system CAs).
 */
function pinnedConnection(endpoint: string, pin: string) {
  type Done = (err: Error | null, socket: import("node:stream").Duplex) => void;
  return (opts: import("node:http").ClientRequestArgs, done: Done): undefined => {
    const tls = require("node:tls") as typeof import("node:tls");
    const socket = tls.connect({ ...(opts as object), rejectUnauthorized: false } as import("node:tls").ConnectionOptions);
    socket.once("error", (e) => done(e, socket));
    socket.once("secureConnect", () => {
      const seen = socket.getPeerCertificate().fingerprint256 ?? "";
      if (normalizeFingerprint(seen) === normalizeFingerprint(pin)) return done(null, socket);
      socket.destroy();
      return done(
        new Error(
          `the API certificate at ${endpoint} does not match the pinned fingerprint (nodes[].api.fingerprint): expected ${pin}, ` +
            `the node presented ${seen}; nothing was sent`,
        ),
        socket,
      );
    });
    return undefined;
  };
}

/** Logs in (a ticket for user and password; a token needs none) and returns a session. */
export async function pveSession(api: PveApi): Promise<PveSession> {
  const headers: Record<string, string> = {};
  let csrf: string | undefined;
  if (api.token) headers.Authorization = `PVEAPIToken=${api.token}`;
  else if (api.username && api.password) {
    const r = await request(api, {}, "POST", "access/ticket", { username: api.username, password: api.password });
    const data = r.json.data as { ticket?: string; CSRFPreventionToken?: string } | null;
    if (r.status !== 200 || !data?.ticket)
      throw new PveError(
        r.status,
        r.reason,
        `logging in to ${api.endpoint} as ${api.username} failed: HTTP ${r.status} ${r.reason}`,
      );
    headers.Cookie = `PVEAuthCookie=${encodeURIComponent(data.ticket)}`;
    csrf = data.CSRFPreventionToken;
  } else throw new Error(`no credentials for ${api.endpoint}: give nodes[].api a token, or username and password`);

  const call = async <T>(method: string, path: string, params: PveParams = {}): Promise<T> => {
    const r = await request(
      api,
      method !== "GET" && csrf ? { ...headers, CSRFPreventionToken: csrf } : headers,
      method,
      path,
      params,
    );
    if (r.status < 200 || r.status >= 300) {
      const errors = r.json.errors ? ` ${JSON.stringify(r.json.errors)}` : "";
      const message = String(r.json.message ?? r.reason).trim() || r.reason;
      throw new PveError(r.status, message, `${method} ${path}: ${message}${errors}`);
    }
    return r.json.data as T;
  };
  const task = async (method: string, path: string, params: PveParams = {}, timeoutMs = 24 * 3600_000): Promise<PveTask> => {
    const upid = await call<string>(method, path, params);
    const node = upid.split(":")[1]!;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await call<{ status: string; exitstatus?: string }>(
        "GET",
        `nodes/${node}/tasks/${encodeURIComponent(upid)}/status`,
      );
      if (s.status !== "running") {
        const ok = s.exitstatus === "OK" || /^WARNINGS: \d+$/.test(s.exitstatus ?? "");
        const log = ok
          ? []
          : (await call<{ t: string }[]>("GET", `nodes/${node}/tasks/${encodeURIComponent(upid)}/log`, { limit: 100000 })).map(
              (l) => l.t,
            );
        return { upid, exitstatus: s.exitstatus ?? "unknown", log };
      }
      if (Date.now() > deadline) throw new Error(`task ${upid} still running after ${Math.round(timeoutMs / 1000)} s`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  return { call, task } as PveSession;
}

/** What a failed task's log says went wrong: its ERROR lines, else its exit status. */
export function taskFailure(t: PveTask): string {
  const errors = t.log.filter((l) => /^ERROR: /.test(l)).map((l) => l.replace(/^ERROR: /, ""));
  return errors.length ? errors.join("; ") : t.exitstatus;
}
