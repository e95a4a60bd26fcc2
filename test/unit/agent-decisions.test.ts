// The deploy agent's decisions against a real git repository (the remote) with Pulumi replaced by a recorder: which
// commits run up or preview for which environment, what a webhook for an older commit does, drift with heal: auto or
// report, and the back-off after failures. test/e2e/gitops.test.ts runs the same with Pulumi on the lab.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent } from "../../cli/agent/agent";
import type { RunInput, RunOutput } from "../../cli/agent/runner";

let dir: string;
let repo: string;
let calls: RunInput[];
let answer: (i: RunInput) => RunOutput | Error;

const git = (...args: string[]) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@phoenix.invalid", ...args], {
    cwd: repo,
    encoding: "utf8",
  }).trim();
const write = (path: string, text: string) => {
  mkdirSync(join(repo, path, ".."), { recursive: true });
  writeFileSync(join(repo, path), text);
};
const commit = (files: Record<string, string>, message = "change") => {
  for (const [p, t] of Object.entries(files)) write(p, t);
  git("add", "-A");
  git("commit", "-qm", message);
  return git("rev-parse", "HEAD");
};
const deployFile = (branch: string, extra = "") =>
  `settings:\n  sourceContext:\n    git: { repoUrl: ${repo}, branch: refs/heads/${branch}, repoDir: . }\n` +
  `  gitHub:\n    deployCommits: true\n    previewPullRequests: true\n    paths: [stacks/dev.yaml, "components/**"]\n${extra}`;

