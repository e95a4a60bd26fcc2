// The lab API against hostile clients, with pveproxy's own answers: authentication from the headers before any
// body byte is read, bodies capped at pveproxy's limit (refused unread), nothing of a refused request's body in the
// audit log, every 401 delayed 3 s, parameter names that are Object.prototype's own treated as the unknown names
// they are, malformed %-encoding answered 4xx/501 and never 500, and the schema's bounds on memory and friends.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { connect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabClient } from "../../lab/pve/client";
import { MemoryBackend } from "../../lab/pve/memory-backend";
import { type LabApi, UNAUTHORIZED_DELAY_MS, startLabApi } from "../../lab/api/server";
import { MAX_LOGIN_POST, MAX_POST, uriUnescape } from "../../lab/api/request";

const NODE = "pve";
const TOKEN_ID = "root@pam!phoenix";
const SECRET = "0b7c9a52-6e1f-4d3a-9b8c-7a6f5e4d3c2b";
const CT = 150;
const VM = 350;

let dir: string;
let api: LabApi;
let pve: LabClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "phoenix-lab-api-hostile-"));
  api = await startLabApi({
    stateDir: dir,
    port: 0,
    node: NODE,
    tokens: [{ id: TOKEN_ID, secret: SECRET }],
    users: [{ userid: "root@pam", password: "lab-root-pw" }],
    backend: new MemoryBackend({
      storages: [{ id: "local", type: "dir", path: "/var/lib/vz", content: ["rootdir", "images", "vztmpl"] }],
      guests: [
        { type: "lxc", vmid: CT, config: { hostname: "ct", memory: "512", arch: "amd64", ostype: "debian" } },
        { type: "qemu", vmid: VM, config: { name: "vm", memory: "1024", cores: "1" } },
      ],
    }),
  });
  pve = new LabClient({ url: api.url, token: `${TOKEN_ID}=${SECRET}` });
});

afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

const auditLines = () =>
  existsSync(join(dir, "audit.jsonl")) ? readFileSync(join(dir, "audit.jsonl"), "utf8").trim().split("\n") : [];

interface RawResult {
  statusLine: string;
  head: string;
  body: string;
  /** Body bytes the server let this client write before it answered and closed the connection. */
  written: number;
  ms: number;
}

/** One request over a raw TLS socket: headers, then up to `bodyBytes` of body in 64 KiB chunks, as fast as the server takes them. */
function raw(method: string, path: string, headers: Record<string, string>, bodyBytes: number): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const socket = connect({ host: "127.0.0.1", port: api.port, rejectUnauthorized: false });
    let received = "";
    let written = 0;
    let done = false;
    const chunk = Buffer.alloc(64 * 1024, "a");
    const finish = () => {
      if (done) return;
      done = true;
      const [head = "", body = ""] = received.split("\r\n\r\n");
      resolve({ statusLine: head.split("\r\n")[0] ?? "", head, body, written, ms: Date.now() - t0 });
    };
    socket.on("data", (d) => (received += d.toString("latin1")));
    socket.on("close", finish);
    socket.on("error", () => finish());
    socket.setTimeout(30_000, () => reject(new Error("no answer within 30 s")));
    socket.once("secureConnect", () => {
      const lines = [`${method} ${path} HTTP/1.1`, "Host: 127.0.0.1", ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      const pump = () => {
        while (!done && written < bodyBytes) {
          const n = Math.min(chunk.length, bodyBytes - written);
          const more = socket.write(chunk.subarray(0, n), (err) => {
            if (!err) written += n;
          });
          if (!more) return void socket.once("drain", pump);
        }
      };
      pump();
    });
  });
}

