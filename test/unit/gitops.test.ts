// The deploy agent's pure parts: path filters, webhook signatures and payloads, the policy and its back-off, one
// queue per environment, and the deploy settings as the agent reads them (the project's own files).
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDeploySettings } from "../../cli/agent/deploy-settings";
import { parseDuration } from "../../cli/agent/duration";
import { anyPathMatches, globToRegExp, pathMatches } from "../../cli/agent/paths";
import { backoffMs, parsePolicy } from "../../cli/agent/policy";
import { EnvQueues } from "../../cli/agent/queue";
import { parsePush, verifySignature } from "../../cli/agent/webhook";

const ROOT = join(__dirname, "..", "..");

describe("path filters", () => {
  it("globs: ** crosses directories, * and ? stay within one segment", () => {
    expect(globToRegExp("components/**").test("components/args/x.ts")).toBe(true);
    expect(globToRegExp("stacks/*.yaml").test("stacks/dev.yaml")).toBe(true);
    expect(globToRegExp("stacks/*.yaml").test("stacks/apparmor/x.yaml")).toBe(false);
    expect(globToRegExp("**/x.ts").test("x.ts")).toBe(true);
    expect(globToRegExp("**/x.ts").test("a/b/x.ts")).toBe(true);
    expect(globToRegExp("Pulumi.?.yaml").test("Pulumi.a.yaml")).toBe(true);
    expect(globToRegExp("stacks/dev.yaml").test("stacks/devXyaml")).toBe(false);
  });

  it("the last matching pattern decides; no positive pattern means everything", () => {
    expect(pathMatches(["stacks/**", "!stacks/ai-host.yaml"], "stacks/ai-host.yaml")).toBe(false);
    expect(pathMatches(["stacks/**", "!stacks/ai-host.yaml"], "stacks/dev.yaml")).toBe(true);
    expect(pathMatches([], "anything")).toBe(true);
    expect(pathMatches(["!docs/**"], "index.ts")).toBe(true);
    expect(pathMatches(["!docs/**"], "docs/a.md")).toBe(false);
  });

  it("patterns are relative to the project's directory in the repository", () => {
    expect(anyPathMatches(["stacks/dev.yaml"], ["infra/stacks/dev.yaml"], "infra")).toBe(true);
    expect(anyPathMatches(["stacks/dev.yaml"], ["stacks/dev.yaml"], "infra")).toBe(false);
    expect(anyPathMatches(["stacks/dev.yaml"], ["stacks/dev.yaml"], ".")).toBe(true);
  });

  it("property: a literal path (no wildcards) matches itself and nothing else", () => {
    const seg = fc.stringMatching(/^[a-z0-9._-]{1,8}$/).filter((s) => s !== "." && s !== "..");
    fc.assert(
      fc.property(fc.array(seg, { minLength: 1, maxLength: 4 }), seg, (parts, other) => {
        const p = parts.join("/");
        expect(pathMatches([p], p)).toBe(true);
        if (other !== parts.at(-1)) expect(pathMatches([p], [...parts.slice(0, -1), other].join("/"))).toBe(false);
      }),
    );
  });
});

describe("the project's deploy settings, as the agent reads them", () => {
  const settings = (env: string) => {
    const f = `Pulumi.${env}.deploy.yaml`;
    return parseDeploySettings(readFileSync(join(ROOT, f), "utf8"), f);
  };

  it("a change to stacks/dev.yaml deploys only dev, ai-host's only ai-host, the program's code both", () => {
    const dev = settings("dev");
    const ai = settings("ai-host");
    const deploys = (files: string[]) => [dev, ai].map((s) => anyPathMatches(s.paths, files, s.repoDir));
    expect(deploys(["stacks/dev.yaml"])).toEqual([true, false]);
    expect(deploys(["stacks/ai-host.yaml"])).toEqual([false, true]);
    expect(deploys(["stacks/apparmor/lxc-phoenix-gpu"])).toEqual([false, true]);
    expect(deploys(["components/container.ts"])).toEqual([true, true]);
    expect(deploys(["README.md", "test/unit/x.test.ts"])).toEqual([false, false]);
  });

  it("git source, push-to-deploy, previews, pre-run commands and no secret values", () => {
    const dev = settings("dev");
    expect(dev).toMatchObject({ branch: "main", repoDir: ".", deployCommits: true, previewPullRequests: true });
    expect(dev.preRunCommands).toEqual(["npm ci --no-audit --no-fund"]);
    expect(dev.environmentVariables).toEqual({
      PULUMI_CONFIG_PASSPHRASE_FILE: "/etc/phoenix-agent/passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
    });
    expect(readFileSync(join(ROOT, "Pulumi.dev.deploy.yaml"), "utf8")).toMatch(/agentPoolID: /);
  });

  it("a ciphertext environment variable is refused with the reason; a missing git source names the field", () => {
    const text =
      "settings:\n  sourceContext:\n    git: { repoUrl: r, branch: main }\n  operationContext:\n    environmentVariables:\n      X: { ciphertext: abc }\n";
    expect(() => parseDeploySettings(text, "f")).toThrow(/environmentVariables\.X is Pulumi Cloud ciphertext/);
    expect(() => parseDeploySettings("settings: {}\n", "f")).toThrow(/^f: settings\.sourceContext:/);
  });
});

