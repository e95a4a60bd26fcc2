// A small Proxmox API client that talks the way bpg's Go client (the proxmoxve provider) does:
// form-encoded bodies, query strings for GET/DELETE, `Authorization: PVEAPIToken=…`, {"data": …}
// responses, errors carried by status + reason phrase, tasks awaited by polling their status once a
// second. For tests and scripts driving the lab API; self-signed certificates are accepted.
import { request } from "node:https";

export interface ApiResponse<T = unknown> {
  status: number;
  /** The HTTP reason phrase: Proxmox puts its error message there. */
  statusText: string;
  body: { data: T; message?: string; errors?: Record<string, string> } & Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

export type FormValue = string | number | boolean | (string | number)[];

export interface ClientOptions {
  /** https://127.0.0.1:8006 */
  url: string;
  /** user@realm!tokenid=secret */
  token?: string;
  /** Ticket auth: cookie + CSRF header on writes. */
  ticket?: { ticket: string; csrf: string };
  /** How long task() waits for a task to end (30 s unless told; a real backend's creates and clones take longer). */
  taskTimeoutMs?: number;
}

export function encodeForm(params: Record<string, FormValue | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) q.append(k, typeof x === "boolean" ? (x ? "1" : "0") : String(x));
  }
  return q.toString();
}

export class LabClient {
  constructor(private readonly o: ClientOptions) {}

  async call<T = unknown>(
    method: string,
    path: string,
    params: Record<string, FormValue | undefined> = {},
    extraHeaders: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    const form = encodeForm(params);
    const inQuery = method === "GET" || method === "DELETE";
    const target = new URL(
      `${this.o.url}/api2/json/${path.replace(/^\//, "")}${inQuery && form ? `${path.includes("?") ? "&" : "?"}${form}` : ""}`,
    );
    const headers: Record<string, string> = { Accept: "application/json", ...extraHeaders };
    if (this.o.token) headers.Authorization = `PVEAPIToken=${this.o.token}`;
    if (this.o.ticket) {
      headers.Cookie = `PVEAuthCookie=${encodeURIComponent(this.o.ticket.ticket)}`;
      if (method !== "GET") headers.CSRFPreventionToken = this.o.ticket.csrf;
    }
    const body = !inQuery && form ? form : undefined;
    if (body) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      headers["Content-Length"] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const req = request(target, { method, headers, rejectUnauthorized: false, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const json = (res.headers["content-type"] ?? "").startsWith("application/json");
          try {
            resolve({
              status: res.statusCode ?? 0,
              statusText: res.statusMessage ?? "",
              // pveproxy answers some refusals (a body too large, a chunked one) in plain text.
              body: text && json ? JSON.parse(text) : text ? { data: null, message: text } : { data: null },
              headers: res.headers,
            });
          } catch (e) {
            reject(new Error(`unparsable response to ${method} ${path}: ${text}: ${String(e)}`));
          }
        });
      });
      req.on("error", reject);
      if (body) req.write(body);
      req.end();
    });
  }

  /** The data of a 2xx answer; otherwise throws with Proxmox's status and reason. */
  async data<T = unknown>(method: string, path: string, params: Record<string, FormValue | undefined> = {}): Promise<T> {
    const r = await this.call<T>(method, path, params);
    if (r.status < 200 || r.status >= 300)
      throw new Error(`HTTP ${r.status} ${r.statusText}${r.body.errors ? ` ${JSON.stringify(r.body.errors)}` : ""}`);
    return r.body.data;
  }

  /** Polls a task until it stops (as the provider does, every `intervalMs`); returns its final status. */
  async waitTask(upid: string, intervalMs = 50, timeoutMs = 30_000): Promise<{ status: string; exitstatus?: string }> {
    const node = upid.split(":")[1]!;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.data<{ status: string; exitstatus?: string }>(
        "GET",
        `nodes/${node}/tasks/${encodeURIComponent(upid)}/status`,
      );
      if (s.status !== "running") return s;
      if (Date.now() > deadline) throw new Error(`task ${upid} still running after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  async taskLog(upid: string): Promise<string[]> {
    const node = upid.split(":")[1]!;
    return (await this.data<{ n: number; t: string }[]>("GET", `nodes/${node}/tasks/${encodeURIComponent(upid)}/log`)).map(
      (l) => l.t,
    );
  }

  /** Runs an asynchronous call to its end: the task's exit status ("OK" or the error). */
  async task(method: string, path: string, params: Record<string, FormValue | undefined> = {}): Promise<string> {
    const upid = await this.data<string>(method, path, params);
    return (await this.waitTask(upid, 50, this.o.taskTimeoutMs)).exitstatus ?? "";
  }
}
