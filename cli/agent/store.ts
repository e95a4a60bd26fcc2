// The agent's memory, in its state directory: the run history (runs.json, newest 500) and what it has seen and done
// (state.json: branch heads, the last commit each environment was converged to, failures, drift).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type Operation = "up" | "preview" | "refresh";
export type Trigger = "commit" | "webhook" | "schedule" | "heal";
export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "superseded";

export interface RunRecord {
  id: number;
  env: string;
  operation: Operation;
  trigger: Trigger;
  branch?: string;
  commit: string;
  status: RunStatus;
  queuedAt: string;
  startedAt?: string;
  endedAt?: string;
  /** Pulumi's counts by operation (same, update, create, …). */
  changes?: Record<string, number>;
  /** One line: the changes, the drift found, what was done about it. */
  summary?: string;
  /** Why it failed: validation problems (path, message, fix), a pre-run command, Pulumi's error. */
  error?: string;
  /** A refresh that found the stack changed behind Pulumi's back (or a failed health check). */
  drift?: boolean;
  log: string;
}

export interface AgentState {
  heads: Record<string, string>;
  /** The commit each environment was last converged to by a successful up. */
  lastUp: Record<string, string>;
  failures: Record<string, number>;
  /** Epoch ms before which no automatic run (refresh, heal) starts: the back-off. */
  notBefore: Record<string, number>;
  /** When a refresh last found drift that no up has repaired since, and what it found. */
  drifted: Record<string, string>;
  lastRefresh: Record<string, number>;
  nextId: number;
}

const KEEP = 500;

export class Store {
  readonly runs: RunRecord[];
  readonly state: AgentState;
  /** No state file yet: the agent's first start. */
  readonly fresh: boolean;

  constructor(readonly dir: string) {
    mkdirSync(join(dir, "logs"), { recursive: true });
    this.fresh = !existsSync(join(dir, "state.json"));
    this.state = {
      heads: {},
      lastUp: {},
      failures: {},
      notBefore: {},
      drifted: {},
      lastRefresh: {},
      nextId: 1,
      ...(this.fresh ? {} : (JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as Partial<AgentState>)),
    };
    const runs = join(dir, "runs.json");
    this.runs = existsSync(runs) ? (JSON.parse(readFileSync(runs, "utf8")) as RunRecord[]) : [];
    // Runs that were queued or running when the agent stopped did not finish.
    for (const r of this.runs)
      if (r.status === "queued" || r.status === "running") {
        r.status = "failed";
        r.error = "the agent stopped before this run finished";
      }
  }

  logPath(id: number, env: string, op: Operation): string {
    return join(this.dir, "logs", `run-${id}-${env}-${op}.log`);
  }

  newRun(r: Omit<RunRecord, "id" | "status" | "queuedAt" | "log">): RunRecord {
    const id = this.state.nextId++;
    const run: RunRecord = {
      id,
      status: "queued",
      queuedAt: new Date().toISOString(),
      log: this.logPath(id, r.env, r.operation),
      ...r,
    };
    this.runs.push(run);
    this.save();
    return run;
  }

  save(): void {
    while (this.runs.length > KEEP) this.runs.shift();
    write(join(this.dir, "runs.json"), JSON.stringify(this.runs, null, 1));
    write(join(this.dir, "state.json"), JSON.stringify(this.state, null, 1));
  }
}

function write(file: string, text: string) {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}
