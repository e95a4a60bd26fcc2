// End to end, apps on the lab with the real engine and provider: a Docker Compose project with two services, a
// variable, a secret and a config file, deployed by the guest's own compose CLI (Debian 12's docker-compose 1.29, as
// the docker feature installs it) into the Portainer guest; a no-op up; a changed variable that recreates only the
// service using it; drift (a service stopped by hand) shown by refresh and repaired by up; the same app deployed
// through the lab's Portainer double onto an agent's Docker; removal. Images come from the lab registry's stand-ins
// (nginx:1.27-alpine is busybox httpd serving the same directory, busybox:1.36 Debian's static busybox).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lxc } from "../../lab/host/lxc";
import { run } from "../../lab/host/run";
import type { PulumiProject } from "../support/pulumi-project";
import { isolatedDevDefinition } from "../support/lab-definition";
import { labStack } from "../support/lab-stack";

const dir = mkdtempSync(join(tmpdir(), "phoenix-e2e-apps-"));
const state = join(dir, "state");
const iso = isolatedDevDefinition(dir);
const SECRET = `db-${Math.random().toString(36).slice(2, 14)}`;
const ADMIN_PASSWORD = `pw-${Math.random().toString(36).slice(2, 12)}`;
let project: PulumiProject;
let teardown: () => Promise<void>;
const lxc = new Lxc(join(state, "lxc"));
const times: Record<string, number> = {};

/** The agent guest's address, as the plan gave it (a pool address). */
const workerAddress = () => inCt(220, "ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1").stdout.trim();
/** Portainer's API as the server's guest reaches it (the server container's address, port 9000). */
function portainerApi(path: string): unknown {
  const login = JSON.stringify({ Username: "admin", Password: ADMIN_PASSWORD });
  const r = inCt(
    200,
    `ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' portainer); ` +
      `jwt=$(curl -s -X POST --data-binary '${login}' "http://$ip:9000/api/auth" | jq -r .jwt); ` +
      `curl -s -H "Authorization: Bearer $jwt" "http://$ip:9000/api${path}"`,
  );
  return JSON.parse(r.stdout);
}
const stacks = () => (portainerApi("/stacks") as { Name: string; EndpointId: number }[]).map((x) => x.Name);

const changes = (c: Record<string, number> | undefined) =>
  Object.fromEntries(Object.entries(c ?? {}).filter(([op]) => op !== "same" && op !== "read"));
const inCt = (vmid: number, command: string) => lxc.exec(vmid, ["bash", "-c", command]);
async function timed<T>(name: string, f: () => Promise<T>): Promise<T> {
  const t = Date.now();
  try {
    return await f();
  } finally {
    times[name] = (Date.now() - t) / 1000;
  }
}

const COMPOSE = `# two services: a web page rendered from a template, and a worker that reads a secret
services:
  web:
    image: nginx:1.27-alpine
    environment:
      GREETING: \${GREETING}
    ports: ["\${WEB_PORT:-8081}:80"]
    volumes:
      - ./config/index.html:/usr/share/nginx/html/index.html:ro
  worker:
    image: busybox:1.36
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
    secrets: [db_password]
secrets:
  db_password:
    file: ./secrets/DB_PASSWORD
`;
const TEMPLATE = "<h1>${TITLE}</h1>\n";

/** The project's containers on a guest: service → [id, state, image]. */
function containers(vmid: number, project = "shop"): Record<string, [string, string, string]> {
  const out = inCt(
    vmid,
    `docker ps -a --filter label=com.docker.compose.project=${project} --format '{{.Label "com.docker.compose.service"}} {{.ID}} {{.State}} {{.Image}}'`,
  ).stdout;
  return Object.fromEntries(
    out
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const [svc, id, st, image] = l.split(" ");
        return [svc!, [id!, st!, image!]];
      }),
  );
}

function editDefinition(edit: (d: any) => void) {
  const d = parse(readFileSync(project.definition, "utf8"));
  edit(d);
  writeFileSync(project.definition, stringify(d));
}

function shop(extra: Record<string, unknown> = {}) {
  return {
    name: "shop",
    compose: "apps/shop/compose.yaml",
    guests: ["portainer"],
    variables: { GREETING: "hello", TITLE: "Phoenix shop", DB_PASSWORD: { secret: "shopDbPassword" } },
    files: [{ template: "apps/shop/index.html.tmpl", path: "config/index.html" }],
    ...extra,
  };
}

