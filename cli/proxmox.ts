// The `phoenix` command's client of a node's Proxmox VE API (backups, restores, rollbacks, jobs run now): a token or
// a ticket for the definition's user, form-encoded requests, worker tasks awaited by polling their status. The
// dynamic providers have their own (provisioners/engine/pve-api.ts): cli/ does not import provisioners/.
import { request } from "node:https";
import { type NodeTrust, nodeTls } from "./node-tls";

export interface NodeApi extends NodeTrust {
  endpoint: string;
  token?: string;
  username?: string;
  password?: string;
}

export type Params = Record<string, string | number | undefined>;

export interface Task {
  upid: string;
  exitstatus: string;
  log: string[];
}

export class ProxmoxClient {
  private headers: Record<string, string> = {};
  private csrf?: string;

  private constructor(private readonly api: NodeApi) {}

  static async login(api: NodeApi): Promise<ProxmoxClient> {
    const c = new ProxmoxClient(api);
    if (api.token) c.headers.Authorization = `PVEAPIToken=${api.token}`;
    else if (api.username && api.password) {
      const t = await c.call<{ ticket: string; CSRFPreventionToken: string }>("POST", "access/ticket", {
        username: api.username,
        password: api.password,
      });
      c.headers.Cookie = `PVEAuthCookie=${encodeURIComponent(t.ticket)}`;
      c.csrf = t.CSRFPreventionToken;
    } else throw new Error(`no credentials for ${api.endpoint}: the node's api needs a token, or username and password`);
    return c;
  }

  call<T = unknown>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, params: Params = {}): Promise<T> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) q.append(k, String(v));
    const form = q.toString();
    const inQuery = method === "GET" || method === "DELETE";
    const url = new URL(`${this.api.endpoint.replace(/\/+$/, "")}/api2/json/${path}${inQuery && form ? `?${form}` : ""}`);
    const headers: Record<string, string> = { Accept: "application/json", ...this.headers };
    if (method !== "GET" && this.csrf) headers.CSRFPreventionToken = this.csrf;
    const body = !inQuery && form ? form : undefined;
    if (body) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      headers["Content-Length"] = String(Buffer.byteLength(body));
    }
    return new Promise<T>((resolve, reject) => {
      const req = request(url, { method, headers, ...nodeTls(this.api, url.origin) }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: { data?: unknown; message?: string; errors?: Record<string, string> } = {};
          try {
            json = text ? JSON.parse(text) : {};
          } catch {
            json = { message: text };
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(json.data as T);
          else
            reject(
              new Error(
                `${method} ${path}: ${(json.message ?? res.statusMessage ?? "").trim()}${json.errors ? ` ${JSON.stringify(json.errors)}` : ""}`,
              ),
            );
        });
      });
      req.on("error", reject);
      if (body) req.write(body);
      req.end();
    });
  }

  /** Runs a worker to its end; its log when it failed. */
  async task(method: "POST" | "PUT" | "DELETE", path: string, params: Params = {}): Promise<Task> {
    const upid = await this.call<string>(method, path, params);
    const node = upid.split(":")[1]!;
    const at = `nodes/${node}/tasks/${encodeURIComponent(upid)}`;
    for (;;) {
      const s = await this.call<{ status: string; exitstatus?: string }>("GET", `${at}/status`);
      if (s.status !== "running") {
        const log = (await this.call<{ t: string }[]>("GET", `${at}/log`, { limit: 100000 })).map((l) => l.t);
        return { upid, exitstatus: s.exitstatus ?? "unknown", log };
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** What went wrong in a failed task: its ERROR lines, else its exit status. */
export function failureOf(t: Task): string {
  const errors = t.log.filter((l) => l.startsWith("ERROR: ")).map((l) => l.slice(7));
  return errors.length ? errors.join("; ") : t.exitstatus;
}
