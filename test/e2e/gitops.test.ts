// End to end: GitOps on the lab with a local bare repository as the remote. A copy of this project in a scratch
// repository (its dev definition cut down to one container); `phoenix env init` and `phoenix env new staging --from
// dev` on a scratch backend; then `phoenix agent` as its own process, polling the bare repository and hearing signed
// webhooks: commits on the dev branch run up, another branch a preview, an invalid definition fails before touching
// anything, two quick pushes run one after the other, drift is healed (heal: auto) or only reported (heal: report).
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkShape } from "../../definition/load";
import { Lxc } from "../../lab/host/lxc";
import { type LabUp, labDown, labUp } from "../../lab/lab";
import { LabClient } from "../../lab/pve/client";
import { freePort } from "../support/sshd";
import { isolatedDevDefinition } from "../support/lab-definition";
import { ROOT, toolchainEnv } from "../support/toolchain";
import { run } from "../../lab/host/run";

const dir = mkdtempSync(join(tmpdir(), "phoenix-gitops-"));
const state = join(dir, "lab");
const work = join(dir, "work");
const bare = join(dir, "remote.git");
const passFile = join(dir, "passphrase");
const hookSecret = "gitops-e2e-hook-secret";
const iso = isolatedDevDefinition(dir);
const lxc = new Lxc(join(state, "lxc"));
const VMID = 210;
let lab: LabUp;
let api: LabClient;
let agent: ChildProcess | undefined;
let agentUrl = "";
let env: Record<string, string>;

type Run = {
  id: number;
  env: string;
  operation: string;
  trigger: string;
  commit: string;
  status: string;
  branch?: string;
  changes?: Record<string, number>;
  summary?: string;
  error?: string;
  drift?: boolean;
  startedAt?: string;
  endedAt?: string;
  log: string;
};

const git = (...args: string[]) =>
  execFileSync("git", ["-c", "user.name=e2e", "-c", "user.email=e2e@phoenix.invalid", ...args], {
    cwd: work,
    encoding: "utf8",
  }).trim();
const phoenix = (...args: string[]) =>
  spawnSync("node", [join(ROOT, "scripts", "phoenix.cjs"), ...args], { cwd: work, env, encoding: "utf8" });
const pulumi = (args: string[], input = "") =>
  spawnSync("pulumi", [...args, "--non-interactive"], { cwd: work, env, input, encoding: "utf8" });
const defFile = join(work, "stacks", "dev.yaml");
/** The container's memory (the guest's, not the node's: the guest's entry names it first). */
const setMemory = (mib: number) =>
  writeFileSync(defFile, readFileSync(defFile, "utf8").replace(/(name: data\n(?:.*\n)*?\s+memory: )\d+/, `$1${mib}`));
const commitAndPush = (message: string, branch = "dev") => {
  git("commit", "-qam", message);
  git("push", "-q", "origin", `HEAD:${branch}`);
  return git("rev-parse", "HEAD");
};
const runs = async (): Promise<Run[]> => ((await (await fetch(`${agentUrl}/runs?limit=500`)).json()) as { runs: Run[] }).runs;
const ctConfig = (vmid: number) => api.data<Record<string, unknown>>("GET", `nodes/lab/lxc/${vmid}/config`);
const ctStatus = (vmid: number) => api.data<{ status: string }>("GET", `nodes/lab/lxc/${vmid}/status/current`);
const auditLines = () =>
  readFileSync(join(state, "api", "audit.jsonl"), "utf8")
    .trim()
    .split("\n").length;
