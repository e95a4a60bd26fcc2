// One request of the lab's API from arrival to answer, in pveproxy's order: transfer encoding, authentication from the
// headers (before any body byte is read), the body within its cap, parameters, the route's handler; refusals in
// pveproxy's words, every 401 answered UNAUTHORIZED_DELAY_MS after the request came in, and one audit line each
// (with the parameters only of requests that got past authentication and the body checks).
import { WithAttributes } from "./result-attributes";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuditLog } from "./audit";
import type { Authenticator, Identity } from "./auth";
import { ApiError, isApiError, notImplemented, paramError } from "./errors";
import type { Router } from "./router";
import { PUBLIC_CALLS } from "./routes/access";
import { type Params, validateParams } from "../pve/schema";
import {
  HttpRefusal,
  MAX_LOGIN_POST,
  MAX_POST,
  checkTransferEncoding,
  emptyParams,
  parseParams,
  readBody,
  uriUnescape,
} from "./request";

export const HOST = "127.0.0.1";

/** Who calls the routes pveproxy serves without authentication. */
const ANONYMOUS: Identity = { authid: "", isRoot: false };

export interface HandlerDeps {
  auth: Authenticator;
  audit: AuditLog;
  router: Router;
  unauthorizedDelayMs: number;
}

/** A reason phrase HTTP can carry: the message's first line, printable ASCII. */
function reason(message: string): string {
  return (message.split("\n")[0] ?? "").replace(/[^\x20-\x7e]/g, "?").slice(0, 200) || "error";
}

/** A refusal before the API handler: plain text, and the connection closed so an unread body is not waited for. */
function sendRefusal(req: IncomingMessage, res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, reason(message), {
    "Content-Type": "text/plain;charset=UTF-8",
    "Content-Length": Buffer.byteLength(message),
    Connection: "close",
    Server: "pve-api-daemon/3.0",
  });
  res.end(message, () => req.socket.destroy());
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** pveproxy's own error answer (its auth_handler's 401s): status and reason phrase, an empty body. */
function sendBare(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, reason(message), { "Content-Length": 0, Connection: "close", Server: "pve-api-daemon/3.0" });
  res.end(() => {
    if (!res.req.complete) res.req.socket.destroy();
  });
}

/** A JSON answer; an error closes the connection (as pveproxy does), at once when the request's body went unread. */
function send(res: ServerResponse, status: number, message: string, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, reason(message), {
    "Content-Type": "application/json;charset=UTF-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "max-age=0",
    Pragma: "no-cache",
    Server: "pve-api-daemon/3.0",
    ...(status >= 400 ? { Connection: "close" } : {}),
  });
  res.end(text, () => {
    if (!res.req.complete) res.req.socket.destroy();
  });
}

/** The server's request handler: authentication, body limits, routing, Proxmox's error shapes, the audit log. */
export function requestHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { auth, audit, router, unauthorizedDelayMs: delay } = deps;
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = Date.now();
    const method = req.method ?? "GET";
    let url: URL;
    try {
      url = new URL(req.url ?? "/", `https://${HOST}`);
    } catch {
      url = new URL(`https://${HOST}/`);
    }
    // Logged only once the request passed authentication and its body was accepted: a refused request's
    // parameters are nobody's business, and its body was never read.
    let params: Params = emptyParams();
    let identity: Identity | undefined;
    let status = 200;
    let message: string | undefined;
    const apiPath = url.pathname.startsWith("/api2/json/") ? url.pathname.slice("/api2/json".length) : undefined;
    try {
      checkTransferEncoding(req);
      if (apiPath === undefined) throw notImplemented(method, url.pathname);
      const segments = apiPath.split("/").filter(Boolean).map(uriUnescape);
      const path = `/${segments.join("/")}`;
      // From the headers alone, before a byte of the body is read; the login calls and the realm list need none.
      const anonymous = PUBLIC_CALLS.has(`${method} ${path}`);
      if (!anonymous) identity = auth.authenticate(req);
      const match = router.match(method, segments);
      if (!match) throw notImplemented(method, path);
      const login = method === "POST" && path === "/access/ticket";
      const given = parseParams(url, await readBody(req, login ? MAX_LOGIN_POST : MAX_POST), req.headers["content-type"]);
      params = given;
      const merged: Params = Object.assign(emptyParams(), given, match.pathParams);
      const { values, arrays, errors } = validateParams(match.route.schema, merged, match.route.patterns);
      if (Object.keys(errors).length) throw paramError(errors);
      const data = await match.route.handler({ method, path, params: values, arrays, identity: identity ?? ANONYMOUS });
      if (login) identity = { authid: (data as { username: string }).username, isRoot: false };
      if (data instanceof WithAttributes) send(res, 200, "OK", { data: data.data ?? null, ...data.attributes });
      else send(res, 200, "OK", { data: data ?? null });
    } catch (e) {
      if (e instanceof HttpRefusal) {
        status = e.status;
        message = e.message;
        params = emptyParams();
        sendRefusal(req, res, e.status, e.message);
        return;
      }
      const err = isApiError(e) ? e : new ApiError(500, e instanceof Error ? e.message : String(e));
      status = err.status;
      message = err.message;
      if (err.status === 401) {
        params = emptyParams();
        await sleep(t0 + delay - Date.now());
      }
      if (err.bare) sendBare(res, err.status, err.message);
      else
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
  };
}
