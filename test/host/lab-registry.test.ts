// The lab's Docker registry and its stand-in images, for real: Debian's docker-registry on 127.0.0.1 with
// its own state and storage, images built in TypeScript and pushed over the registry's HTTP API, read back
// through the same API a guest's dockerd uses. Needs root (the lab runs as root; apt installs the packages).
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ensureRegistry, REGISTRY_PACKAGES, stopRegistry } from "../../lab/host/registry";
import { IMAGE_CONFIG, LAYER_TAR_GZIP, MANIFEST_V2, sha256 } from "../../lab/host/registry-push";
import { BUSYBOX, pushStandInImages } from "../../lab/host/stand-in-images";
import { freePort } from "../support/sshd";

const ROOT = join(__dirname, "..", "..");

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "installing docker-registry and busybox-static needs root, as the lab does";
  try {
    execFileSync("bash", [join(ROOT, "scripts", "ensure-apt.sh"), ...REGISTRY_PACKAGES], { stdio: "ignore", timeout: 300_000 });
  } catch (e) {
    return `installing ${REGISTRY_PACKAGES.join(" ")} failed: ${(e as Error).message}`;
  }
  return undefined;
}

const skipReason = unavailable();
if (skipReason) console.warn(`lab registry tests skipped: ${skipReason}`);

const pidIn = (stateDir: string) => Number(readFileSync(join(stateDir, "docker-registry", "pid"), "utf8"));
const processExists = (pid: number) => existsSync(`/proc/${pid}`);

