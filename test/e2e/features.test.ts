// End to end, in-guest provisioning on the lab's real containers, with the real engine and provider:
// Docker from Debian's packages through the lab's apt proxy (in the golden template, and in a guest built
// from the base template), Portainer server and agent from the lab registry's stand-in images (no Docker
// Hub here: the images are named as stand-ins; the server's answers the Portainer API calls the feature makes
// as a TEST DOUBLE), the agent registered as the server's environment, an AppArmor profile checked with
// apparmor_parser on the node and attached through the container's raw lxc options, a custom script, health
// checks. Then: a no-op up, an edited script, docker removed and the agent's environment deleted behind
// Pulumi's back, a changed admin password, a changed host key, and no secret in the stack's state or logs.
// nvidia and vllm need a GPU and NVIDIA's downloads: see e2e-nvidia-vllm.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lxc } from "../../lab/host/lxc";
import { run } from "../../lab/host/run";
import { type LabUp, restartNodeSshd } from "../../lab/lab";
import type { PulumiProject } from "../support/pulumi-project";
import { isolatedDevDefinition } from "../support/lab-definition";
import { labStack } from "../support/lab-stack";
import { containerHostUids } from "../support/lab-ps";

const dir = mkdtempSync(join(tmpdir(), "phoenix-e2e-features-"));
const state = join(dir, "state");
const iso = isolatedDevDefinition(dir);
const ADMIN_PASSWORD = `pw-${Math.random().toString(36).slice(2, 12)}`;
const NEW_ADMIN_PASSWORD = `pw2-${Math.random().toString(36).slice(2, 12)}`;
let lab: LabUp;
let project: PulumiProject;
let teardown: () => Promise<void>;
const lxc = new Lxc(join(state, "lxc"));

/** The worker's address, as the plan gave it (a pool address). */
const workerAddress = () => inCt(220, "ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1").stdout.trim();
const changes = (c: Record<string, number> | undefined) =>
  Object.fromEntries(Object.entries(c ?? {}).filter(([op]) => op !== "same" && op !== "read"));
const inCt = (vmid: number, command: string) => lxc.exec(vmid, ["bash", "-c", command]);
/** SSH sessions the node's sshd accepted so far (every feature reaches its container through the node). */
const sessions = () => (readFileSync(join(state, "ssh", "sshd.log"), "utf8").match(/Accepted publickey/g) ?? []).length;
const scriptFile = () => join(project.dir, "scripts", "worker.sh");
/** Portainer's API as the server's guest reaches it (the server container's address, port 9000); the test's own calls. */
function portainerApi(method: string, path: string, body?: unknown, jwt?: string): { status: number; body: string } {
  const r = inCt(
    200,
    `ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' portainer); ` +
      `curl -s -o /tmp/api-out -w '%{http_code}' -X ${method} ${jwt ? `-H 'Authorization: Bearer ${jwt}'` : ""} ` +
      `${body !== undefined ? `-H 'Content-Type: application/json' --data-binary '${JSON.stringify(body)}'` : ""} "http://$ip:9000/api${path}"; echo; cat /tmp/api-out`,
  );
  const [status, ...rest] = r.stdout.split("\n");
  return { status: Number(status), body: rest.join("\n") };
}
const portainerLogin = (Password: string) => portainerApi("POST", "/auth", { Username: "admin", Password });
function environments(Password: string): [string, string][] {
  const { jwt } = JSON.parse(portainerLogin(Password).body) as { jwt: string };
  return (JSON.parse(portainerApi("GET", "/endpoints", undefined, jwt).body) as { Name: string; URL: string }[]).map((e) => [
    e.Name,
    e.URL,
  ]);
}

function definition() {
  const d = iso.raw;
  d.nodes[0].zfs.datasets = d.nodes[0].zfs.datasets.map((x: any) => ({ ...x, protect: false }));
  d.nodes[0].apparmorProfiles = [{ name: "lxc-phoenix-gpu", file: "apparmor/lxc-phoenix-gpu" }];
  d.guests.push(
    {
      vmid: 220,
      name: "worker",
      template: "docker-golden",
      memory: 512,
      disk: { storage: "tank-lxc", size: 4 },
      network: [{ name: "eth0", bridge: iso.bridge, ip: "auto" }],
      features: {
        portainer: { role: "agent" },
        apparmor: { profile: "lxc-phoenix-gpu" },
        script: { path: "scripts/worker.sh", env: { GREETING: "hello" } },
      },
      healthChecks: [
        { name: "agent-up", command: "docker inspect -f '{{.State.Running}}' portainer_agent | grep -q true" },
        { name: "script-ran", command: "grep -q hello /etc/phoenix-worker" },
      ],
    },
    {
      vmid: 230,
      name: "builder",
      template: "debian-12-base",
      memory: 1024,
      nesting: true,
      disk: { storage: "tank-lxc", size: 4 },
      network: [{ name: "eth0", bridge: iso.bridge, ip: "auto" }],
      features: { docker: { source: "debian" } },
    },
  );
  return d;
}

