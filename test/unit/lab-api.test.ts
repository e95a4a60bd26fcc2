// The lab's Proxmox VE API over real HTTPS on a free loopback port, with the in-memory backend, driven
// the way the proxmoxve provider (bpg's Go client) drives a node: token header, form-encoded bodies,
// UPIDs polled until stopped, configs read back and compared.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabClient } from "../../lab/pve/client";
import { MemoryBackend } from "../../lab/pve/memory-backend";
import { type LabApi, startLabApi } from "../../lab/api/server";

const NODE = "pve";
const TOKEN_ID = "root@pam!phoenix";
const SECRET = "4f9b2a6e-1c3d-4e5f-8a7b-9c0d1e2f3a4b";
const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP/LAAOYzeGRxUbV0Yz+cEKT8NxmJARmoq/RW3/b+sK7 phoenix@lab";
const UPID = /^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:[a-z]+:\d*:[^:]+:$/;

let dir: string;
let api: LabApi;
let backend: MemoryBackend;
let pve: LabClient;

function storages() {
  return [
    { id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl", "iso", "backup", "snippets", "import"] },
    { id: "tank-lxc", type: "zfspool", pool: "tank/lxc-disks", content: ["rootdir", "images"] },
  ];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "phoenix-lab-api-"));
  backend = new MemoryBackend({ storages: storages(), files: [{ volid: TEMPLATE, size: 120_000_000 }] });
  api = await startLabApi({
    stateDir: dir,
    port: 0,
    node: NODE,
    tokens: [{ id: TOKEN_ID, secret: SECRET }],
    users: [{ userid: "root@pam", password: "lab-root-pw" }],
    backend,
    // pveproxy's 3 s delay of every 401 is tested in lab-api-hostile; here it would only slow the suite down.
    unauthorizedDelayMs: 0,
  });
  pve = new LabClient({ url: api.url, token: `${TOKEN_ID}=${SECRET}` });
});

afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

