// `phoenix agent`: GitOps without Pulumi Cloud. Polls a git remote (or hears its push webhooks), runs up for the
// environments a commit on their branch changes and preview for other branches, refreshes each environment on its
// schedule and heals drift when its policy says so; one run per environment at a time, back-off after failures.
import { join } from "node:path";
import { changesText } from "../env/history";
import { checkEnvName } from "../env/project";
import { type DeploySettings, parseDeploySettings } from "./deploy-settings";
import { Git } from "./git";
import { anyPathMatches } from "./paths";
import { DEFAULT_POLICY, type Policy, backoffMs, parsePolicy } from "./policy";
import { EnvQueues } from "./queue";
import { RunFailure, executeRun } from "./runner";
import { type Operation, type RunRecord, Store, type Trigger } from "./store";
import type { PushEvent } from "./webhook";

export interface AgentOptions {
  remote: string;
  stateDir: string;
  /** The project's directory inside the repository (where Pulumi.yaml and the deploy files are). */
  projectDir: string;
  pollMs: number;
  /** Extra environment for every run (the backend, the passphrase file …). */
  env: Record<string, string>;
  log?: (s: string) => void;
  /** How often the scheduler looks at refresh times and back-offs. */
  tickMs?: number;
  /** What runs an operation (Pulumi through the Automation API; tests of the agent's decisions put their own). */
  runner?: typeof executeRun;
}

type Job = RunRecord;

export class Agent {
  readonly store: Store;
  readonly git: Git;
  private readonly queues: EnvQueues<Job>;
  private intake: Promise<unknown> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private baseline: boolean;
  private readonly log: (s: string) => void;
  private readonly policies = new Map<string, Policy>();
  lastPollError?: string;

  constructor(readonly o: AgentOptions) {
    this.store = new Store(o.stateDir);
    this.git = new Git(o.remote, join(o.stateDir, "repo.git"));
    this.baseline = this.store.fresh;
    this.log = o.log ?? ((s) => process.stderr.write(`[phoenix agent] ${s}\n`));
    this.queues = new EnvQueues(
      (job) => this.execute(job),
      (old, by) => {
        old.status = "superseded";
        old.summary = `superseded by run ${by.id} (${by.commit.slice(0, 12)}) before it started`;
        this.store.save();
      },
    );
  }

  start(): void {
    const poll = async () => {
      await this.poll();
      this.timers[0] = setTimeout(() => void poll(), this.o.pollMs);
    };
    void poll();
    this.timers[1] = setInterval(() => void this.tick(), this.o.tickMs ?? 1000);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    await this.queues.idle();
  }

  /** Fetches and looks at every branch head. */
  async poll(): Promise<void> {
    try {
      await this.git.fetch();
      const heads = await this.git.heads();
      await this.serial(async () => {
        for (const [branch, sha] of heads) await this.onHead(branch, sha, "commit");
        for (const b of Object.keys(this.store.state.heads)) if (!heads.has(b)) delete this.store.state.heads[b];
        this.baseline = false;
        this.store.save();
      });
      this.lastPollError = undefined;
    } catch (e) {
      this.lastPollError = (e as Error).message;
      this.log(`poll failed: ${this.lastPollError}`);
    }
  }

  /** A verified push: fetch, then the pushed commit (even when a newer one is already there). */
  async onPush(p: Extract<PushEvent, { kind: "push" }>): Promise<RunRecord[]> {
    await this.git.fetch();
    if (!(await this.git.hasCommit(p.after))) throw new Error(`commit ${p.after} is not on the remote ${this.o.remote}`);
    const sha = await this.git.resolve(p.after);
    return this.serial(async () => {
      const runs = await this.onHead(p.branch, sha, "webhook");
      this.store.save();
      return runs;
    });
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.intake.then(f, f);
    this.intake = next.catch(() => undefined);
    return next;
  }