describe("webhook signatures", () => {
  const body = Buffer.from(JSON.stringify({ ref: "refs/heads/dev", after: "a".repeat(40) }));
  const hmac = (s: string) => createHmac("sha256", s).update(body).digest("hex");

  it("GitHub, Gitea, Forgejo and GitLab with the right secret pass", () => {
    expect(verifySignature({ "x-hub-signature-256": `sha256=${hmac("s3")}` }, body, "s3")).toEqual({
      ok: true,
      provider: "github",
    });
    expect(verifySignature({ "x-gitea-signature": hmac("s3") }, body, "s3")).toEqual({ ok: true, provider: "gitea" });
    expect(verifySignature({ "x-forgejo-signature": hmac("s3"), "x-gitea-signature": hmac("s3") }, body, "s3")).toEqual({
      ok: true,
      provider: "forgejo",
    });
    expect(verifySignature({ "x-gitlab-token": "s3" }, body, "s3")).toEqual({ ok: true, provider: "gitlab" });
  });

  it("a wrong secret, a changed body or a truncated signature is 403; no signature 401; no secret configured 403", () => {
    expect(verifySignature({ "x-hub-signature-256": `sha256=${hmac("other")}` }, body, "s3")).toMatchObject({
      ok: false,
      status: 403,
    });
    const sig = `sha256=${hmac("s3")}`;
    expect(verifySignature({ "x-hub-signature-256": sig }, Buffer.concat([body, Buffer.from(" ")]), "s3")).toMatchObject({
      status: 403,
    });
    expect(verifySignature({ "x-hub-signature-256": sig.slice(0, -2) }, body, "s3")).toMatchObject({ status: 403 });
    expect(verifySignature({ "x-gitea-signature": hmac("other") }, body, "s3")).toMatchObject({ status: 403 });
    expect(verifySignature({ "x-gitlab-token": "s4" }, body, "s3")).toMatchObject({ status: 403 });
    expect(verifySignature({}, body, "s3")).toMatchObject({ status: 401 });
    expect(verifySignature({ "x-hub-signature-256": `sha256=${hmac("")}` }, body, "")).toMatchObject({ status: 403 });
  });

  it("push payloads: the branch and commit; tags, deletions, pings and garbage are ignored", () => {
    const sha = "b".repeat(40);
    const p = (o: unknown, h: Record<string, string> = { "x-github-event": "push" }) =>
      parsePush(h, Buffer.from(JSON.stringify(o)));
    expect(p({ ref: "refs/heads/feature/x", after: sha, before: "c".repeat(40) })).toEqual({
      kind: "push",
      branch: "feature/x",
      after: sha,
      before: "c".repeat(40),
    });
    expect(p({ ref: "refs/heads/dev", after: sha }, { "x-gitlab-event": "Push Hook" })).toMatchObject({ kind: "push" });
    expect(p({ ref: "refs/tags/v1", after: sha })).toMatchObject({ kind: "ignored" });
    expect(p({ ref: "refs/heads/dev", after: "0".repeat(40) })).toEqual({ kind: "ignored", reason: "branch deleted" });
    expect(p({ zen: "hi" }, { "x-github-event": "ping" })).toEqual({ kind: "ignored", reason: "event 'ping'" });
    expect(p({ ref: "refs/heads/dev", after: "; rm -rf /" })).toMatchObject({ kind: "ignored" });
    expect(parsePush({}, Buffer.from("not json"))).toMatchObject({ kind: "ignored" });
  });
});