const writesSince = (from: number) =>
  readFileSync(join(state, "api", "audit.jsonl"), "utf8")
    .trim()
    .split("\n")
    .slice(from)
    .map((l) => JSON.parse(l) as { method: string; path: string })
    .filter((r) => r.method !== "GET" && r.path !== "/access/ticket");

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}; agent log:\n${readFileSync(join(dir, "agent.log"), "utf8").slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
/** The finished run matching `pred` (failing the test when it failed but should not have). */
const finished = (what: string, pred: (r: Run) => boolean, timeoutMs = 5 * 60_000) =>
  waitFor(what, async () => (await runs()).find((r) => pred(r) && ["succeeded", "failed"].includes(r.status)), timeoutMs);

function signed(body: string, secret = hookSecret) {
  return { "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`, "x-github-event": "push" };
}
const pushHook = (branch: string, after: string, headers: Record<string, string>, body?: string) =>
  fetch(`${agentUrl}/hooks`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: body ?? JSON.stringify({ ref: `refs/heads/${branch}`, after }),
  });
const hook = (branch: string, after: string) => {
  const body = JSON.stringify({ ref: `refs/heads/${branch}`, after });
  return pushHook(branch, after, signed(body), body);
};

/** The isolated dev definition cut down to one container from the base template (no Docker, no Portainer). */
function smallDefinition(): string {
  const d = iso.raw;
  d.templates = [d.templates[0]];
  d.nodes[0].zfs.datasets = [{ ...d.nodes[0].zfs.datasets[0], protect: false }];
  const data = d.guests.find((g: any) => g.vmid === VMID);
  delete data.mountPoints;
  delete data.dependsOn;
  data.network = [{ name: "eth0", bridge: iso.bridge, ip: `${iso.net}.20/24` }];
  d.guests = [data];
  d.apps = []; // dev.yaml's demo app runs on a guest this small definition leaves out
  return iso.text();
}

beforeAll(async () => {
  await iso.assignPorts();
  smallDefinition();
  const shaped = checkShape(iso.raw);
  if (!shaped.definition) throw new Error(JSON.stringify(shaped.problems));
  lab = await labUp({ definition: shaped.definition, stateDir: state });
  // The definition pins the lab's API certificate, as every e2e stack does (test/support/lab-stack.ts).
  iso.raw.nodes[0].api.fingerprint = lab.apiFingerprint;
  const text = iso.text();
  api = new LabClient({ url: lab.apiUrl, token: `${lab.credentials.tokenId}=${lab.credentials.tokenSecret}` });

  // The scratch repository: this project's files, the small definition as dev, deploy settings pointing at the bare
  // repository and the dev branch. ai-host's deploy file is left out: the agent must never reach for its node.
  mkdirSync(work);
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" })
    .split("\n")
    .filter((f) => f && !f.startsWith("node_modules"));
  execFileSync("tar", ["-cf", join(dir, "project.tar"), "-C", ROOT, ...files]);
  execFileSync("tar", ["-xf", join(dir, "project.tar"), "-C", work]);
  rmSync(join(work, "Pulumi.ai-host.deploy.yaml"));
  rmSync(join(work, "stacks", "dev.lock.json"), { force: true });
  writeFileSync(defFile, text);
  writeFileSync(
    join(work, "Pulumi.dev.deploy.yaml"),
    readFileSync(join(ROOT, "Pulumi.dev.deploy.yaml"), "utf8")
      .replace(/repoUrl: .*/, `repoUrl: ${bare}`)
      .replace("branch: refs/heads/main", "branch: refs/heads/dev")
      // The test's work trees use this checkout's packages instead of `npm ci` (no registry in a test).
      .replace("npm ci --no-audit --no-fund", `ln -sfn ${join(ROOT, "node_modules")} node_modules`)
      .replace("/etc/phoenix-agent/passphrase", passFile),
  );
  writeFileSync(join(work, "stacks", "dev.agent.yaml"), "heal: auto\nrefreshEvery: 1h\n");
  writeFileSync(join(work, ".gitignore"), "node_modules\n");
  execFileSync("ln", ["-s", join(ROOT, "node_modules"), join(work, "node_modules")]);
  writeFileSync(passFile, "gitops-e2e-passphrase\n", { mode: 0o600 });
  writeFileSync(join(dir, "hook-secret"), `${hookSecret}\n`, { mode: 0o600 });

  const { PULUMI_CONFIG_PASSPHRASE: _drop, ...base } = { ...process.env, ...toolchainEnv() } as Record<string, string>;
  env = { ...base, PULUMI_BACKEND_URL: `file://${join(dir, "backend")}`, PULUMI_CONFIG_PASSPHRASE_FILE: passFile };
  mkdirSync(join(dir, "backend"));
}, 30 * 60_000);

afterAll(async () => {
  if (agent && agent.exitCode === null) {
    agent.kill("SIGTERM");
    await new Promise((r) => agent!.once("exit", r));
  }
  if (env) pulumi(["destroy", "--yes", "--stack", "dev", "--skip-preview"]);
  await labDown(state).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}, 10 * 60_000);

describe("a stack per environment", () => {
  it(
    "env init makes the stacks on the backend; env new staging --from dev makes a valid pair beside them",
    () => {
      const init = phoenix("env", "init");
      expect(init.status, init.stderr).toBe(0);
      expect(init.stdout).toContain("pulumi config set --secret phoenix:nodeSshKey --stack dev");
      // The secrets go on stdin: never on a command line.
      const secrets: Record<string, string> = {
        nodeSshKey: lab.sshPrivateKey,
        guestSshPublicKey: run("ssh-keygen", ["-y", "-f", join(state, "ssh", "client_ed25519")]).stdout.trim(),
        proxmoxRootPassword: lab.credentials.rootPassword,
      };
      for (const [k, v] of Object.entries(secrets)) {
        const r = pulumi(["config", "set", "--secret", `phoenix:${k}`, "--stack", "dev"], v);
        expect(r.status, r.stderr).toBe(0);
      }

      const made = phoenix("env", "new", "staging", "--from", "dev");
      expect(made.status, made.stderr).toBe(0);
      expect(made.stdout).toContain(`data: vmid ${VMID} → ${VMID + 100}`);
      expect(made.stdout).toContain("config and secrets copied from 'dev'");
      expect(readFileSync(join(work, "Pulumi.staging.yaml"), "utf8")).toContain("phoenix:definition: stacks/staging.yaml");
      expect(phoenix("validate", "stacks/staging.yaml").status).toBe(0);
      expect(phoenix("validate", "stacks/dev.yaml").status).toBe(0);
      const check = spawnSync(
        execFileSync("bash", [join(ROOT, "scripts", "build-go-tool.sh"), "deploy-settings-check"], { encoding: "utf8" }).trim(),
        [join(work, "Pulumi.staging.deploy.yaml"), join(work, "Pulumi.dev.deploy.yaml")],
        { encoding: "utf8" },
      );
      expect(check.status, check.stdout).toBe(0);
      const ls = pulumi(["stack", "ls", "--json"]);
      // a stack per environment: each Pulumi.<env>.yaml of the project (dev, ai-host, cluster …), staging among them now
      const environments = readdirSync(work)
        .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
        .filter((e): e is string => e !== undefined)
        .sort();
      expect(environments).toEqual(expect.arrayContaining(["ai-host", "dev", "staging"]));
      expect((JSON.parse(ls.stdout) as { name: string }[]).map((s) => s.name).sort()).toEqual(environments);

      const list = phoenix("env", "list", "--json");
      expect(list.status, list.stderr).toBe(0);
      const rows = JSON.parse(list.stdout) as { env: string; backend: string; stack: string }[];
      expect(rows.map((r) => [r.env, r.stack])).toEqual(environments.map((e) => [e, "initialised"]));
      expect(rows[0]!.backend).toBe(env.PULUMI_BACKEND_URL);
    },
    10 * 60_000,
  );
});

describe("the deploy agent", () => {
  let first: string;

  it(
    "converges the dev branch's head when it starts (found by polling the bare repository)",
    async () => {
      // staging stays out of the agent's way: its copied settings would deploy it from the same branch.
      const sf = join(work, "Pulumi.staging.deploy.yaml");
      writeFileSync(
        sf,
        readFileSync(sf, "utf8")
          .replace("deployCommits: true", "deployCommits: false")
          .replace("previewPullRequests: true", "previewPullRequests: false"),
      );
      execFileSync("git", ["init", "-q", "--bare", "-b", "dev", bare]);
      git("init", "-q", "-b", "dev");
      git("add", "-A");
      git("commit", "-qm", "the project, dev and staging");
      git("remote", "add", "origin", bare);
      git("push", "-q", "origin", "dev");
      first = git("rev-parse", "HEAD");

      const port = await freePort();
      agentUrl = `http://127.0.0.1:${port}`;
      const out = openSync(join(dir, "agent.log"), "a");
      agent = spawn(
        "node",
        [
          join(ROOT, "scripts", "phoenix.cjs"),
          "agent",
          "run",
          "--repo",
          bare,
          "--state-dir",
          join(dir, "agent"),
          "--listen",
          `127.0.0.1:${port}`,
          "--poll",
          "1s",
          "--webhook-secret-file",
          join(dir, "hook-secret"),
        ],
        { cwd: ROOT, env, stdio: ["ignore", out, out] },
      );
      const t0 = Date.now();
      const up = await finished("the first up", (r) => r.env === "dev" && r.operation === "up", 15 * 60_000);
      expect(up.status, up.error).toBe("succeeded");
      expect(up.commit).toBe(first);
      expect(up.changes?.create).toBeGreaterThan(0);
      expect((await ctStatus(VMID)).status).toBe("running");
      expect(readFileSync(up.log, "utf8")).toContain("pulumi up --stack dev");
      console.log(`first up through the agent: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      expect((await runs()).filter((r) => r.env === "staging")).toEqual([]);
    },
    20 * 60_000,
  );

  it(
    "a commit on the dev branch that changes the container's memory: up with update: 1, the container has it",
    async () => {
      setMemory(768);
      const sha = commitAndPush("data: 768 MiB");
      const t0 = Date.now();
      const r = await finished("the memory up", (x) => x.commit === sha && x.operation === "up");
      expect(r.status, r.error).toBe("succeeded");
      expect(r.changes).toMatchObject({ update: 1 });
      expect(r.summary).toBe("update: 1");
      expect((await ctConfig(VMID)).memory).toBe(768);
      console.log(`commit → converged: ${((Date.now() - t0) / 1000).toFixed(1)} s`);

      // phoenix agent status shows the same history.
      const st = spawnSync("node", [join(ROOT, "scripts", "phoenix.cjs"), "agent", "status", "--url", agentUrl], {
        env,
        encoding: "utf8",
      });
      expect(st.status, st.stderr).toBe(0);
      expect(st.stdout).toMatch(
        new RegExp(`${r.id}\\s+dev\\s+up\\s+commit\\s+${sha.slice(0, 12)} \\(dev\\)\\s+succeeded\\s+update: 1`),
      );
    },
    10 * 60_000,
  );

  it(
    "a commit on another branch: a preview is recorded, nothing changes",
    async () => {
      git("checkout", "-q", "-b", "feature");
      setMemory(1024);
      const from = auditLines();
      const sha = commitAndPush("try 1024 MiB", "feature");
      git("checkout", "-q", "dev");
      const r = await finished("the preview", (x) => x.commit === sha);
      expect(r.operation).toBe("preview");
      expect(r.branch).toBe("feature");
      expect(r.status, r.error).toBe("succeeded");
      expect(r.changes).toMatchObject({ update: 1 });
      expect((await ctConfig(VMID)).memory).toBe(768);
      expect(writesSince(from)).toEqual([]);
      expect((await runs()).filter((x) => x.commit === sha).map((x) => x.operation)).toEqual(["preview"]);
    },
    10 * 60_000,
  );

  it(
    "a commit whose definition is invalid fails its run with the field path and the fix, and touches nothing",
    async () => {
      writeFileSync(defFile, readFileSync(defFile, "utf8").replace(`vmid: ${VMID}`, "vmid: 42"));
      const from = auditLines();
      const sha = commitAndPush("a vmid Proxmox refuses");
      const r = await finished("the invalid run", (x) => x.commit === sha);
      expect(r.status).toBe("failed");
      expect(r.error).toContain("stacks/dev.yaml is invalid; nothing was touched");
      expect(r.error).toContain("guests[0].vmid: vmid 42 is outside Proxmox's range");
      expect(r.error).toContain("fix: pick a vmid from 100 to 999999999");
      expect(readFileSync(r.log, "utf8")).not.toContain("## pulumi up");
      expect(writesSince(from)).toEqual([]);
      expect((await ctConfig(VMID)).memory).toBe(768);
    },
    5 * 60_000,
  );

  it("a webhook without a signature or with a wrong one is refused", async () => {
    const head = git("rev-parse", "HEAD");
    const body = JSON.stringify({ ref: "refs/heads/dev", after: head });
    expect((await pushHook("dev", head, { "x-github-event": "push" }, body)).status).toBe(401);
    expect((await pushHook("dev", head, signed(body, "not-the-secret"), body)).status).toBe(403);
    const gitea = createHmac("sha256", "wrong").update(body).digest("hex");
    expect((await pushHook("dev", head, { "x-gitea-signature": gitea }, body)).status).toBe(403);
    expect((await pushHook("dev", head, { "x-gitlab-token": "wrong" }, body)).status).toBe(403);
  });

  it(
    "two pushes in quick succession: two runs, one after the other, the second on the newer commit",
    async () => {
      writeFileSync(defFile, readFileSync(defFile, "utf8").replace("vmid: 42", `vmid: ${VMID}`));
      setMemory(640);
      const a = commitAndPush("640 MiB");
      expect((await hook("dev", a)).status).toBeLessThan(300);
      setMemory(704);
      const b = commitAndPush("704 MiB");
      expect((await hook("dev", b)).status).toBeLessThan(300);
      const ra = await finished("run A", (x) => x.commit === a && x.operation === "up");
      const rb = await finished("run B", (x) => x.commit === b && x.operation === "up");
      expect([ra.status, rb.status]).toEqual(["succeeded", "succeeded"]);
      expect(rb.id).toBeGreaterThan(ra.id);
      expect(Date.parse(rb.startedAt!)).toBeGreaterThanOrEqual(Date.parse(ra.endedAt!));
      expect((await ctConfig(VMID)).memory).toBe(704);
    },
    10 * 60_000,
  );

  it(
    "drift with heal: auto: a container stopped behind Pulumi's back is found by the next refresh and started again",
    async () => {
      writeFileSync(join(work, "stacks", "dev.agent.yaml"), "heal: auto\nrefreshEvery: 5s\n");
      const policy = commitAndPush("refresh every 5 s, heal");
      await finished("the policy's up", (x) => x.commit === policy && x.operation === "up");
      const t0 = Date.now();
      lxc.stop(VMID);
      expect((await ctStatus(VMID)).status).toBe("stopped");
      const found = await finished(
        "the refresh that finds the drift",
        (x) => x.operation === "refresh" && x.drift === true && Date.parse(x.startedAt!) >= t0,
      );
      const tFound = Date.parse(found.endedAt!) - t0;
      expect(found.summary).toMatch(/^drift: .*update: \d.*; heal: auto, up queued$/);
      const healed = await finished("the heal", (x) => x.operation === "up" && x.trigger === "heal" && x.id > found.id);
      expect(healed.status, healed.error).toBe("succeeded");
      expect(healed.changes?.update).toBeGreaterThan(0);
      expect((await ctStatus(VMID)).status).toBe("running");
      console.log(
        `drift heal: stopped → refresh found it ${(tFound / 1000).toFixed(1)} s, running again ${((Date.parse(healed.endedAt!) - t0) / 1000).toFixed(1)} s`,
      );
    },
    10 * 60_000,
  );

  it(
    "drift with heal: report: the refresh reports it and the container is left stopped",
    async () => {
      writeFileSync(join(work, "stacks", "dev.agent.yaml"), "heal: report\nrefreshEvery: 5s\n");
      const policy = commitAndPush("refresh every 5 s, report only");
      const pu = await finished("the policy's up", (x) => x.commit === policy && x.operation === "up");
      const t0 = Date.now();
      lxc.stop(VMID);
      const found = await finished(
        "the refresh that reports",
        (x) => x.operation === "refresh" && x.drift === true && x.id > pu.id,
      );
      expect(found.summary).toMatch(/heal: report, left alone$/);
      // One more refresh: still reported, still left alone.
      const again = await finished("a later refresh", (x) => x.operation === "refresh" && x.id > found.id);
      expect(again.summary).toMatch(/^drift: still, since .*heal: report, left alone$/);
      expect((await runs()).filter((x) => x.id > pu.id && x.operation === "up")).toEqual([]);
      expect((await ctStatus(VMID)).status).toBe("stopped");
      console.log(`drift report: stopped → reported ${((Date.parse(found.endedAt!) - t0) / 1000).toFixed(1)} s`);

      // env list reads the same from the stack's history.
      const list = JSON.parse(phoenix("env", "list", "--json").stdout) as {
        env: string;
        drift: string;
        lastUpdate?: { result: string };
      }[];
      const dev = list.find((r) => r.env === "dev")!;
      expect(dev.drift).toBe("yes");
      expect(dev.lastUpdate?.result).toBe("succeeded");
    },
    10 * 60_000,
  );
});