  /** A branch's head moved to `sha`: up for its environments whose paths changed, preview for the others'. */
  private async onHead(branch: string, sha: string, trigger: Trigger): Promise<RunRecord[]> {
    const s = this.store.state;
    const old = s.heads[branch];
    if (old === sha || (old && (await this.git.isAncestor(sha, old)))) return [];
    s.heads[branch] = sha;
    const runs: RunRecord[] = [];
    for (const [env, settings] of await this.deploySettingsAt(sha)) {
      const own = settings.branch === branch;
      if (own && settings.deployCommits) {
        const base = s.lastUp[env];
        const changed = !base || (await this.pathsChanged(settings, base, sha));
        if (changed) runs.push(this.enqueue(env, "up", trigger, sha, branch, settings));
      } else if (!own && settings.previewPullRequests && !this.baseline) {
        const envHead = s.heads[settings.branch];
        const base = old ?? (envHead ? await this.git.mergeBase(sha, envHead) : undefined);
        if (base && (await this.pathsChanged(settings, base, sha)))
          runs.push(this.enqueue(env, "preview", trigger, sha, branch, settings));
      }
    }
    return runs;
  }

  /** Whether the settings' path filter matches a file changed from `base` to `sha` (a base no longer known: yes). */
  private async pathsChanged(settings: DeploySettings, base: string, sha: string): Promise<boolean> {
    if (!(await this.git.hasCommit(base))) return true;
    return anyPathMatches(settings.paths, await this.git.changed(base, sha), settings.repoDir);
  }

