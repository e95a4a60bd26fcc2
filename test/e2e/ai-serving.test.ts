// End to end on the lab: a REAL Ollama (built from its Go module by scripts/build-ollama.sh, run on the CPU: the lab
// has no GPU) installed by the ollama feature from a release mirror the test serves on the lab bridge's gateway (as
// GitHub's release downloads are laid out, checked against its sha256sum.txt), with two declared TEST MODELS pulled
// from the test's model registry (GGUF headers made here: pulled, listed and deleted by Ollama, never run). Converges,
// a second up changes nothing, a model removed by hand inside the guest shows on refresh and up pulls it again.
// Open WebUI runs as an app on a docker guest, wired to that Ollama by name ({ endpoint: chat }): its image is the
// lab registry's page STAND-IN (no ghcr.io here), so the test checks the URL the container was given, and that
// Ollama answers at it from the app's guest; vLLM's wiring is unit-tested (no vLLM server here).
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lxc } from "../../lab/host/lxc";
import { isolatedDevDefinition } from "../support/lab-definition";
import { labStack } from "../support/lab-stack";
import { type OllamaMirror, startOllamaMirror } from "../support/ollama-mirror";
import type { PulumiProject } from "../support/pulumi-project";
import { freePort } from "../support/sshd";

const VERSION = "0.6.5";
/** stacks/apps/open-webui's Ollama part, with the image from the lab registry (a stand-in). */
const OPEN_WEBUI_COMPOSE = `services:
  open-webui:
    image: \${OPEN_WEBUI_IMAGE}
    ports: ["3000:8080"]
    environment:
      OLLAMA_BASE_URLS: \${OLLAMA_URL}
    restart: unless-stopped
`;
const dir = mkdtempSync(join(tmpdir(), "phoenix-e2e-ai-"));
const state = join(dir, "state");
const iso = isolatedDevDefinition(dir);
const lxc = new Lxc(join(state, "lxc"));
const inCt = (vmid: number, command: string) => lxc.exec(vmid, ["bash", "-c", command]);
const changes = (c: Record<string, number> | undefined) =>
  Object.fromEntries(Object.entries(c ?? {}).filter(([op]) => op !== "same" && op !== "read"));
const timings: string[] = [];
const timed = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
  const t = Date.now();
  const r = await f();
  timings.push(`${what}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return r;
};

let project: PulumiProject;
let teardown: () => Promise<void>;
let mirror: OllamaMirror;
let models: string[];

beforeAll(async () => {
  const t = Date.now();
  const binary = execFileSync("bash", [join(__dirname, "..", "..", "scripts", "build-ollama.sh"), VERSION], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 40 * 60_000,
  })
    .trim()
    .split("\n")
    .pop()!;
  timings.push(`Ollama ${VERSION} binary (build or cache): ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const port = await freePort();
  const gateway = `${iso.net}.1`;
  const registry = `${gateway}:${port}`;
  models = [`${registry}/phoenix/tiny-a:latest`, `${registry}/phoenix/tiny-b:latest`];
  const d = iso.raw;
  d.nodes[0].zfs.datasets = d.nodes[0].zfs.datasets.map((x: any) => ({ ...x, protect: false }));
  d.apps = [
    {
      name: "open-webui",
      compose: "apps/open-webui/compose.yaml",
      guests: ["ui"],
      variables: { OLLAMA_URL: { endpoint: "chat" }, OPEN_WEBUI_IMAGE: `${gateway}:5000/open-webui/open-webui:0.6.5` },
    },
  ];
  d.guests = [
    {
      vmid: 250,
      name: "chat",
      template: "debian-12-base",
      memory: 1024,
      disk: { storage: "tank-lxc", size: 4 },
      network: [{ name: "eth0", bridge: iso.bridge, ip: "auto" }],
      features: {
        ollama: { version: VERSION, source: { baseUrl: `http://${registry}/ollama` }, models, insecure: true },
      },
      healthChecks: [{ name: "ollama-tags", command: "curl -fsS http://127.0.0.1:11434/api/tags", retries: 10, interval: 2 }],
    },
    {
      vmid: 251,
      name: "ui",
      template: "docker-golden",
      memory: 512,
      disk: { storage: "tank-lxc", size: 4 },
      network: [{ name: "eth0", bridge: iso.bridge, ip: "auto" }],
    },
  ];
  ({ project, teardown } = await labStack({
    dir,
    iso,
    stackName: "ai",
    files: { "apps/open-webui/compose.yaml": OPEN_WEBUI_COMPOSE },
  }));
  // The bridge exists now: serve on its gateway address, which only the lab's guests reach.
  mirror = await startOllamaMirror({
    address: gateway,
    port,
    version: VERSION,
    binary,
    models: ["phoenix/tiny-a:latest", "phoenix/tiny-b:latest"],
  });
}, 60 * 60_000);