describe("bodies: authentication first, pveproxy's cap, nothing of a refused body kept", () => {
  it("a 256 MiB unauthenticated POST is answered 401 from its headers, its body left unread and out of the audit log", async () => {
    const lines = auditLines().length;
    const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const r = await raw(
      "POST",
      `/api2/json/nodes/${NODE}/lxc`,
      { "Content-Type": "application/x-www-form-urlencoded", "Content-Length": String(256 * 1024 * 1024) },
      256 * 1024 * 1024,
    );
    expect(r.statusLine).toBe("HTTP/1.1 401 No ticket");
    expect(r.head).toMatch(/\r\nConnection: close\r\n/i);
    // The server stopped taking bytes at its socket buffers: a few MiB at most of 256.
    expect(r.written).toBeLessThan(16 * 1024 * 1024);
    const heapAfter = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    expect(heapAfter - heapBefore).toBeLessThan(32 * 1024 * 1024);
    const line = auditLines()
      .slice(lines)
      .find((l) => l.includes('"status":401'))!;
    expect(line.length).toBeLessThan(512);
    expect(JSON.parse(line)).toMatchObject({ method: "POST", path: `/nodes/${NODE}/lxc`, status: 401, params: {} });
  }, 20_000);

  it("an authenticated body over 512 KiB gets pveproxy's 501 'for data too large', unread; one at the limit is read", async () => {
    const over = await raw(
      "PUT",
      `/api2/json/nodes/${NODE}/lxc/${CT}/config`,
      {
        Authorization: `PVEAPIToken=${TOKEN_ID}=${SECRET}`,
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Length": String(MAX_POST + 1),
      },
      MAX_POST + 1,
    );
    expect(over.statusLine).toBe("HTTP/1.1 501 for data too large");
    expect(over.body).toBe("for data too large");
    expect(JSON.parse(auditLines().at(-1)!)).toMatchObject({ status: 501, message: "for data too large", params: {} });

    // At the limit: read and checked like any body (here: a description too long for the schema).
    const at = await pve.call("PUT", `nodes/${NODE}/lxc/${CT}/config`, {
      description: "d".repeat(MAX_POST - "description=".length),
    });
    expect(at.status).toBe(400);
    expect(at.body.errors).toEqual({ description: "value may only be 8192 characters long" });
  });

  it("POST /access/ticket, answered before anyone is authenticated, takes a small body only", async () => {
    const r = await raw(
      "POST",
      "/api2/json/access/ticket",
      { "Content-Type": "application/x-www-form-urlencoded", "Content-Length": String(MAX_LOGIN_POST + 1) },
      MAX_LOGIN_POST + 1,
    );
    expect(r.statusLine).toBe("HTTP/1.1 501 for data too large");
  });

  it("a chunked body and a body on GET are refused as pveproxy refuses them", async () => {
    const chunked = await raw("POST", `/api2/json/nodes/${NODE}/lxc`, { "Transfer-Encoding": "chunked" }, 0);
    expect(chunked.statusLine).toBe("HTTP/1.1 501 chunked transfer encoding not supported");
    const get = await raw(
      "GET",
      "/api2/json/version",
      { Authorization: `PVEAPIToken=${TOKEN_ID}=${SECRET}`, "Content-Length": "5" },
      5,
    );
    expect(get.statusLine).toBe("HTTP/1.1 501 Unexpected content for method 'GET'");
  });
});

describe("401s are delayed 3 s, as pveproxy delays them", () => {
  it("a wrong token, no credentials and a failed login each wait 3 s; other requests are answered meanwhile", async () => {
    const timed = async (f: () => Promise<{ status: number }>) => {
      const t0 = Date.now();
      const r = await f();
      return { status: r.status, ms: Date.now() - t0 };
    };
    const [token, none, login, ok] = await Promise.all([
      timed(() => new LabClient({ url: api.url, token: `${TOKEN_ID}=wrong` }).call("GET", "version")),
      timed(() => new LabClient({ url: api.url }).call("GET", "version")),
      timed(() => new LabClient({ url: api.url }).call("POST", "access/ticket", { username: "root@pam", password: "guess" })),
      timed(() => pve.call("GET", "version")),
    ]);
    for (const r of [token, none, login]) {
      expect(r.status).toBe(401);
      expect(r.ms).toBeGreaterThanOrEqual(UNAUTHORIZED_DELAY_MS - 50);
    }
    expect(ok.status).toBe(200);
    expect(ok.ms).toBeLessThan(1000);
    const good = await timed(() =>
      new LabClient({ url: api.url }).call("POST", "access/ticket", { username: "root@pam", password: "lab-root-pw" }),
    );
    expect(good.status).toBe(200);
    expect(good.ms).toBeLessThan(1000);
  }, 20_000);
});