function agent(): Agent {
  return new Agent({
    remote: repo,
    stateDir: join(dir, "agent"),
    projectDir: ".",
    pollMs: 60_000,
    env: {},
    log: () => undefined,
    runner: async (i) => {
      calls.push(i);
      const a = answer(i);
      if (a instanceof Error) throw a;
      return a;
    },
  });
}
/** Runs queued by `f`, once they finished: [operation, env, commit]. */
async function ran(a: Agent, f: () => Promise<unknown>): Promise<[string, string, string][]> {
  const from = calls.length;
  await f();
  await a.stop();
  return calls.slice(from).map((c) => [c.operation, c.env, c.commit]);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "phoenix-agent-"));
  repo = join(dir, "repo");
  mkdirSync(repo);
  git("init", "-q", "-b", "dev");
  calls = [];
  answer = () => ({ changes: { same: 3 } });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("commits", () => {
  it("up for its branch's environments whose paths changed, preview for other branches, nothing for other paths", async () => {
    const first = commit({
      "Pulumi.dev.deploy.yaml": deployFile("dev"),
      "Pulumi.staging.deploy.yaml": deployFile(
        "dev",
        "  operationContext: { options: { skipIntermediateDeployments: false } }\n",
      ).replace("deployCommits: true\n    previewPullRequests: true", "deployCommits: false\n    previewPullRequests: false"),
      "stacks/dev.yaml": "memory: 512\n",
      "README.md": "hi\n",
    });
    const a = agent();
    // A new agent converges the branch's head (staging does not deploy commits).
    expect(await ran(a, () => a.poll())).toEqual([["up", "dev", first]]);
    expect(a.store.state.lastUp).toEqual({ dev: first });

    commit({ "README.md": "hello\n" });
    expect(await ran(a, () => a.poll())).toEqual([]);
    const code = commit({ "components/x.ts": "x\n" });
    expect(await ran(a, () => a.poll())).toEqual([["up", "dev", code]]);

    git("checkout", "-q", "-b", "feature");
    const feature = commit({ "stacks/dev.yaml": "memory: 768\n" });
    expect(await ran(a, () => a.poll())).toEqual([["preview", "dev", feature]]);
    git("checkout", "-q", "dev");

    // Two commits between polls: one run, on the newer. A webhook for the older one afterwards changes nothing.
    const older = commit({ "stacks/dev.yaml": "memory: 1024\n" });
    const newer = commit({ "stacks/dev.yaml": "memory: 2048\n" });
    expect(await ran(a, () => a.poll())).toEqual([["up", "dev", newer]]);
    expect(await ran(a, () => a.onPush({ kind: "push", branch: "dev", after: older }))).toEqual([]);
    expect(a.store.runs.map((r) => r.status)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded"]);
  });

  it("webhooks in quick succession queue two runs, the second after the first, on the newer commit", async () => {
    commit({ "Pulumi.dev.deploy.yaml": deployFile("dev"), "stacks/dev.yaml": "memory: 1\n" });
    const a = agent();
    await ran(a, () => a.poll());
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const order: string[] = [];
    answer = () => ({ changes: { update: 1 } });
    const slow = a["o"].runner!;
    a["o"].runner = async (i) => {
      order.push(`start ${i.commit.slice(0, 7)}`);
      if (order.length === 1) await gate;
      const out = await slow(i);
      order.push(`end ${i.commit.slice(0, 7)}`);
      return out;
    };
    const x = commit({ "stacks/dev.yaml": "memory: 2\n" });
    const first = await a.onPush({ kind: "push", branch: "dev", after: x });
    const y = commit({ "stacks/dev.yaml": "memory: 3\n" });
    const second = await a.onPush({ kind: "push", branch: "dev", after: y });
    expect([first.length, second.length]).toEqual([1, 1]);
    expect(a.status().environments.dev!.queued).toEqual([second[0]!.id]);
    release();
    await a.stop();
    expect(order).toEqual([`start ${x.slice(0, 7)}`, `end ${x.slice(0, 7)}`, `start ${y.slice(0, 7)}`, `end ${y.slice(0, 7)}`]);
    expect(a.store.state.lastUp.dev).toBe(y);
  });
});

describe("drift and back-off", () => {
  const setup = async (heal: string) => {
    const sha = commit({
      "Pulumi.dev.deploy.yaml": deployFile("dev"),
      "stacks/dev.yaml": "memory: 1\n",
      "stacks/dev.agent.yaml": `heal: ${heal}\nrefreshEvery: 1s\nbackoff: { base: 1h, max: 2h }\n`,
    });
    const a = agent();
    await ran(a, () => a.poll());
    a.store.state.lastRefresh.dev = 0;
    return { a, sha };
  };
  const refresh = (a: Agent) => a["scheduleRefreshes"]();

  it("heal: auto: a refresh that finds changes queues an up of the converged commit", async () => {
    const { a, sha } = await setup("auto");
    answer = (i) => ({ changes: i.operation === "refresh" ? { same: 2, update: 1 } : { same: 2, update: 1 } });
    expect(await ran(a, () => refresh(a))).toEqual([
      ["refresh", "dev", sha],
      ["up", "dev", sha],
    ]);
    const [r, up] = a.store.runs.slice(-2);
    expect(r).toMatchObject({ operation: "refresh", drift: true, summary: "drift: update: 1; heal: auto, up queued" });
    expect(up).toMatchObject({ operation: "up", trigger: "heal", status: "succeeded" });
    expect(a.store.state.drifted).toEqual({});
  });

  it("heal: report: recorded, left alone, and reported again by later refreshes until an up", async () => {
    const { a } = await setup("report");
    answer = () => ({ changes: { same: 2, update: 1 } });
    expect((await ran(a, () => refresh(a))).map((c) => c[0])).toEqual(["refresh"]);
    expect(a.store.runs.at(-1)!.summary).toBe("drift: update: 1; heal: report, left alone");
    answer = () => ({ changes: { same: 3 } });
    a.store.state.lastRefresh.dev = 0;
    expect((await ran(a, () => refresh(a))).map((c) => c[0])).toEqual(["refresh"]);
    expect(a.store.runs.at(-1)!.summary).toMatch(/^drift: still, since .*update: 1; heal: report, left alone$/);
    expect(a.status().environments.dev!.drifted).toMatch(/update: 1$/);
  });

  it("after a failure, scheduled runs wait for the back-off; a commit still runs and its success resets it", async () => {
    const { a } = await setup("auto");
    answer = () => new Error("the node does not answer");
    await ran(a, () => refresh(a));
    expect(a.store.state.failures.dev).toBe(1);
    expect(a.store.state.notBefore.dev! - Date.now()).toBeGreaterThan(59 * 60_000);
    a.store.state.lastRefresh.dev = 0;
    expect(await ran(a, () => refresh(a))).toEqual([]);
    answer = () => ({ changes: { update: 1 } });
    const fix = commit({ "stacks/dev.yaml": "memory: 2\n" });
    expect(await ran(a, () => a.poll())).toEqual([["up", "dev", fix]]);
    expect([a.store.state.failures.dev, a.store.state.notBefore.dev]).toEqual([0, 0]);
  });
});

describe("the loopback endpoint", () => {
  it("webhooks: signed by Gitea → 202 and a run; unsigned 401, wrong 403; /runs and phoenix agent status show the history", async () => {
    const { serve } = await import("../../cli/agent/server");
    const { main } = await import("../../cli/main");
    commit({ "Pulumi.dev.deploy.yaml": deployFile("dev"), "stacks/dev.yaml": "memory: 1\n" });
    const a = agent();
    await ran(a, () => a.poll());
    const server = await serve(a, { host: "127.0.0.1", port: 0, secret: "s3cret" });
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      answer = () => ({ changes: { same: 2, update: 1 } });
      const sha = commit({ "stacks/dev.yaml": "memory: 2\n" });
      const body = JSON.stringify({ ref: "refs/heads/dev", before: "0".repeat(40), after: sha });
      const { createHmac } = await import("node:crypto");
      const sig = createHmac("sha256", "s3cret").update(body).digest("hex");
      const post = (headers: Record<string, string>) => fetch(`${url}/hooks`, { method: "POST", headers, body });
      expect((await post({ "x-gitea-event": "push" })).status).toBe(401);
      expect(
        (await post({ "x-gitea-event": "push", "x-gitea-signature": sig.replace(/^./, (c) => (c === "a" ? "b" : "a")) })).status,
      ).toBe(403);
      const ok = await post({ "x-gitea-event": "push", "x-gitea-signature": sig });
      expect(ok.status).toBe(202);
      expect(((await ok.json()) as { runs: { env: string; operation: string }[] }).runs).toEqual([
        expect.objectContaining({ env: "dev", operation: "up" }),
      ]);
      await a.stop();
      const runs = (
        (await (await fetch(`${url}/runs`)).json()) as { runs: { commit: string; summary: string; trigger: string }[] }
      ).runs;
      expect(runs[0]).toMatchObject({ commit: sha, summary: "update: 1", trigger: "webhook" });
      const out: string[] = [];
      expect(
        await main(["agent", "status", "--url", url], { out: (s) => out.push(s), err: (s) => out.push(s) }),
        out.join("\n"),
      ).toBe(0);
      expect(out.join("\n")).toMatch(
        new RegExp(`2\\s+dev\\s+up\\s+webhook\\s+${sha.slice(0, 12)} \\(dev\\)\\s+succeeded\\s+update: 1`),
      );
    } finally {
      server.close();
    }
  });
});
