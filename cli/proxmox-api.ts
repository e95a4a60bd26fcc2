// Reads a Proxmox node through its API, as `phoenix adopt` needs it: the guests it runs, their configs, the cluster's
// PCI mappings. Read-only (GET only), with an API token or a user's ticket, over HTTPS (a node's own certificate is
// accepted only when its fingerprint is pinned (nodes[].api.fingerprint) or the definition says insecure: true).
import { request } from "node:https";
import { CommandError } from "./io";
import { nodeTls } from "./node-tls";

export interface ApiLogin {
  /** https://pve:8006/ */
  endpoint: string;
  insecure: boolean;
  /** The node certificate's SHA-256 fingerprint: nothing is sent to a server presenting another. */
  fingerprint?: string;
  /** user@realm!id=secret */
  token?: string;
  username?: string;
  password?: string;
}

export class ProxmoxApiError extends CommandError {}

export class ProxmoxReader {
  private cookie?: string;

  constructor(private readonly login: ApiLogin) {
    if (!login.token && !(login.username && login.password))
      throw new ProxmoxApiError(`no credentials for ${login.endpoint}: the node's api needs a token or a username and password`);
  }

  private send(method: "GET" | "POST", path: string, body?: string): Promise<{ status: number; reason: string; text: string }> {
    const url = new URL(
      `api2/json/${path.replace(/^\//, "")}`,
      this.login.endpoint.endsWith("/") ? this.login.endpoint : `${this.login.endpoint}/`,
    );
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.login.token) headers.Authorization = `PVEAPIToken=${this.login.token}`;
    if (this.cookie) headers.Cookie = `PVEAuthCookie=${encodeURIComponent(this.cookie)}`;
    if (body !== undefined) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      headers["Content-Length"] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const options = { method, headers, timeout: 30_000, ...nodeTls(this.login, url.origin) };
      const req = request(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? "", text: Buffer.concat(chunks).toString("utf8") }),
        );
      });
      req.on("timeout", () => req.destroy(new Error(`no answer from ${url.origin} within 30 s`)));
      req.on("error", (e) => reject(new ProxmoxApiError(`cannot reach the Proxmox API at ${url.origin}: ${e.message}`)));
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  private async ticket(): Promise<void> {
    if (this.login.token || this.cookie) return;
    const form = new URLSearchParams({ username: this.login.username!, password: this.login.password! }).toString();
    const r = await this.send("POST", "access/ticket", form);
    if (r.status !== 200)
      throw new ProxmoxApiError(
        `logging in to ${this.login.endpoint} as ${this.login.username} failed: HTTP ${r.status} ${r.reason}`,
      );
    this.cookie = (JSON.parse(r.text) as { data: { ticket: string } }).data.ticket;
  }

  /** The data of GET `path`; throws with Proxmox's status and reason otherwise. */
  async get<T>(path: string): Promise<T> {
    await this.ticket();
    const r = await this.send("GET", path);
    if (r.status !== 200) throw new ProxmoxApiError(`GET ${path}: HTTP ${r.status} ${r.reason}`);
    return (JSON.parse(r.text) as { data: T }).data;
  }
}