async function answers(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/`);
    return true;
  } catch {
    return false;
  }
}

// Skipped only where the lab itself could not run: not root, or Debian's docker-registry/busybox-static not
// installable (see unavailable() above); the reason is printed.
describe.skipIf(skipReason !== undefined)("the lab's registry with stand-in images", () => {
  let dir: string;
  let stateDir: string;
  let port: number;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "phoenix-lab-registry-"));
    stateDir = join(dir, "state");
    port = await freePort();
    url = await ensureRegistry(stateDir, "127.0.0.1", port, join(dir, "storage"));
  }, 60_000);

  afterAll(async () => {
    await stopRegistry(stateDir);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  async function getBlob(repository: string, digest: string): Promise<Buffer> {
    const res = await fetch(`${url}/v2/${repository}/blobs/${digest}`);
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(sha256(body)).toBe(digest);
    return body;
  }

  async function manifest(repository: string, tag: string) {
    const res = await fetch(`${url}/v2/${repository}/manifests/${tag}`, { headers: { Accept: MANIFEST_V2 } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(MANIFEST_V2);
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get("docker-content-digest")).toBe(sha256(body));
    const m = JSON.parse(body.toString("utf8"));
    expect(m).toMatchObject({ schemaVersion: 2, mediaType: MANIFEST_V2, config: { mediaType: IMAGE_CONFIG } });
    expect(m.layers.length).toBeGreaterThanOrEqual(1);
    for (const l of m.layers) expect(l.mediaType).toBe(LAYER_TAR_GZIP);
    const config = JSON.parse((await getBlob(repository, m.config.digest)).toString("utf8"));
    const layers: Buffer[] = [];
    for (const l of m.layers) {
      layers.push(await getBlob(repository, l.digest));
      expect(layers.at(-1)!.length).toBe(l.size);
    }
    expect(config.rootfs.diff_ids).toEqual(layers.map((l) => sha256(gunzipSync(l))));
    return { config, layer: layers[0]!, layers };
  }

  it("serves the v2 API at the URL it returns, and a second ensure keeps the same process", async () => {
    expect(url).toBe(`http://127.0.0.1:${port}`);
    expect((await fetch(`${url}/v2/`)).status).toBe(200);
    const pid = pidIn(stateDir);
    expect(await ensureRegistry(stateDir, "127.0.0.1", port, join(dir, "storage"))).toBe(url);
    expect(pidIn(stateDir)).toBe(pid);
  });

  it(
    "pushes the stand-ins under Docker Hub's names, as a guest's dockerd asks its mirror for them",
    async () => {
      expect(await pushStandInImages(url)).toEqual([
        "portainer/portainer-ce:lts",
        "portainer/agent:lts",
        "vllm/vllm-openai:latest",
        "library/nginx:1.27-alpine",
        "library/busybox:1.36",
        "open-webui/open-webui:0.6.5",
      ]);
      const catalog = await (await fetch(`${url}/v2/_catalog`)).json();
      expect(catalog).toEqual({
        repositories: [
          "library/busybox",
          "library/nginx",
          "open-webui/open-webui",
          "portainer/agent",
          "portainer/portainer-ce",
          "vllm/vllm-openai",
        ],
      });
      // a second push finds them all in place
      expect(await pushStandInImages(url)).toEqual([]);
    },
    20 * 60_000,
  );

  it("portainer-ce bundles Docker Compose v2 in a layer of its own, as Portainer does", async () => {
    const { layers } = await manifest("portainer/portainer-ce", "lts");
    expect(layers).toHaveLength(2);
    const file = join(dir, "compose-layer.tar.gz");
    writeFileSync(file, layers[1]!);
    expect(execFileSync("tar", ["-tzf", file], { encoding: "utf8" }).trim().split("\n")).toEqual(["bin/", "bin/docker-compose"]);
    execFileSync("tar", ["-xzf", file, "-C", dir]);
    expect(execFileSync(join(dir, "bin", "docker-compose"), ["version", "--short"], { encoding: "utf8" }).trim()).toBe("2.40.3");
  }, 60_000);

  it("portainer-ce: config with entrypoint, ports 9000 and 9443, stand-in label; layer with Debian's busybox", async () => {
    const { config, layer } = await manifest("portainer/portainer-ce", "lts");
    expect(config).toMatchObject({ architecture: "amd64", os: "linux" });
    expect(config.config.Entrypoint).toEqual(["/stand-in/serve"]);
    expect(config.config.ExposedPorts).toEqual({ "9000/tcp": {}, "9443/tcp": {} });
    expect(config.config.Labels["org.opencontainers.image.description"]).toMatch(
      /^phoenix-lab stand-in for portainer\/portainer-ce:lts/,
    );
    expect(config.rootfs.diff_ids[0]).toBe(sha256(gunzipSync(layer)));

    const file = join(dir, "layer.tar.gz");
    writeFileSync(file, layer);
    const listing = execFileSync("tar", ["-tzf", file], { encoding: "utf8" }).trim().split("\n");
    expect(listing).toEqual(expect.arrayContaining(["bin/busybox", "bin/sh", "stand-in/serve", "stand-in/www/index.html"]));
    expect(execFileSync("tar", ["-xzOf", file, "bin/busybox"], { maxBuffer: 16 << 20 }).equals(readFileSync(BUSYBOX))).toBe(true);
  });

  it("agent: port 9001", async () => {
    const { config } = await manifest("portainer/agent", "lts");
    expect(config.config.ExposedPorts).toEqual({ "9001/tcp": {} });
    expect(config.config.Labels["org.opencontainers.image.description"]).toMatch(
      /^phoenix-lab stand-in for portainer\/agent:lts/,
    );
  });

  /** Unpacks an image and runs its entrypoint as a container would (own pid namespace and root, the image's Env) on free ports. */
  interface RunOptions {
    prepare?: (rootfs: string) => void;
    /** A rootfs from an earlier run, as a restarted container keeps its own. */
    reuse?: string;
    tag?: string;
    /** The ports it listens on, when its arguments choose them. */
    ports?: number[];
  }
  async function runStandIn(repository: string, args: string[], o: RunOptions = {}) {
    const { prepare = () => {}, reuse, tag = "lts" } = o;
    const { config, layers } = await manifest(repository, tag);
    const rootfs = reuse ?? mkdtempSync(join(dir, "rootfs-"));
    if (!reuse)
      for (const layer of layers) execFileSync("tar", ["-xzf", "-", "-C", rootfs], { input: layer, maxBuffer: 1 << 30 });
    prepare(rootfs);
    const ports = o.ports ?? [await freePort(), await freePort()].slice(0, Object.keys(config.config.ExposedPorts).length);
    const env: Record<string, string> = Object.fromEntries(
      (config.config.Env as string[]).map((e) => e.split(/=(.*)/s).slice(0, 2)),
    );
    env["STAND_IN_PORTS"] = ports.join(" ");
    const entrypoint = args[0] === "--entrypoint" ? [args[1]!] : config.config.Entrypoint;
    if (args[0] === "--entrypoint") args = args.slice(2);
    const child = spawn(
      "/usr/bin/unshare",
      ["--pid", "--fork", "--kill-child", "/usr/sbin/chroot", rootfs, ...entrypoint, ...args],
      { env, stdio: "ignore" },
    );
    for (const p of ports) {
      const end = Date.now() + 10_000;
      while (!(await answers(p)) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    }
    const stop = async () => {
      const exited = new Promise((r) => child.once("exit", r));
      // unshare --fork blocks SIGTERM in the parent; SIGKILL takes it down and --kill-child the rest.
      child.kill("SIGKILL");
      await exited;
      for (const p of ports) {
        const end = Date.now() + 5_000;
        while ((await answers(p)) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
        expect(await answers(p)).toBe(false);
      }
    };
    return { rootfs, ports, stop };
  }

  it("agent: its entrypoint answers /ping and forwards the Docker API of /var/run/docker.sock, ignoring the real image's arguments", async () => {
    // A Docker Engine API on the socket the agent container mounts: the version call and an echo of what it got.
    let engine: ReturnType<typeof createServer> | undefined;
    const agent = await runStandIn("portainer/agent", ["--some-agent-flag"], {
      prepare: (rootfs) => {
        execFileSync("mkdir", ["-p", join(rootfs, "var/run")]);
        engine = createServer((req, res) => {
          let body = "";
          req.on("data", (c) => (body += c));
          req.on("end", () =>
            res
              .writeHead(200, { "Content-Type": "application/json" })
              .end(JSON.stringify({ method: req.method, url: req.url, body })),
          );
        }).listen(join(rootfs, "var/run/docker.sock"));
      },
    });
    try {
      expect((await fetch(`http://127.0.0.1:${agent.ports[0]}/ping`)).status).toBe(204);
      const r = await fetch(`http://127.0.0.1:${agent.ports[0]}/v1.41/containers/create?name=x`, {
        method: "POST",
        body: '{"Image":"busybox"}',
      });
      expect(await r.json()).toEqual({ method: "POST", url: "/v1.41/containers/create?name=x", body: '{"Image":"busybox"}' });
    } finally {
      await agent.stop();
      engine?.close();
    }
  }, 60_000);

  it("vllm-openai: `vllm serve` answers /v1/models with the served model name on its --port", async () => {
    const port = await freePort();
    const vllm = await runStandIn(
      "vllm/vllm-openai",
      ["--entrypoint", "vllm", "serve", "org/model", "--host", "0.0.0.0", "--port", String(port), "--served-model-name", "tiny"],
      {
        tag: "latest",
        ports: [port],
        // a container's /dev has null, which the background server's stdin is
        prepare: (rootfs) => {
          execFileSync("mkdir", ["-p", join(rootfs, "dev")]);
          execFileSync("mknod", [join(rootfs, "dev/null"), "c", "1", "3"]);
        },
      },
    );
    try {
      const models = await (await fetch(`http://127.0.0.1:${port}/v1/models`)).json();
      expect(models).toEqual({ object: "list", data: [{ id: "tiny", object: "model", owned_by: "phoenix-lab stand-in" }] });
    } finally {
      await vllm.stop();
    }
    expect(await answers(port)).toBe(false);
  }, 30_000);

  it("portainer-ce: its entrypoint serves the API double on both ports, initialised from --admin-password-file, with Portainer's answers", async () => {
    const server = await runStandIn("portainer/portainer-ce", ["--admin-password-file", "/run/secrets/admin"], {
      prepare: (rootfs) => {
        execFileSync("mkdir", ["-p", join(rootfs, "run/secrets"), join(rootfs, "dev")]);
        writeFileSync(join(rootfs, "run/secrets/admin"), 'first "pw"\\');
        // What a container's /dev has and the double uses.
        execFileSync("mknod", [join(rootfs, "dev/null"), "c", "1", "3"]);
        execFileSync("mknod", [join(rootfs, "dev/urandom"), "c", "1", "9"]);
      },
    });
    // An agent for the double to reach: a listener answering HTTP, as the stand-in agent does.
    const agent = createServer((_req, res) => res.writeHead(404).end()).listen(0, "127.0.0.1");
    await new Promise((r) => agent.once("listening", r));
    const agentPort = (agent.address() as AddressInfo).port;
    const api = (p: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${server.ports[0]}/api${p}`, init);
    const json = (method: string, body: unknown, jwt?: string): RequestInit => ({
      method,
      body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", ...(jwt ? { Authorization: `Bearer ${jwt}` } : {}) },
    });
    const login = async (Password: string) => {
      const r = await api("/auth", json("POST", { Username: "admin", Password }));
      return { status: r.status, jwt: r.status === 200 ? ((await r.json()) as { jwt: string }).jwt : "" };
    };
    const agentForm = (Name: string, URL: string) => {
      const f = new FormData();
      f.set("Name", Name);
      f.set("EndpointCreationType", "2");
      f.set("URL", URL);
      f.set("TLS", "true");
      return f;
    };
    try {
      expect((await fetch(`http://127.0.0.1:${server.ports[1]}/api/system/status`)).status).toBe(200);
      expect(await fetch(`http://127.0.0.1:${server.ports[1]}/`).then((r) => r.text())).toContain(
        "phoenix-lab stand-in for portainer/portainer-ce:lts",
      );
      expect((await api("/users/admin/check")).status).toBe(204);
      expect((await api("/users/admin/init", json("POST", { Username: "admin", Password: "other" }))).status).toBe(409);
      expect((await login("wrong")).status).toBe(422);
      const first = await login('first "pw"\\');
      expect(first.status).toBe(200);
      expect((await api("/endpoints")).status).toBe(401);

      expect((await api("/users/1/passwd", json("PUT", { Password: "not it", NewPassword: "second" }, first.jwt))).status).toBe(
        403,
      );
      expect(
        (await api("/users/1/passwd", json("PUT", { Password: 'first "pw"\\', NewPassword: "second" }, first.jwt))).status,
      ).toBe(204);
      expect((await login('first "pw"\\')).status).toBe(422);
      const { jwt } = await login("second");
      expect(jwt).not.toBe("");
      const auth = { Authorization: `Bearer ${jwt}` };

      const unreachable = await api("/endpoints", {
        method: "POST",
        headers: auth,
        body: agentForm("gone", `tcp://127.0.0.1:${await freePort()}`),
      });
      expect(unreachable.status).toBe(500);
      const created = await api("/endpoints", {
        method: "POST",
        headers: auth,
        body: agentForm("worker", `tcp://127.0.0.1:${agentPort}`),
      });
      expect(created.status).toBe(200);
      const endpoint = (await created.json()) as { Id: number };
      expect(
        (await api("/endpoints", { method: "POST", headers: auth, body: agentForm("worker", `tcp://127.0.0.1:${agentPort}`) }))
          .status,
      ).toBe(409);
      expect(await (await api("/endpoints", { headers: auth })).json()).toEqual([
        { Id: endpoint.Id, Name: "worker", Type: 2, URL: `tcp://127.0.0.1:${agentPort}`, GroupId: 1, Status: 1 },
      ]);
      expect((await api(`/endpoints/${endpoint.Id}`, { method: "DELETE", headers: auth })).status).toBe(204);
      expect((await api(`/endpoints/${endpoint.Id}`, { method: "DELETE", headers: auth })).status).toBe(404);
      expect(await (await api("/endpoints", { headers: auth })).json()).toEqual([]);
      expect((await api("/no/such/call", { headers: auth })).status).toBe(404);
    } finally {
      agent.close();
      await server.stop();
    }
    // Its state is in /data, as Portainer's: restarted, it keeps the changed password and ignores the file.
    const again = await runStandIn("portainer/portainer-ce", ["--admin-password-file", "/run/secrets/admin"], {
      reuse: server.rootfs,
    });
    try {
      const at = (Password: string) =>
        fetch(`http://127.0.0.1:${again.ports[0]}/api/auth`, {
          method: "POST",
          body: JSON.stringify({ Username: "admin", Password }),
        });
      expect((await at("second")).status).toBe(200);
      expect((await at('first "pw"\\')).status).toBe(422);
    } finally {
      await again.stop();
    }
  }, 60_000);

  it("a second push finds every manifest and uploads nothing", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    try {
      expect(await pushStandInImages(url)).toEqual([]);
      const writes = fetchSpy.mock.calls.filter(
        ([, init]) => init?.method !== undefined && init.method !== "HEAD" && init.method !== "GET",
      );
      expect(writes).toEqual([]);
    } finally {
      fetchSpy.mockRestore();
    }
  });

  it("stopRegistry leaves no process and nothing listening", async () => {
    const pid = pidIn(stateDir);
    await stopRegistry(stateDir);
    expect(processExists(pid)).toBe(false);
    expect(await answers(port)).toBe(false);
    expect(execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })).not.toContain(
      join(stateDir, "docker-registry", "config.yml"),
    );
    await stopRegistry(stateDir); // idempotent
  }, 30_000);
});
