// The agent's loopback HTTP endpoint: GET /status, GET /runs (the history, newest first), GET /runs/<id>/log, and
// POST /hooks for push webhooks (signature checked first: none → 401, wrong → 403, nothing else is read).
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import type { Agent } from "./agent";
import { parsePush, verifySignature } from "./webhook";

const MAX_BODY = 1024 * 1024;

function send(res: ServerResponse, status: number, body: unknown) {
  const text = typeof body === "string" ? body : JSON.stringify(body, null, 2);
  res.writeHead(status, { "content-type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json" });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        ok(undefined);
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => ok(Buffer.concat(chunks)));
    req.on("error", fail);
  });
}

async function route(agent: Agent, secret: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://agent");
  if (req.method === "POST" && /^\/hooks(\/[a-z]+)?$/.test(url.pathname)) {
    const body = await readBody(req);
    if (!body) return send(res, 413, { error: "the body is larger than 1 MiB" });
    const v = verifySignature(req.headers, body, secret);
    if (!v.ok) return send(res, v.status, { error: v.reason });
    const push = parsePush(req.headers, body);
    if (push.kind === "ignored") return send(res, 200, { ignored: push.reason });
    try {
      const runs = await agent.onPush(push);
      return send(res, 202, {
        branch: push.branch,
        commit: push.after,
        runs: runs.map((r) => ({ id: r.id, env: r.env, operation: r.operation })),
      });
    } catch (e) {
      return send(res, 422, { error: (e as Error).message });
    }
  }
  if (req.method !== "GET") return send(res, 405, { error: "GET /status, GET /runs, GET /runs/<id>/log, POST /hooks" });
  if (url.pathname === "/status") return send(res, 200, agent.status());
  if (url.pathname === "/runs") {
    const env = url.searchParams.get("env");
    const limit = Number(url.searchParams.get("limit") ?? 100);
    const runs = agent.store.runs
      .filter((r) => !env || r.env === env)
      .slice(-limit)
      .reverse();
    return send(res, 200, { runs });
  }
  const log = /^\/runs\/(\d+)\/log$/.exec(url.pathname);
  if (log) {
    const run = agent.store.runs.find((r) => r.id === Number(log[1]));
    if (!run || !existsSync(run.log)) return send(res, 404, { error: "no such run or no log yet" });
    return send(res, 200, readFileSync(run.log, "utf8"));
  }
  return send(res, 404, { error: "GET /status, GET /runs, GET /runs/<id>/log, POST /hooks" });
}

export function serve(agent: Agent, o: { host: string; port: number; secret: string }): Promise<Server> {
  const server = createServer((req, res) => {
    route(agent, o.secret, req, res).catch((e: Error) => send(res, 500, { error: e.message }));
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(o.port, o.host, () => ok(server));
  });
}