function audit(): Record<string, unknown>[] {
  return readFileSync(join(dir, "audit.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The create request the provider sends for a ContainerLegacy from an OS template (field for field). */
function createBody(vmid: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    arch: "amd64",
    cmode: "tty",
    console: "1",
    cores: "2",
    cpulimit: "0",
    description: "golden docker",
    features: "nesting=1",
    hostname: "docker-golden",
    memory: "1024",
    nameserver: "10.100.0.1",
    net0: "bridge=vmbr0,ip=10.100.0.91/24,gw=10.100.0.1,name=eth0",
    onboot: "0",
    ostemplate: TEMPLATE,
    ostype: "unmanaged",
    password: "s3cret-root",
    protection: "0",
    searchdomain: "lab.internal",
    "ssh-public-keys": KEY,
    start: "0",
    storage: "tank-lxc",
    swap: "512",
    tags: "web;golden",
    template: "0",
    tty: "2",
    unprivileged: "1",
    vmid: String(vmid),
    ...extra,
  };
}

async function config(vmid: number): Promise<Record<string, unknown>> {
  return pve.data<Record<string, unknown>>("GET", `nodes/${NODE}/lxc/${vmid}/config`);
}

async function status(vmid: number): Promise<Record<string, unknown>> {
  return pve.data<Record<string, unknown>>("GET", `nodes/${NODE}/lxc/${vmid}/status/current`);
}

describe("transport and authentication", () => {
  it("serves HTTPS on loopback with a certificate made once and reused", async () => {
    const fingerprint = (url: string) =>
      new Promise<string>((resolve, reject) => {
        const req = request(`${url}/api2/json/version`, { rejectUnauthorized: false }, (res) => {
          resolve((res.socket as import("node:tls").TLSSocket).getPeerX509Certificate()!.fingerprint256);
          res.resume();
        });
        req.on("error", reject);
        req.end();
      });
    expect(api.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const first = await fingerprint(api.url);
    const again = await startLabApi({
      stateDir: dir,
      port: 0,
      node: NODE,
      tokens: [{ id: TOKEN_ID, secret: SECRET }],
      backend: new MemoryBackend(),
      unauthorizedDelayMs: 0,
    });
    try {
      expect(await fingerprint(again.url)).toBe(first);
    } finally {
      await again.close();
    }
  });

  it("answers 401 without credentials and with a wrong token (pveproxy's reason, no body), 200 with the right one", async () => {
    const anonymous = await new LabClient({ url: api.url }).call("GET", "version");
    expect(anonymous.status).toBe(401);
    expect(anonymous.statusText).toBe("No ticket");
    expect(anonymous.body).toEqual({ data: null });
    const wrong = await new LabClient({ url: api.url, token: `${TOKEN_ID}=00000000-0000-0000-0000-000000000000` }).call(
      "GET",
      "version",
    );
    expect(wrong.status).toBe(401);
    expect(wrong.statusText).toBe("Authentication failed!");
    expect(wrong.body).toEqual({ data: null });
    const unknown = await new LabClient({ url: api.url, token: `root@pam!other=${SECRET}` }).call("GET", "version");
    expect(unknown.status).toBe(401);
    const ok = await pve.call<{ version: string; release: string }>("GET", "version");
    expect(ok.status).toBe(200);
    expect(ok.body.data.version).toMatch(/^\d+\.\d+(\.\d+)?$/);
  });

  it("logs root@pam in with a ticket; writes without the CSRF token are refused", async () => {
    const login = await new LabClient({ url: api.url }).call<{ ticket: string; CSRFPreventionToken: string; username: string }>(
      "POST",
      "access/ticket",
      { username: "root@pam", password: "lab-root-pw" },
    );
    expect(login.status).toBe(200);
    expect(login.body.data.username).toBe("root@pam");
    const { ticket, CSRFPreventionToken } = login.body.data;
    expect(ticket).toMatch(/^PVE:root@pam:[0-9A-F]{8}::/);
    expect(
      (await new LabClient({ url: api.url }).call("POST", "access/ticket", { username: "root@pam", password: "nope" })).status,
    ).toBe(401);
    const noCsrf = await new LabClient({ url: api.url, ticket: { ticket, csrf: "" } }).call(
      "PUT",
      `nodes/${NODE}/lxc/999/config`,
      { cores: 1 },
    );
    expect(noCsrf.status).toBe(401);
    const root = new LabClient({ url: api.url, ticket: { ticket, csrf: CSRFPreventionToken } });
    expect((await root.call("GET", `nodes/${NODE}/status`)).status).toBe(200);
  });
});

describe("what the provider calls first", () => {
  it("lists the node, its datastores and their content", async () => {
    const nodes = await pve.data<{ node: string; status: string }[]>("GET", "nodes");
    expect(nodes).toEqual([expect.objectContaining({ node: NODE, status: "online" })]);
    const stores = await pve.data<{ storage: string; content: string; type: string; total: number; avail: number }[]>(
      "GET",
      `nodes/${NODE}/storage`,
    );
    expect(stores.map((s) => s.storage).sort()).toEqual(["local", "tank-lxc"]);
    expect(stores.find((s) => s.storage === "tank-lxc")).toMatchObject({ type: "zfspool", content: "rootdir,images" });
    expect(
      (await pve.data<{ storage: string }[]>("GET", `nodes/${NODE}/storage`, { content: "vztmpl" })).map((s) => s.storage),
    ).toEqual(["local"]);
    const files = await pve.data<{ volid: string; content: string; format: string; size: number }[]>(
      "GET",
      `nodes/${NODE}/storage/local/content`,
      { content: "vztmpl" },
    );
    expect(files).toEqual([expect.objectContaining({ volid: TEMPLATE, content: "vztmpl", format: "tzst", size: 120_000_000 })]);
    const st = await pve.data<{ active: number; type: string }>("GET", `nodes/${NODE}/storage/tank-lxc/status`);
    expect(st).toMatchObject({ active: 1, type: "zfspool" });
  });

  it("answers 500 'does not exist' for unknown storages and guests, as the provider expects to detect absence", async () => {
    const s = await pve.call("GET", `nodes/${NODE}/storage/nope/status`);
    expect(s.status).toBe(500);
    expect(s.statusText).toBe("storage 'nope' does not exist");
    const c = await pve.call("GET", `nodes/${NODE}/lxc/4242/config`);
    expect(c.status).toBe(500);
    expect(c.statusText).toBe(`Configuration file 'nodes/${NODE}/lxc/4242.conf' does not exist`);
  });
});

describe("refusals", () => {
  it("answers 501 for endpoints the lab does not serve, and logs them", async () => {
    const r = await pve.call("GET", `nodes/${NODE}/ceph/status`);
    expect(r.status).toBe(501);
    expect(r.statusText).toBe(`Method 'GET /nodes/${NODE}/ceph/status' not implemented`);
    expect(r.body.data).toBeNull();
    expect(audit()).toContainEqual(expect.objectContaining({ method: "GET", path: `/nodes/${NODE}/ceph/status`, status: 501 }));
  });

  it("answers 400 with one message per bad parameter, like Proxmox's schema check", async () => {
    const r = await pve.call(
      "POST",
      `nodes/${NODE}/lxc`,
      createBody(42, {
        hostname: "not_a_hostname",
        memory: "lots",
        net0: "name=eth0,bridge=vmbr0,ip=10.0.0.300/24",
        colour: "blue",
      }),
    );
    expect(r.status).toBe(400);
    expect(r.statusText).toBe("Parameter verification failed.");
    expect(r.body.data).toBeNull();
    expect(r.body.errors).toEqual({
      vmid: "value must have a minimum value of 100",
      hostname: expect.stringMatching(/valid DNS name/),
      memory: "type check ('integer') failed - got 'lots'",
      net0: expect.stringMatching(/ip/),
      colour: "property is not defined in schema and the schema does not allow additional properties",
    });
    expect(await backend.listGuests()).toEqual([]);
  });
});

describe("a container's life, as the provider lives it", () => {
  const CT = 901;
  const CLONE = 200;

  it("creates from an OS template: UPID, task running then stopped OK, lock released", async () => {
    const upid = await pve.data<string>("POST", `nodes/${NODE}/lxc`, createBody(CT));
    expect(upid).toMatch(UPID);
    expect(upid.split(":")[5]).toBe("vzcreate");
    expect(upid.split(":")[6]).toBe(String(CT));
    expect(upid.split(":")[7]).toBe(TOKEN_ID);
    const end = await pve.waitTask(upid);
    expect(end).toMatchObject({ status: "stopped", exitstatus: "OK" });
    expect((await pve.taskLog(upid)).at(-1)).toBe("TASK OK");
    expect((await status(CT)).lock).toBeUndefined();
  });

  it("returns the config in Proxmox's encodings, round-tripping what was set", async () => {
    const c = await config(CT);
    expect(c).toMatchObject({
      arch: "amd64",
      cores: 2,
      memory: 1024,
      swap: 512,
      hostname: "docker-golden",
      description: "golden docker\n",
      features: "nesting=1",
      nameserver: "10.100.0.1",
      searchdomain: "lab.internal",
      tags: "golden;web",
      unprivileged: 1,
      onboot: 0,
      rootfs: "tank-lxc:subvol-901-disk-0,size=4G",
    });
    expect(c.net0).toMatch(
      /^name=eth0,bridge=vmbr0,gw=10\.100\.0\.1,hwaddr=BC:24:11(:[0-9A-F]{2}){3},ip=10\.100\.0\.91\/24,type=veth$/,
    );
    expect(c.digest).toMatch(/^[0-9a-f]{40}$/);
    // create-only secrets never land in the config; the backend got them
    expect(c).not.toHaveProperty("password");
    expect(c).not.toHaveProperty("ssh-public-keys");
    expect(backend.containerSecrets.get(CT)).toEqual({ ostemplate: TEMPLATE, password: "s3cret-root", sshPublicKeys: KEY });
  });

  it("refuses a second container with the same vmid, also when two creates race", async () => {
    const r = await pve.call("POST", `nodes/${NODE}/lxc`, createBody(CT));
    expect(r.status).toBe(500);
    expect(r.statusText).toBe(`CT ${CT} already exists on node '${NODE}'`);
    const race = await Promise.all([1, 2, 3].map(() => pve.call<string>("POST", `nodes/${NODE}/lxc`, createBody(777))));
    expect(race.filter((x) => x.status === 200)).toHaveLength(1);
    expect(race.filter((x) => x.status === 500)).toHaveLength(2);
    await pve.waitTask(race.find((x) => x.status === 200)!.body.data);
    expect(await pve.task("DELETE", `nodes/${NODE}/lxc/777`)).toBe("OK");
  });

  it("updates the config: sets, deletes absent keys quietly, refuses what Proxmox refuses", async () => {
    const before = await config(CT);
    const ok = await pve.call("PUT", `nodes/${NODE}/lxc/${CT}/config`, {
      cores: 4,
      memory: 2048,
      onboot: 1,
      startup: "order=1,up=5",
      delete: ["cpulimit", "net1", "net2"],
    });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toBeNull();
    const after = await config(CT);
    expect(after).toMatchObject({ cores: 4, memory: 2048, onboot: 1, startup: "order=1,up=5" });
    expect(after).not.toHaveProperty("cpulimit");
    expect(after.net0).toBe(before.net0);
    expect(after.digest).not.toBe(before.digest);

    const keys = await pve.call("PUT", `nodes/${NODE}/lxc/${CT}/config`, { "ssh-public-keys": KEY });
    expect(keys.status).toBe(400);
    expect(keys.body.errors).toEqual({
      "ssh-public-keys": "property is not defined in schema and the schema does not allow additional properties",
    });
    expect((await pve.call("PUT", `nodes/${NODE}/lxc/${CT}/config`, {})).statusText).toBe("no options specified");
    expect((await pve.call("PUT", `nodes/${NODE}/lxc/${CT}/config`, { unprivileged: 0 })).statusText).toBe(
      "unable to modify read-only option: 'unprivileged'",
    );
    expect((await pve.call("PUT", `nodes/${NODE}/lxc/${CT}/config`, { cores: 3, delete: "cores" })).body.errors).toEqual({
      delete: "you can't use '-cores' and -delete cores' at the same time",
    });
    expect((await pve.call("PUT", `nodes/${NODE}/lxc/${CT}/config`, { cores: 3, digest: "0".repeat(40) })).status).toBe(500);
  });

  it("refuses to an API token what Proxmox keeps for root@pam: devices, bind mounts, flags other than nesting", async () => {
    const dev = await pve.call("PUT", `nodes/${NODE}/lxc/${CT}/config`, { dev0: "path=/dev/nvidia0,mode=0666" });
    expect(dev.status).toBe(403);
    expect(dev.statusText).toBe("Permission check failed (configuring device passthrough is only allowed for root@pam)");
    const bind = await pve.call("PUT", `nodes/${NODE}/lxc/${CT}/config`, { mp0: "/mnt/models,mp=/models,ro=1" });
    expect(bind.statusText).toBe("Permission check failed (mount point type bind is only allowed for root@pam)");
    const keyctl = await pve.call("PUT", `nodes/${NODE}/lxc/${CT}/config`, { features: "keyctl=1,nesting=1" });
    expect(keyctl.statusText).toBe(
      "Permission check failed (changing feature flags (except nesting) is only allowed for root@pam)",
    );

    const login = await new LabClient({ url: api.url }).data<{ ticket: string; CSRFPreventionToken: string }>(
      "POST",
      "access/ticket",
      { username: "root@pam", password: "lab-root-pw" },
    );
    const root = new LabClient({ url: api.url, ticket: { ticket: login.ticket, csrf: login.CSRFPreventionToken } });
    await root.data("PUT", `nodes/${NODE}/lxc/${CT}/config`, {
      dev0: "/dev/nvidia0,mode=0666",
      mp0: "mp=/models,ro=1,volume=/mnt/models",
      features: "keyctl=1,nesting=1",
    });
    const c = await config(CT);
    expect(c).toMatchObject({
      dev0: "/dev/nvidia0,mode=0666",
      mp0: "/mnt/models,mp=/models,ro=1",
      features: "keyctl=1,nesting=1",
    });
    await root.data("PUT", `nodes/${NODE}/lxc/${CT}/config`, { delete: "dev0,mp0", features: "nesting=1" });
    expect(await config(CT)).not.toHaveProperty("mp0");
  });

  it("resizes the root disk as a task, grows only", async () => {
    expect(await pve.task("PUT", `nodes/${NODE}/lxc/${CT}/resize`, { disk: "rootfs", size: "+2G" })).toBe("OK");
    expect((await config(CT)).rootfs).toBe("tank-lxc:subvol-901-disk-0,size=6G");
    expect(await pve.task("PUT", `nodes/${NODE}/lxc/${CT}/resize`, { disk: "rootfs", size: "8G" })).toBe("OK");
    expect((await config(CT)).rootfs).toBe("tank-lxc:subvol-901-disk-0,size=8G");
    const shrink = await pve.call("PUT", `nodes/${NODE}/lxc/${CT}/resize`, { disk: "rootfs", size: "4G" });
    expect(shrink.status).toBe(500);
    expect(shrink.statusText).toBe("unable to shrink disk size");
    expect((await pve.call("PUT", `nodes/${NODE}/lxc/${CT}/resize`, { disk: "rootfs", size: "8 GB" })).status).toBe(400);
  });

  it("starts, reports running with its addresses, refuses a second start, shuts down and stops", async () => {
    expect(await pve.task("POST", `nodes/${NODE}/lxc/${CT}/status/start`)).toBe("OK");
    expect(await status(CT)).toMatchObject({
      status: "running",
      vmid: CT,
      name: "docker-golden",
      type: "lxc",
      maxmem: 2048 * 1024 ** 2,
    });
    const again = await pve.call("POST", `nodes/${NODE}/lxc/${CT}/status/start`);
    expect(again.status).toBe(500);
    expect(again.statusText).toContain("already running");
    const ifaces = await pve.data<
      { name: string; inet?: string; "ip-addresses": { "ip-address": string; "ip-address-type": string; prefix: number }[] }[]
    >("GET", `nodes/${NODE}/lxc/${CT}/interfaces`);
    expect(ifaces.find((i) => i.name === "eth0")).toMatchObject({
      inet: "10.100.0.91/24",
      "ip-addresses": [{ "ip-address": "10.100.0.91", "ip-address-type": "inet", prefix: 24 }],
    });
    expect(await pve.task("POST", `nodes/${NODE}/lxc/${CT}/status/reboot`, { timeout: 300 })).toBe("OK");
    expect(await pve.task("POST", `nodes/${NODE}/lxc/${CT}/status/shutdown`, { forceStop: 1, timeout: 55 })).toBe("OK");
    expect((await status(CT)).status).toBe("stopped");
    const stop = await pve.call("POST", `nodes/${NODE}/lxc/${CT}/status/stop`);
    expect(stop.status).toBe(500);
    expect(stop.statusText).toBe(`CT ${CT} not running`);
    expect(await pve.task("POST", `nodes/${NODE}/lxc/${CT}/status/start`)).toBe("OK");
    expect(await pve.task("POST", `nodes/${NODE}/lxc/${CT}/status/stop`)).toBe("OK");
    expect((await status(CT)).status).toBe("stopped");
  });

  it("refuses a linked clone of a container that is not a template", async () => {
    const r = await pve.call("POST", `nodes/${NODE}/lxc/${CT}/clone`, { newid: CLONE, full: 0, hostname: "portainer" });
    expect(r.status).toBe(500);
    expect(r.statusText).toBe(`Linked clone feature for 'tank-lxc:subvol-${CT}-disk-0' is not available`);
  });

  it("converts to a template: null answer, then template=1 on a base volume; twice is refused", async () => {
    const r = await pve.call("POST", `nodes/${NODE}/lxc/${CT}/template`);
    expect(r.status).toBe(200);
    expect(r.body.data).toBeNull();
    await api.tasks.settle();
    const c = await config(CT);
    expect(c).toMatchObject({ template: 1, rootfs: `tank-lxc:basevol-${CT}-disk-0,size=8G` });
    expect((await pve.call("POST", `nodes/${NODE}/lxc/${CT}/template`)).statusText).toBe(
      "you can't convert a template to a template",
    );
    // Proxmox forks the start and its task fails
    expect(await pve.task("POST", `nodes/${NODE}/lxc/${CT}/status/start`)).toBe("you can't start a CT if it's a template");
  });

  it("clones the template (linked): new vmid, its own MAC, the base volume as parent", async () => {
    const upid = await pve.data<string>("POST", `nodes/${NODE}/lxc/${CT}/clone`, {
      newid: CLONE,
      full: 0,
      hostname: "portainer",
      description: "portainer",
    });
    expect(upid.split(":")[5]).toBe("vzclone");
    expect((await pve.waitTask(upid)).exitstatus).toBe("OK");
    const src = await config(CT);
    const c = await config(CLONE);
    expect(c).toMatchObject({
      hostname: "portainer",
      description: "portainer\n",
      features: "nesting=1",
      cores: 4,
      rootfs: `tank-lxc:basevol-${CT}-disk-0/subvol-${CLONE}-disk-0,size=8G`,
    });
    expect(c).not.toHaveProperty("template");
    expect(c.net0).not.toBe(src.net0);
    expect(String(c.net0).replace(/hwaddr=[^,]+/, "")).toBe(String(src.net0).replace(/hwaddr=[^,]+/, ""));
    // then the provider's follow-up PUT (no ssh keys: Proxmox refuses them after a clone)
    await pve.data("PUT", `nodes/${NODE}/lxc/${CLONE}/config`, {
      onboot: 1,
      cores: 1,
      memory: 1024,
      swap: 512,
      features: "nesting=1",
      net0: "bridge=vmbr0,firewall=0,ip=10.100.0.10/24,gw=10.100.0.1,name=eth0",
      delete: "net1,net2,net3,cpulimit",
    });
    expect((await config(CLONE)).net0).toMatch(
      /^name=eth0,bridge=vmbr0,firewall=0,gw=10\.100\.0\.1,hwaddr=BC:24:11(:[0-9A-F]{2}){3},ip=10\.100\.0\.10\/24,type=veth$/,
    );
    const clones = await pve.data<{ volid: string; parent?: string }[]>("GET", `nodes/${NODE}/storage/tank-lxc/content`);
    expect(clones).toContainEqual(
      expect.objectContaining({
        volid: `tank-lxc:basevol-${CT}-disk-0/subvol-${CLONE}-disk-0`,
        parent: `tank-lxc:basevol-${CT}-disk-0`,
      }),
    );
  });

  it("deletes: a template still used by a linked clone fails in its task; clone first, then the template", async () => {
    const upid = await pve.data<string>("DELETE", `nodes/${NODE}/lxc/${CT}`);
    const end = await pve.waitTask(upid);
    expect(end.exitstatus).toBe(`base volume 'basevol-${CT}-disk-0' is still in use by linked cloned`);
    expect((await pve.taskLog(upid)).at(-1)).toBe(`TASK ERROR: ${end.exitstatus}`);

    expect(await pve.task("POST", `nodes/${NODE}/lxc/${CLONE}/status/start`)).toBe("OK");
    expect((await pve.call("DELETE", `nodes/${NODE}/lxc/${CLONE}`)).statusText).toBe(
      `unable to destroy CT ${CLONE} - container is running`,
    );
    expect(await pve.task("POST", `nodes/${NODE}/lxc/${CLONE}/status/stop`)).toBe("OK");
    expect(await pve.task("DELETE", `nodes/${NODE}/lxc/${CLONE}`, { purge: 1, "destroy-unreferenced-disks": 1 })).toBe("OK");
    expect(await pve.task("DELETE", `nodes/${NODE}/lxc/${CT}`)).toBe("OK");
    for (const id of [CT, CLONE]) {
      const r = await pve.call("GET", `nodes/${NODE}/lxc/${id}/status/current`);
      expect(r.status).toBe(500);
      expect(r.statusText).toContain("does not exist");
    }
    expect((await pve.data<unknown[]>("GET", `nodes/${NODE}/storage/tank-lxc/content`)).length).toBe(0);
  });
});

describe("audit log", () => {
  it("has one JSON line per request: time, method, path, params, status, user", () => {
    const lines = audit();
    expect(lines.length).toBeGreaterThan(20);
    for (const l of lines) {
      expect(l).toEqual(
        expect.objectContaining({
          time: expect.any(String),
          method: expect.any(String),
          path: expect.any(String),
          params: expect.any(Object),
          status: expect.any(Number),
        }),
      );
      expect(Number.isNaN(Date.parse(l.time as string))).toBe(false);
    }
    expect(lines).toContainEqual(
      expect.objectContaining({ method: "POST", path: `/nodes/${NODE}/lxc`, status: 200, user: TOKEN_ID }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ method: "GET", path: "/version", status: 401 }));
  });

  it("masks passwords and other secrets but keeps public keys readable; tokens never appear", () => {
    const text = readFileSync(join(dir, "audit.jsonl"), "utf8");
    const create = audit().find((l) => l.method === "POST" && l.path === `/nodes/${NODE}/lxc` && l.status === 200)!;
    expect((create.params as Record<string, string>).password).toBe("********");
    expect((create.params as Record<string, string>)["ssh-public-keys"]).toBe(KEY);
    const login = audit().find((l) => l.path === "/access/ticket")!;
    expect((login.params as Record<string, string>).password).toBe("********");
    expect(text).not.toContain("s3cret-root");
    expect(text).not.toContain("lab-root-pw");
    expect(text).not.toContain(SECRET);
  });
});