describe("parameter names are looked up as own keys only", () => {
  const PROTO_NAMES = ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf", "__defineGetter__", "isPrototypeOf"];

  it.each(PROTO_NAMES)("'%s' as a form parameter is an unknown parameter (400), not Object.prototype's", async (name) => {
    const r = await pve.call("PUT", `nodes/${NODE}/lxc/${CT}/config`, { [name]: "1", cores: 2 });
    expect(r.status).toBe(400);
    expect(r.statusText).toBe("Parameter verification failed.");
    expect(r.body.errors).toEqual({
      [name]: "property is not defined in schema and the schema does not allow additional properties",
    });
    const q = await pve.call("GET", `nodes/${NODE}/lxc/${CT}/config?${encodeURIComponent(name)}=1`);
    expect(q.status).toBe(400);
    expect(Object.keys(q.body.errors ?? {})).toEqual([name]);
  });

  it("'__proto__' in a JSON body is an unknown parameter too", async () => {
    const body = '{"__proto__":"x","cores":2}';
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        `${api.url}/api2/json/nodes/${NODE}/lxc/${CT}/config`,
        {
          method: "PUT",
          rejectUnauthorized: false,
          headers: {
            Authorization: `PVEAPIToken=${TOKEN_ID}=${SECRET}`,
            "Content-Type": "application/json",
            "Content-Length": Buffer.byteLength(body),
          },
        },
        (r) => {
          let text = "";
          r.on("data", (c) => (text += c));
          r.on("end", () => resolve({ status: r.statusCode!, text }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    expect(res.status).toBe(400);
    expect(Object.entries(JSON.parse(res.text).errors)).toEqual([
      ["__proto__", "property is not defined in schema and the schema does not allow additional properties"],
    ]);
  });

  it("inside property strings, and as option names to delete", async () => {
    const net = await pve.call("PUT", `nodes/${NODE}/lxc/${CT}/config`, { net0: "name=eth0,constructor=1" });
    expect(net.status).toBe(400);
    expect(net.body.errors?.net0).toContain("net0.constructor: property is not defined in schema");
    const del = await pve.call("PUT", `nodes/${NODE}/lxc/${CT}/config`, { delete: "constructor" });
    expect(del.status).toBe(400);
    expect(del.body.errors).toEqual({ delete: "unknown option 'constructor'" });
    const vmNet = await pve.call("PUT", `nodes/${NODE}/qemu/${VM}/config`, { net0: "virtio,bridge=vmbr0,toString=1" });
    expect(vmNet.status).toBe(400);
  });

  it("as an id of a PCI mapping: constructor is a mapping that does not exist", async () => {
    const r = await pve.call("GET", "cluster/mapping/pci/constructor");
    expect(r.status).toBe(500);
    expect(r.statusText).toBe("PCI mapping 'constructor' does not exist");
  });
});

describe("malformed %-encoding", () => {
  it("decodes leniently as Perl's uri_unescape does", () => {
    expect(uriUnescape("local%3Aiso%2Fa.iso")).toBe("local:iso/a.iso");
    expect(uriUnescape("100%")).toBe("100%");
    expect(uriUnescape("%zz%4")).toBe("%zz%4");
    expect(uriUnescape("%E0%A4%A")).toBe("\uFFFD%A");
    expect(uriUnescape("caf%C3%A9")).toBe("café");
  });

  it.each([
    [`/nodes/%zz/status`, 400],
    [`/nodes/${NODE}/lxc/%E0%A4%A/config`, 400],
    [`/nodes/${NODE}/lxc/1%0/config`, 400],
    [`/nodes/%00/lxc`, 400],
    [`/version%`, 501],
    [`/nodes/${NODE}/lxc/${CT}/config?current=%zz%`, 400],
    [`/nodes/${NODE}/lxc/${CT}/config?current=%31`, 200],
  ])("GET %s answers %i, never 500", async (path, status) => {
    const r = await pve.call("GET", path.slice(1));
    expect(r.status).toBe(status);
  });
});

describe("bounds of memory and the other sizes, from Proxmox's schema", () => {
  const put = (kind: "lxc" | "qemu", vmid: number, params: Record<string, string>) =>
    pve.call("PUT", `nodes/${NODE}/${kind}/${vmid}/config`, params);

  it.each([
    ["memory", "15", "value must have a minimum value of 16"],
    ["memory", "-1", "value must have a minimum value of 16"],
    ["memory", "99999999999999999999999", "type check ('integer') failed - got '99999999999999999999999'"],
    ["memory", "9223372036854775808", "type check ('integer') failed - got '9223372036854775808'"],
    ["memory", "1e9", "type check ('integer') failed - got '1e9'"],
    ["swap", "-1", "value must have a minimum value of 0"],
    ["cores", "0", "value must have a minimum value of 1"],
    ["cores", "8193", "value must have a maximum value of 8192"],
    ["cpulimit", "8193", "value must have a maximum value of 8192"],
    ["cpuunits", "500001", "value must have a maximum value of 500000"],
    ["tty", "7", "value must have a maximum value of 6"],
  ])("a container's %s of %s is refused: %s", async (key, value, message) => {
    const r = await put("lxc", CT, { [key]: value });
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual({ [key]: message });
  });

  it("a VM's memory is at least 16 MiB too, bare or as current=", async () => {
    for (const memory of ["8", "current=8", "current=abc", "99999999999999999999999"]) {
      const r = await put("qemu", VM, { memory });
      expect(r.status).toBe(400);
      expect(Object.keys(r.body.errors ?? {})).toEqual(["memory"]);
    }
    expect((await put("qemu", VM, { memory: "2048" })).status).toBe(200);
    expect((await put("qemu", VM, { memory: "current=4096" })).status).toBe(200);
    expect((await put("lxc", CT, { memory: "16" })).status).toBe(200);
    expect((await put("lxc", CT, { memory: "9223372036854775807" })).status).toBe(200);
  });
});
