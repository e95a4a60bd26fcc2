// One queue per environment: its runs start one after the other, never two at once; different environments run side
// by side. A job may replace a pending one (skipIntermediateDeployments, a second scheduled refresh).

export interface Job {
  env: string;
}

export class EnvQueues<J extends Job> {
  private readonly pending = new Map<string, J[]>();
  private readonly running = new Map<string, J>();
  private readonly waiters: (() => void)[] = [];

  constructor(
    private readonly exec: (job: J) => Promise<void>,
    private readonly onSuperseded: (old: J, by: J) => void = () => undefined,
  ) {}

  /**
   * Queues `job` behind the environment's running and pending jobs. `replaces` picks a pending job it stands in
   * for (that one is dropped); `duplicate` a pending one that makes it needless ("dropped", not queued).
   */
  enqueue(
    job: J,
    o: { replaces?: (pending: J) => boolean; duplicate?: (pending: J) => boolean } = {},
  ): "queued" | "replaced" | "dropped" {
    const list = this.pending.get(job.env) ?? [];
    if (o.duplicate && list.some(o.duplicate)) return "dropped";
    const i = o.replaces ? list.findIndex(o.replaces) : -1;
    let outcome: "queued" | "replaced" = "queued";
    if (i >= 0) {
      this.onSuperseded(list[i]!, job);
      list.splice(i, 1, job);
      outcome = "replaced";
    } else list.push(job);
    this.pending.set(job.env, list);
    this.pump(job.env);
    return outcome;
  }

  busy(env: string): boolean {
    return this.running.has(env) || (this.pending.get(env)?.length ?? 0) > 0;
  }

  runningJob(env: string): J | undefined {
    return this.running.get(env);
  }

  pendingJobs(env: string): readonly J[] {
    return this.pending.get(env) ?? [];
  }

  /** Resolves once nothing runs or waits. */
  idle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  private pump(env: string) {
    if (this.running.has(env)) return;
    const next = this.pending.get(env)?.shift();
    if (!next) return;
    this.running.set(env, next);
    void this.exec(next)
      .catch(() => undefined)
      .finally(() => {
        this.running.delete(env);
        this.pump(env);
        if (this.running.size === 0) for (const w of this.waiters.splice(0)) w();
      });
  }
}