beforeAll(async () => {
  const d = iso.raw;
  d.nodes[0].zfs.datasets = d.nodes[0].zfs.datasets.map((x: any) => ({ ...x, protect: false }));
  // A Portainer agent (docker from the golden template), registered with the server on 200.
  d.guests.push({
    vmid: 220,
    name: "worker",
    template: "docker-golden",
    memory: 512,
    disk: { storage: "tank-lxc", size: 4 },
    network: [{ name: "eth0", bridge: iso.bridge, ip: "auto" }],
    features: { portainer: { role: "agent" } },
  });
  // The demo app (dev.yaml's hello) stays; the test's own app runs beside it, and once more through Portainer.
  d.apps.push(shop(), shop({ name: "shop-p", guests: ["worker"], deploy: "portainer" }));
  ({ project, teardown } = await labStack({
    dir,
    iso,
    stackName: "apps",
    secrets: { shopDbPassword: SECRET, portainerAdminPassword: ADMIN_PASSWORD },
    files: { "apps/shop/compose.yaml": COMPOSE, "apps/shop/index.html.tmpl": TEMPLATE },
  }));
}, 30 * 60_000);

afterAll(async () => {
  console.log(`apps e2e timings (s): ${JSON.stringify(times)}`);
  await teardown?.();
}, 300_000);

