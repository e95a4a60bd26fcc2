// Proxmox worker tasks: a UPID per asynchronous operation (UPID:node:pid:pstart:starttime:type:id:user:,
// the numbers in upper-case hex of 8 digits), a status (running/stopped + exitstatus "OK" or the error
// text) and a log of numbered lines that ends with "TASK OK" or "TASK ERROR: ...".

export interface TaskLog {
  (line: string): void;
}

export interface ParsedUpid {
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
}

export interface TaskInfo extends ParsedUpid {
  upid: string;
  status: "running" | "stopped";
  exitstatus?: string;
  endtime?: number;
  log: string[];
}

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");

export function formatUpid(u: ParsedUpid): string {
  return `UPID:${u.node}:${hex8(u.pid)}:${hex8(u.pstart)}:${hex8(u.starttime)}:${u.type}:${u.id}:${u.user}:`;
}

export function parseUpid(upid: string): ParsedUpid | undefined {
  const m =
    /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/.exec(
      upid,
    );
  if (!m) return undefined;
  return {
    node: m[1]!,
    pid: parseInt(m[3]!, 16),
    pstart: parseInt(m[4]!, 16),
    starttime: parseInt(m[5]!, 16),
    type: m[6]!,
    id: m[7]!,
    user: m[8]!,
  };
}

export class TaskManager {
  private readonly tasks = new Map<string, TaskInfo>();
  /** Running workers by UPID (each promise settles when its worker has ended, however it ended). */
  private readonly running = new Map<string, Promise<void>>();
  private nextPid = 0x1000 + Math.floor(Math.random() * 0x10000);

  constructor(private readonly node: string) {}

  /**
   * Starts a worker and returns its UPID at once; `work` runs asynchronously. A thrown error ends the
   * task with that message as exit status, like a Perl worker's die.
   */
  start(type: string, id: string, user: string, work: (log: TaskLog) => Promise<void>): string {
    const pid = this.nextPid++;
    const now = Math.floor(Date.now() / 1000);
    const upid = formatUpid({ node: this.node, pid, pstart: pid * 7, starttime: now, type, id, user });
    const task: TaskInfo = {
      upid,
      node: this.node,
      pid,
      pstart: pid * 7,
      starttime: now,
      type,
      id,
      user,
      status: "running",
      log: [],
    };
    this.tasks.set(upid, task);
    const log: TaskLog = (line) => {
      for (const l of line.split("\n")) task.log.push(l);
    };
    const p = (async () => {
      try {
        await work(log);
        task.exitstatus = "OK";
        log("TASK OK");
      } catch (e) {
        const msg = (e instanceof Error ? e.message : String(e)).split("\n")[0]!.trim() || "unknown error";
        task.exitstatus = msg;
        log(`TASK ERROR: ${msg}`);
      } finally {
        task.status = "stopped";
        task.endtime = Math.floor(Date.now() / 1000);
      }
    })();
    this.running.set(upid, p);
    void p.finally(() => this.running.delete(upid));
    return upid;
  }

  get(upid: string): TaskInfo | undefined {
    return this.tasks.get(upid);
  }

  list(): TaskInfo[] {
    return [...this.tasks.values()];
  }

  /** Waits for one worker to end (at once when it has, or is no worker of this node's). */
  async wait(upid: string): Promise<void> {
    await this.running.get(upid);
  }

  /** Waits for every running worker (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running.values()]);
  }
}

const pad2 = (n: number) => String(n).padStart(2, "0");
/** A task log's local time, as Proxmox's tasks print it: 2026-12-01 09:07:06. */
export const logStamp = (d = new Date()) =>
  `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
/** A duration in whole seconds as HH:MM:SS (vzdump's and the migrations' "duration"). */
export const hms = (s: number) => `${pad2(Math.floor(s / 3600))}:${pad2(Math.floor(s / 60) % 60)}:${pad2(s % 60)}`;