  /** The environments at a commit: each Pulumi.<env>.deploy.yaml of the project directory. */
  private async deploySettingsAt(sha: string): Promise<Map<string, DeploySettings>> {
    const out = new Map<string, DeploySettings>();
    for (const f of await this.git.list(sha, this.o.projectDir)) {
      const m = /^Pulumi\.(.+)\.deploy\.yaml$/.exec(f);
      if (!m) continue;
      const bad = checkEnvName(m[1]!);
      if (bad) {
        this.log(`${sha.slice(0, 12)}: ${f} ignored: ${bad}`);
        continue;
      }
      try {
        out.set(m[1]!, parseDeploySettings((await this.git.show(sha, join(this.o.projectDir, f)))!, f));
      } catch (e) {
        this.log(`${sha.slice(0, 12)}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  private async policyAt(env: string, sha: string): Promise<Policy> {
    const key = `${env}@${sha}`;
    const hit = this.policies.get(key);
    if (hit) return hit;
    const file = join(this.o.projectDir, "stacks", `${env}.agent.yaml`);
    let p = DEFAULT_POLICY;
    try {
      p = parsePolicy(await this.git.show(sha, file), file);
    } catch (e) {
      this.log(`${sha.slice(0, 12)}: ${(e as Error).message} (using heal: report)`);
    }
    this.policies.set(key, p);
    return p;
  }

  private enqueue(
    env: string,
    operation: Operation,
    trigger: Trigger,
    commit: string,
    branch?: string,
    settings?: DeploySettings,
  ): RunRecord {
    const run = this.store.newRun({ env, operation, trigger, commit, ...(branch ? { branch } : {}) });
    const skip = settings?.skipIntermediateDeployments ?? false;
    const outcome = this.queues.enqueue(run, {
      // A newer commit of the same branch stands in for a queued one when the settings skip intermediate deployments.
      replaces: (p) => skip && p.operation === operation && p.branch === branch && p.trigger !== "heal",
    });
    this.log(
      `run ${run.id}: ${operation} ${env} at ${commit.slice(0, 12)} (${trigger}${branch ? `, ${branch}` : ""}) ${outcome}`,
    );
    return run;
  }

  /** Scheduled refreshes of converged environments, respecting each one's back-off. */
  private ticking = false;
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.scheduleRefreshes();
    } finally {
      this.ticking = false;
    }
  }

  private async scheduleRefreshes(): Promise<void> {
    const s = this.store.state;
    const now = Date.now();
    for (const [env, commit] of Object.entries(s.lastUp)) {
      const p = await this.policyAt(env, commit);
      if (now < (s.notBefore[env] ?? 0) || now - (s.lastRefresh[env] ?? 0) < p.refreshEveryMs) continue;
      if (this.queues.busy(env)) continue;
      s.lastRefresh[env] = now;
      this.enqueue(env, "refresh", "schedule", commit);
    }
  }

  private async execute(run: RunRecord): Promise<void> {
    const s = this.store.state;
    run.status = "running";
    run.startedAt = new Date().toISOString();
    this.store.save();
    const root = join(this.o.stateDir, "work", `${run.env}-${run.id}`);
    try {
      await this.git.checkout(run.commit, root);
      const out = await (this.o.runner ?? executeRun)({
        env: run.env,
        operation: run.operation,
        commit: run.commit,
        workTree: join(root, this.o.projectDir),
        log: run.log,
        env0: this.o.env,
      });
      run.changes = out.changes;
      run.status = "succeeded";
      run.summary = changesText(out.changes);
      await this.after(run);
    } catch (e) {
      run.status = "failed";
      run.error = e instanceof RunFailure ? e.message : (e as Error).message.slice(-4000);
      s.failures[run.env] = (s.failures[run.env] ?? 0) + 1;
      const p = await this.policyAt(run.env, s.lastUp[run.env] ?? run.commit);
      s.notBefore[run.env] = Date.now() + backoffMs(p, s.failures[run.env]!);
      this.log(
        `run ${run.id}: ${run.operation} ${run.env} failed (${s.failures[run.env]} in a row): ${run.error.split("\n")[0]}`,
      );
    } finally {
      run.endedAt = new Date().toISOString();
      this.store.save();
      await this.git.removeWorkTree(root).catch(() => undefined);
    }
  }

  /** What a successful run means: a converged commit, or drift found by a refresh and what the policy does. */
  private async after(run: RunRecord): Promise<void> {
    const s = this.store.state;
    if (run.operation === "up") {
      s.lastUp[run.env] = run.commit;
      s.failures[run.env] = 0;
      s.notBefore[run.env] = 0;
      delete s.drifted[run.env];
      s.lastRefresh[run.env] = Date.now();
    }
    if (run.operation !== "refresh") return;
    const found = run.summary !== "no changes";
    const policy = await this.policyAt(run.env, run.commit);
    if (found) s.drifted[run.env] = `${run.endedAt ?? new Date().toISOString()}: ${run.summary}`;
    if (!found && !s.drifted[run.env]) return;
    run.drift = true;
    if (policy.heal === "auto") {
      run.summary = `drift: ${found ? run.summary : s.drifted[run.env]}; heal: auto, up queued`;
      this.enqueue(run.env, "up", "heal", run.commit);
    } else run.summary = `drift: ${found ? run.summary : `still, since ${s.drifted[run.env]}`}; heal: report, left alone`;
    this.log(`run ${run.id}: ${run.env}: ${run.summary}`);
  }

  status() {
    const s = this.store.state;
    const envs = new Set([...Object.keys(s.lastUp), ...this.store.runs.map((r) => r.env)]);
    return {
      remote: this.o.remote,
      pollMs: this.o.pollMs,
      lastPollError: this.lastPollError ?? null,
      heads: s.heads,
      environments: Object.fromEntries(
        [...envs].sort().map((env) => [
          env,
          {
            convergedTo: s.lastUp[env] ?? null,
            drifted: s.drifted[env] ?? null,
            failuresInARow: s.failures[env] ?? 0,
            automaticRunsNotBefore: s.notBefore[env] ? new Date(s.notBefore[env]!).toISOString() : null,
            lastRefresh: s.lastRefresh[env] ? new Date(s.lastRefresh[env]!).toISOString() : null,
            running: this.queues.runningJob(env)?.id ?? null,
            queued: this.queues.pendingJobs(env).map((r) => r.id),
          },
        ]),
      ),
    };
  }
}