describe("policy and back-off", () => {
  it("reads heal and refreshEvery, defaults to report every 30 min, refuses unknown fields with the fix", () => {
    expect(parsePolicy("heal: auto\nrefreshEvery: 5m\n", "p")).toMatchObject({ heal: "auto", refreshEveryMs: 300_000 });
    expect(parsePolicy(undefined, "p")).toMatchObject({ heal: "report", refreshEveryMs: 1_800_000 });
    expect(() => parsePolicy("heal: always\n", "p")).toThrow(/^p: heal: .*fix: heal: auto\|report/);
    expect(() => parsePolicy("heel: auto\n", "p")).toThrow(/unknown field 'heel'/);
    expect(() => parsePolicy("refreshEvery: soon\n", "p")).toThrow(/refreshEvery: a duration/);
    for (const f of ["dev", "ai-host"])
      expect(() => parsePolicy(readFileSync(join(ROOT, "stacks", `${f}.agent.yaml`), "utf8"), f)).not.toThrow();
  });

  it("durations", () => {
    expect([
      parseDuration("90s"),
      parseDuration("1h30m"),
      parseDuration("250ms"),
      parseDuration("12"),
      parseDuration("5x"),
    ]).toEqual([90_000, 5_400_000, 250, 12_000, undefined]);
  });

  it("back-off doubles from the base after each failure in a row, up to the maximum", () => {
    const p = parsePolicy("backoff: { base: 1m, max: 10m }\n", "p");
    expect([0, 1, 2, 3, 4, 5, 40].map((n) => backoffMs(p, n) / 60_000)).toEqual([0, 1, 2, 4, 8, 10, 10]);
  });
});

describe("one queue per environment", () => {
  type J = { env: string; n: number };
  const tick = () => new Promise((r) => setTimeout(r, 5));

  it("property: jobs of one environment never overlap and run in order; environments run side by side", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom("dev", "staging", "prod"), { minLength: 1, maxLength: 12 }), async (envs) => {
        const active = new Map<string, number>();
        let parallel = 0;
        let maxParallel = 0;
        const order: J[] = [];
        const q = new EnvQueues<J>(async (j) => {
          active.set(j.env, (active.get(j.env) ?? 0) + 1);
          parallel++;
          maxParallel = Math.max(maxParallel, parallel);
          expect(active.get(j.env)).toBe(1);
          await tick();
          order.push(j);
          active.set(j.env, active.get(j.env)! - 1);
          parallel--;
        });
        envs.forEach((env, n) => q.enqueue({ env, n }));
        await q.idle();
        expect(order).toHaveLength(envs.length);
        for (const env of new Set(envs)) {
          const ns = order.filter((j) => j.env === env).map((j) => j.n);
          expect(ns).toEqual([...ns].sort((a, b) => a - b));
        }
        expect(maxParallel).toBeLessThanOrEqual(new Set(envs).size);
      }),
      { numRuns: 20 },
    );
  });

  it("a job can stand in for a pending one (skip intermediate deployments) or be dropped as a duplicate", async () => {
    const ran: number[] = [];
    const superseded: number[] = [];
    const q = new EnvQueues<J>(
      async (j) => {
        await tick();
        ran.push(j.n);
      },
      (old) => superseded.push(old.n),
    );
    q.enqueue({ env: "dev", n: 1 });
    q.enqueue({ env: "dev", n: 2 });
    expect(q.enqueue({ env: "dev", n: 3 }, { replaces: (p) => p.n === 2 })).toBe("replaced");
    expect(q.enqueue({ env: "dev", n: 4 }, { duplicate: (p) => p.n === 3 })).toBe("dropped");
    expect(q.busy("dev")).toBe(true);
    await q.idle();
    expect(ran).toEqual([1, 3]);
    expect(superseded).toEqual([2]);
    expect(q.busy("dev")).toBe(false);
  });
});