describe("apps on the lab: deploy compose (guest 200) and portainer (agent 220, through the server on 200)", () => {
  it(
    "up runs both services of each with the rendered file and the secret, which appears in no inspect, state or log",
    async () => {
      const up = await timed("first up", () => project.stack.up());
      expect(up.summary.result).toBe("succeeded");
      for (const [vmid, name, port, address] of [
        [200, "shop", 8081, `${iso.net}.10`],
        [220, "shop-p", 8081, workerAddress()],
      ] as const) {
        const c = containers(vmid, name);
        expect(Object.keys(c).sort(), name).toEqual(["web", "worker"]);
        expect([c.web![1], c.worker![1]], name).toEqual(["running", "running"]);
        expect(c.web![2]).toBe("nginx:1.27-alpine");
        expect(inCt(vmid, `cat /opt/phoenix/apps/${name}/config/index.html`).stdout).toBe("<h1>Phoenix shop</h1>\n");
        const page = run("curl", ["-s", "--max-time", "10", `http://${address}:${port}/`], { allowFail: true }).stdout;
        expect(page, name).toBe("<h1>Phoenix shop</h1>\n");
        // the secret: readable by the service, a root-only file on the guest, in no container's configuration
        expect(inCt(vmid, `docker exec ${c.worker![0]} cat /run/secrets/db_password`).stdout).toBe(SECRET);
        expect(
          inCt(vmid, `stat -c '%a %U' /opt/phoenix/apps/${name}/secrets/DB_PASSWORD /opt/phoenix/apps/${name}`)
            .stdout.trim()
            .split("\n"),
        ).toEqual(["600 root", "700 root"]);
        const inspect = inCt(vmid, `docker inspect ${c.web![0]} ${c.worker![0]}`).stdout;
        expect(inspect).toContain('"GREETING=hello"');
        expect(inspect).not.toContain(SECRET);
      }
      // Debian 12's docker.io comes with Debian's docker-compose (1.29) from the docker feature; Portainer's is v2
      expect(inCt(200, "docker-compose version --short").stdout.trim()).toMatch(/^1\.29\./);
      expect(
        inCt(
          220,
          "docker inspect -f '{{index .Config.Labels \"com.docker.compose.version\"}}' $(docker ps -q --filter label=com.docker.compose.project=shop-p | head -1)",
        ).stdout.trim(),
      ).toMatch(/^2\./);
      expect(stacks()).toEqual(["shop-p"]);
      // no secret in the state (what `pulumi stack export` prints: the Automation API's exportStack decrypts) or any log
      const exported = execFileSync("pulumi", ["stack", "export", "--stack", "apps"], {
        cwd: project.dir,
        env: project.env,
        encoding: "utf8",
        maxBuffer: 512 * 1024 * 1024,
      });
      expect(exported).toContain("shop-on-portainer");
      for (const secret of [SECRET, ADMIN_PASSWORD]) {
        expect(exported).not.toContain(secret);
        const logs = join(project.dir, "logs");
        for (const f of readdirSync(logs, { recursive: true }) as string[])
          if (f.endsWith(".log")) expect(readFileSync(join(logs, f), "utf8"), f).not.toContain(secret);
      }
      // the demo app from dev.yaml, and the outputs with each app's URLs
      const hello = run("curl", ["-s", "--max-time", "10", `http://${iso.net}.10:8080/`], { allowFail: true }).stdout;
      expect(hello).toContain("<h1>Hello from Phoenix</h1>");
      const apps = (await project.stack.outputs()).apps!.value;
      expect(apps.shop).toEqual({ deploy: "compose", guests: { portainer: [`http://${iso.net}.10:8081/`] } });
      expect(apps["shop-p"]).toEqual({ deploy: "portainer", guests: { worker: [`http://${workerAddress()}:8081/`] } });
    },
    30 * 60_000,
  );

  it(
    "a second up changes nothing",
    async () => {
      const again = await timed("no-op up", () => project.stack.up());
      expect(changes(again.summary.resourceChanges)).toEqual({});
    },
    10 * 60_000,
  );

  it(
    "a changed variable recreates only the service that uses it",
    async () => {
      const before = [containers(200, "shop"), containers(220, "shop-p")];
      editDefinition((d) =>
        d.apps.filter((a: any) => a.name.startsWith("shop")).forEach((a: any) => (a.variables.GREETING = "bonjour")),
      );
      const r = await timed("variable change up", () => project.stack.up());
      // the compose app's step, and the Portainer stack's (its guest-side files did not change)
      expect(changes(r.summary.resourceChanges)).toEqual({ update: 2 });
      const after = [containers(200, "shop"), containers(220, "shop-p")];
      for (const k of [0, 1]) {
        expect(after[k]!.web![0]).not.toBe(before[k]!.web![0]);
        expect(after[k]!.worker![0]).toBe(before[k]!.worker![0]);
      }
      expect(inCt(200, `docker inspect -f '{{json .Config.Env}}' ${after[0]!.web![0]}`).stdout).toContain("GREETING=bonjour");
      expect(inCt(220, `docker inspect -f '{{json .Config.Env}}' ${after[1]!.web![0]}`).stdout).toContain("GREETING=bonjour");
    },
    10 * 60_000,
  );

  it(
    "a changed template variable rewrites the file and restarts the service that mounts it, in the same container",
    async () => {
      const started = (vmid: number, id: string) => inCt(vmid, `docker inspect -f '{{.State.StartedAt}}' ${id}`).stdout.trim();
      const before = [containers(200, "shop"), containers(220, "shop-p")];
      const startedBefore = [started(200, before[0]!.web![0]), started(220, before[1]!.web![0])];
      editDefinition((d) =>
        d.apps.filter((a: any) => a.name.startsWith("shop")).forEach((a: any) => (a.variables.TITLE = "New title")),
      );
      const r = await timed("template change up", () => project.stack.up());
      // the compose app's step; the agent guest's files and the stack (its env holds the plain variables)
      expect(changes(r.summary.resourceChanges)).toEqual({ update: 3 });
      const after = [containers(200, "shop"), containers(220, "shop-p")];
      for (const [k, vmid, name, address] of [
        [0, 200, "shop", `${iso.net}.10`],
        [1, 220, "shop-p", workerAddress()],
      ] as const) {
        expect(after[k]!.web![0], name).toBe(before[k]!.web![0]);
        expect(started(vmid, after[k]!.web![0]), name).not.toBe(startedBefore[k]);
        expect(after[k]!.worker![0], name).toBe(before[k]!.worker![0]);
        const page = run("curl", ["-s", "--max-time", "10", `http://${address}:8081/`], { allowFail: true }).stdout;
        expect(page, name).toBe("<h1>New title</h1>\n");
      }
    },
    10 * 60_000,
  );

  it(
    "a service stopped by hand shows on refresh, and up starts it again",
    async () => {
      const before = [containers(200, "shop"), containers(220, "shop-p")];
      expect(inCt(200, `docker stop ${before[0]!.worker![0]}`).code).toBe(0);
      expect(inCt(220, `docker stop ${before[1]!.worker![0]}`).code).toBe(0);
      const refreshed = await timed("drift refresh", () => project.stack.refresh());
      expect(changes(refreshed.summary.resourceChanges)).toEqual({ update: 2 });
      const repaired = await timed("drift repair up", () => project.stack.up());
      expect(changes(repaired.summary.resourceChanges)).toEqual({ update: 2 });
      const after = [containers(200, "shop"), containers(220, "shop-p")];
      for (const k of [0, 1]) {
        expect(after[k]!.worker![1]).toBe("running");
        expect(after[k]!.web![0]).toBe(before[k]!.web![0]);
      }
      expect(changes((await project.stack.up()).summary.resourceChanges)).toEqual({});
    },
    10 * 60_000,
  );

  it(
    "removing the apps from the definition stops and removes their containers, project directories and stack",
    async () => {
      editDefinition((d) => (d.apps = d.apps.filter((a: any) => !a.name.startsWith("shop"))));
      const r = await timed("removal up", () => project.stack.up());
      // the compose app's step; the stack and the agent guest's files; the two apps' components
      expect(changes(r.summary.resourceChanges)).toEqual({ delete: 5 });
      expect(containers(200, "shop")).toEqual({});
      expect(containers(220, "shop-p")).toEqual({});
      expect(inCt(200, "test -e /opt/phoenix/apps/shop").code).not.toBe(0);
      expect(inCt(220, "test -e /opt/phoenix/apps/shop-p").code).not.toBe(0);
      expect(stacks()).toEqual([]);
      // the demo app is untouched
      expect(Object.keys(containers(200, "hello"))).toEqual(["web"]);
    },
    10 * 60_000,
  );
});