afterAll(async () => {
  console.log(`ai-serving timings:\n  ${timings.join("\n  ")}`);
  await mirror?.close();
  await teardown?.();
}, 300_000);

const tags = () =>
  (JSON.parse(inCt(250, "curl -fsS http://127.0.0.1:11434/api/tags").stdout) as { models: { name: string }[] }).models
    .map((m) => m.name)
    .sort();

describe("Ollama on the lab (a real Ollama on the CPU, test models)", () => {
  it(
    "installs the mirrored release, runs ollama.service and pulls both declared models",
    async () => {
      const up = await timed("first up", () => project.stack.up());
      expect(up.summary.result).toBe("succeeded");
      expect(inCt(250, "systemctl is-active ollama").stdout.trim()).toBe("active");
      expect(JSON.parse(inCt(250, "curl -fsS http://127.0.0.1:11434/api/version").stdout)).toEqual({ version: VERSION });
      expect(inCt(250, "readlink /opt/ollama/current; stat -c '%U' /var/lib/ollama/models").stdout.split("\n")).toEqual([
        VERSION,
        "ollama",
        "",
      ]);
      expect(inCt(250, "ps -o user= -C ollama").stdout.trim()).toBe("ollama");
      expect(tags()).toEqual(models);
      expect(mirror.requests).toContain(`GET /ollama/v${VERSION}/sha256sum.txt`);
      const outputs = JSON.stringify(await project.stack.outputs());
      expect(outputs).toMatch(/"ollama":"http:\/\/10\.253\.\d+\.\d+:11434"/);
    },
    30 * 60_000,
  );

  it(
    "Open WebUI (a stand-in image) is given the plan's Ollama URL, at which Ollama answers from the app's guest",
    async () => {
      const guests = (await project.stack.outputs()).guests!.value as Record<string, { endpoints: Record<string, string> }>;
      const url = guests["chat"]!.endpoints["ollama"]!;
      expect(url).toMatch(new RegExp(`^http://${iso.net.replace(/\./g, "\\.")}\\.1\\d\\d:11434$`));
      const env = inCt(
        251,
        "docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' $(docker ps -q --filter label=com.docker.compose.project=open-webui)",
      );
      expect(env.code, env.stderr).toBe(0);
      expect(env.stdout.split("\n")).toContain(`OLLAMA_BASE_URLS=${url}`);
      const reached = inCt(251, `curl -fsS ${url}/api/tags`);
      expect(reached.code, reached.stderr).toBe(0);
      expect((JSON.parse(reached.stdout) as { models: { name: string }[] }).models.map((m) => m.name).sort()).toEqual(models);
      expect(inCt(251, "curl -fsS http://127.0.0.1:3000/").stdout).toContain("open-webui/open-webui:0.6.5");
    },
    5 * 60_000,
  );

  it(
    "a second up changes nothing and pulls nothing",
    async () => {
      const before = mirror.requests.length;
      const again = await timed("second up", () => project.stack.up());
      expect(changes(again.summary.resourceChanges)).toEqual({});
      expect(mirror.requests.slice(before).filter((r) => r.includes("/manifests/"))).toEqual([]);
    },
    10 * 60_000,
  );

  it(
    "a model removed by hand inside the guest shows on refresh, and up pulls it again",
    async () => {
      const gone = inCt(250, `HOME=/root /opt/ollama/current/bin/ollama rm ${models[0]}`);
      expect(gone.code, gone.stderr).toBe(0);
      expect(tags()).toEqual([models[1]]);
      const refreshed = await timed("refresh (drift)", () => project.stack.refresh());
      // The ollama step's check fails (a model missing); the health check (/api/tags answers) does not.
      expect(changes(refreshed.summary.resourceChanges)).toEqual({ update: 1 });
      const before = mirror.requests.length;
      const repaired = await timed("up (pull again)", () => project.stack.up());
      expect(changes(repaired.summary.resourceChanges)).toEqual({ update: 1 });
      expect(mirror.requests.slice(before)).toContain("GET /v2/phoenix/tiny-a/manifests/latest");
      expect(tags()).toEqual(models);
      const settled = await project.stack.up();
      expect(changes(settled.summary.resourceChanges)).toEqual({});
    },
    15 * 60_000,
  );
});