beforeAll(async () => {
  definition();
  ({ lab, project, teardown } = await labStack({
    dir,
    iso,
    stackName: "features",
    secrets: { portainerAdminPassword: ADMIN_PASSWORD },
    files: { "scripts/worker.sh": 'echo run >> /root/worker-runs\necho "$GREETING" > /etc/phoenix-worker\n' },
  }));
}, 30 * 60_000);

afterAll(() => teardown?.(), 300_000);

describe("in-guest features on the lab", () => {
  it(
    "up installs docker, runs portainer server and agent, attaches the AppArmor profile, runs the script, passes health checks",
    async () => {
      const up = await project.stack.up();
      expect(up.summary.result).toBe("succeeded");
      // docker from Debian's packages, in the golden template's clone and in the guest built from the base template
      for (const vmid of [200, 220, 230])
        expect(inCt(vmid, "dpkg-query -W -f='${Status}' docker.io").stdout).toBe("install ok installed");
      expect(inCt(230, "docker info --format '{{.ServerVersion}}'").code).toBe(0);
      // All unprivileged (the definition's default): ps on the host shows them as uid 100000+, Docker running inside.
      for (const vmid of [200, 220, 230]) {
        expect(readFileSync(join(state, "pve", "lxc", `${vmid}.conf`), "utf8")).toMatch(/^unprivileged: 1$/m);
        expect(Math.min(...containerHostUids(lxc.lxcPath, vmid))).toBeGreaterThanOrEqual(100000);
      }
      expect(inCt(200, "docker inspect -f '{{.State.Running}} {{.Config.Image}}' portainer").stdout.trim()).toBe(
        "true portainer/portainer-ce:lts",
      );
      expect(inCt(220, "docker inspect -f '{{.State.Running}} {{.Config.Image}}' portainer_agent").stdout.trim()).toBe(
        "true portainer/agent:lts",
      );
      // The stand-in answers on the server's published port, from the host, at the guest's address.
      const page = run("curl", ["-s", "--max-time", "10", `http://${iso.net}.10:9443/`], { allowFail: true }).stdout;
      expect(page).toMatch(/stand-in for portainer\/portainer-ce/);
      // The admin password reached the guest as a root-only file, never a command line.
      expect(
        inCt(200, "stat -c '%a %U' /etc/portainer/admin-password; cat /etc/portainer/admin-password").stdout.trim().split("\n"),
      ).toEqual(["600 root", ADMIN_PASSWORD]);
      expect(inCt(200, "docker inspect -f '{{json .Args}} {{json .Config.Cmd}}' portainer").stdout).not.toContain(ADMIN_PASSWORD);
      // AppArmor: the profile parsed and loaded on the node (no kernel support here: --skip-kernel-load), the line in the config.
      expect(readFileSync(join(state, "pve", "lxc", "220.conf"), "utf8")).toMatch(/^lxc\.apparmor\.profile: lxc-phoenix-gpu$/m);
      expect(existsSync("/etc/apparmor.d/lxc-phoenix-gpu")).toBe(true);
      expect(
        run("apparmor_parser", ["--skip-kernel-load", "-Q", "/etc/apparmor.d/lxc-phoenix-gpu"], { allowFail: true }).code,
      ).toBe(0);
      expect(inCt(220, "cat /root/worker-runs; cat /etc/phoenix-worker").stdout.trim().split("\n")).toEqual(["run", "hello"]);
      // The agent is an environment of the server, at the worker's address: the server reached it from its container.
      expect(environments(ADMIN_PASSWORD)).toEqual([["worker", `tcp://${workerAddress()}:9001`]]);
    },
    30 * 60_000,
  );

  it(
    "a second up changes nothing and opens at most one SSH session per guest",
    async () => {
      const before = sessions();
      const again = await project.stack.up();
      expect(changes(again.summary.resourceChanges)).toEqual({});
      const guests = 4;
      expect(sessions() - before).toBeLessThanOrEqual(guests);
      expect(inCt(220, "wc -l < /root/worker-runs").stdout.trim()).toBe("1");
    },
    10 * 60_000,
  );

  it(
    "an edited custom script runs again, in place; nothing else does",
    async () => {
      writeFileSync(scriptFile(), 'echo run >> /root/worker-runs\necho "$GREETING again" > /etc/phoenix-worker\n');
      const r = await project.stack.up();
      // the script step, and the health checks that follow it (they re-run when a step before them changed)
      expect(changes(r.summary.resourceChanges)).toEqual({ update: 2 });
      expect(inCt(220, "wc -l < /root/worker-runs; cat /etc/phoenix-worker").stdout.trim().split("\n")).toEqual([
        "2",
        "hello again",
      ]);
    },
    10 * 60_000,
  );

  it(
    "an agent's environment deleted in Portainer shows on refresh, and up registers it again",
    async () => {
      const { jwt } = JSON.parse(portainerLogin(ADMIN_PASSWORD).body) as { jwt: string };
      const [worker] = JSON.parse(portainerApi("GET", "/endpoints", undefined, jwt).body) as { Id: number }[];
      expect(portainerApi("DELETE", `/endpoints/${worker!.Id}`, undefined, jwt).status).toBe(204);
      const refreshed = await project.stack.refresh();
      expect(changes(refreshed.summary.resourceChanges)).toEqual({ update: 1 });
      const repaired = await project.stack.up();
      expect(changes(repaired.summary.resourceChanges)).toEqual({ update: 1 });
      expect(environments(ADMIN_PASSWORD)).toEqual([["worker", `tcp://${workerAddress()}:9001`]]);
    },
    10 * 60_000,
  );

  it(
    "a changed admin password reaches the running server through its API, and the agents stay registered",
    async () => {
      await project.setSecret("portainerAdminPassword", NEW_ADMIN_PASSWORD);
      const r = await project.stack.up();
      // the server's step (its secret changed), the registration step (logs in with it), the server's health checks after them
      expect(changes(r.summary.resourceChanges)).toEqual({ update: 3 });
      expect(portainerLogin(NEW_ADMIN_PASSWORD).status).toBe(200);
      expect(portainerLogin(ADMIN_PASSWORD).status).toBe(422);
      expect(environments(NEW_ADMIN_PASSWORD)).toEqual([["worker", `tcp://${workerAddress()}:9001`]]);
      expect(inCt(200, "cat /etc/portainer/admin-password").stdout).toBe(NEW_ADMIN_PASSWORD);
      expect(changes((await project.stack.up()).summary.resourceChanges)).toEqual({});
    },
    10 * 60_000,
  );

  it(
    "docker removed inside a guest shows on refresh, and up puts it back",
    async () => {
      expect(inCt(230, "DEBIAN_FRONTEND=noninteractive apt-get remove -y docker.io").code).toBe(0);
      const refreshed = await project.stack.refresh();
      expect(changes(refreshed.summary.resourceChanges)).toEqual({ update: 1 });
      const repaired = await project.stack.up();
      expect(changes(repaired.summary.resourceChanges)).toEqual({ update: 1 });
      expect(inCt(230, "dpkg-query -W -f='${Status}' docker.io").stdout).toBe("install ok installed");
    },
    20 * 60_000,
  );

  it(
    "a node whose host key changed behind Pulumi's back is refused with a clear message",
    async () => {
      const key = join(state, "ssh", "host_ed25519");
      const saved = [readFileSync(key), readFileSync(`${key}.pub`)] as const;
      // The lab's own restart: its sshd serves the lab's /etc/pve from a mount namespace of its own.
      const restart = () => restartNodeSshd(state);
      try {
        rmSync(key);
        rmSync(`${key}.pub`);
        run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
        await restart();
        writeFileSync(scriptFile(), 'echo run >> /root/worker-runs\necho "$GREETING, new key" > /etc/phoenix-worker\n');
        const failed = await project.stack.up().then(
          () => "succeeded",
          (e: Error) => e.message,
        );
        expect(failed).toMatch(/host key/i);
        expect(inCt(220, "cat /etc/phoenix-worker").stdout.trim()).toBe("hello again");
      } finally {
        writeFileSync(key, saved[0], { mode: 0o600 });
        writeFileSync(`${key}.pub`, saved[1]);
        await restart();
      }
      const r = await project.stack.up();
      expect(r.summary.result).toBe("succeeded");
      expect(inCt(220, "cat /etc/phoenix-worker").stdout.trim()).toBe("hello, new key");
    },
    10 * 60_000,
  );

  it(
    "a connection killed or a container rebooted in the middle of a feature fails up clearly; the next up converges",
    async () => {
      const slow = (tag: string) => `echo start >> /root/worker-runs\nsleep 20\necho "$GREETING ${tag}" > /etc/phoenix-worker\n`;
      const runsBefore = Number(inCt(220, "wc -l < /root/worker-runs").stdout.trim());
      const interrupt = async (what: () => void) => {
        const pending = project.stack.up().then(
          () => "succeeded",
          (e: Error) => e.message,
        );
        // Wait until the script is running inside the container, then interrupt it.
        for (let i = 0; i < 600 && Number(inCt(220, "wc -l < /root/worker-runs").stdout.trim()) === runsBefore + attempts; i++)
          await new Promise((r) => setTimeout(r, 100));
        attempts++;
        what();
        return pending;
      };
      let attempts = 0;
      writeFileSync(scriptFile(), slow("killed"));
      const killed = await interrupt(() => run("pkill", ["-f", "sshd: root@notty"], { allowFail: true }));
      expect(killed).toMatch(
        /SSH connection to worker-script at 127\.0\.0\.1:\d+ closed before the command reported its exit status/,
      );
      expect(killed).not.toBe("succeeded");
      writeFileSync(scriptFile(), slow("rebooted"));
      const rebooted = await interrupt(() => run("lxc-stop", ["-P", lxc.lxcPath, "-n", "220", "--reboot"], { allowFail: true }));
      // the script died with the container (SIGTERM: 128 + 15)
      expect(rebooted).toMatch(/failed on worker-script at CT 220 via root@127\.0\.0\.1:\d+: exit status 143/);
      expect(rebooted).not.toBe("succeeded");
      // The container comes back by itself (a reboot), and the next up runs the interrupted script to its end.
      writeFileSync(scriptFile(), slow("converged"));
      const r = await project.stack.up();
      expect(r.summary.result).toBe("succeeded");
      expect(inCt(220, "cat /etc/phoenix-worker").stdout.trim()).toBe("hello converged");
      // the agent survived the reboot (restart=always), and the health checks passed again
      expect(inCt(220, "docker inspect -f '{{.State.Running}}' portainer_agent").stdout.trim()).toBe("true");
    },
    15 * 60_000,
  );

  it(
    "a golden template's changed feature rebuilds it and its clones in one up; the rest stays",
    async () => {
      expect(inCt(230, "touch /root/unchanged-marker").code).toBe(0);
      iso.raw.templates[1].features.docker.daemon["log-driver"] = "local";
      writeFileSync(project.definition, iso.text());
      const r = await project.stack.up();
      expect(r.summary.result).toBe("succeeded");
      // template 901 rebuilt and frozen again, its clones 200 and 220 made anew from it, with their own features
      expect(readFileSync(join(state, "pve", "lxc", "901.conf"), "utf8")).toMatch(/^template: 1$/m);
      for (const vmid of [200, 220])
        expect(JSON.parse(inCt(vmid, "cat /etc/docker/daemon.json").stdout)["log-driver"]).toBe("local");
      expect(inCt(200, "docker inspect -f '{{.State.Running}}' portainer").stdout.trim()).toBe("true");
      expect(inCt(220, "cat /etc/phoenix-worker").stdout.trim()).toBe("hello converged");
      expect(environments(NEW_ADMIN_PASSWORD)).toEqual([["worker", `tcp://${workerAddress()}:9001`]]);
      // the guest built from the base template was not touched
      expect(inCt(230, "ls /root/unchanged-marker").code).toBe(0);
      expect(changes((await project.stack.up()).summary.resourceChanges)).toEqual({});
    },
    20 * 60_000,
  );

  it("no secret value appears in the stack's state or in any run log", async () => {
    // What `pulumi stack export` prints (the Automation API's exportStack decrypts secrets; the CLI does not).
    const exported = execFileSync("pulumi", ["stack", "export", "--stack", "features"], {
      cwd: project.dir,
      env: project.env,
      encoding: "utf8",
      maxBuffer: 512 * 1024 * 1024,
    });
    expect(exported).toContain('"ciphertext"');
    const logs = join(project.dir, "logs");
    expect(readdirSync(join(logs, "features"))).toContain("worker-portainer.log");
    const logText = existsSync(logs)
      ? readdirSync(logs, { recursive: true })
          .map(String)
          .filter((f) => f.endsWith(".log"))
          .map((f) => readFileSync(join(logs, f), "utf8"))
          .join("\n")
      : "";
    for (const secret of [ADMIN_PASSWORD, NEW_ADMIN_PASSWORD, lab.credentials.rootPassword, lab.sshPrivateKey.split("\n")[1]!]) {
      expect(exported).not.toContain(secret);
      expect(logText).not.toContain(secret);
    }
  }, 60_000);
});
