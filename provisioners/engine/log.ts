/** Which log file a run goes to: one per stack and resource. */
export interface LogTarget {
  stack: string;
  resource: string;
}

export const MASK = "[secret]";

/** The strings to mask for a set of secret values: each value, and each line of a multi-line one (logs are masked line by line). */
export function maskValues(secrets: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const s of secrets) {
    if (typeof s !== "string" || s === "") continue;
    out.add(s);
    if (s.includes("\n")) for (const line of s.split(/\r?\n/)) if (line.trim() !== "") out.add(line);
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/** Replace every occurrence of every secret value with [secret]. */
export function maskSecrets(text: string, secrets: Iterable<string>): string {
  let t = text;
  for (const v of maskValues(secrets)) t = t.split(v).join(MASK);
  return t;
}

export function logDir(): string {
  const path = require("node:path") as typeof import("node:path");
  const dir = process.env["PHOENIX_LOG_DIR"];
  return dir && dir !== "" ? path.resolve(dir) : path.join(process.cwd(), ".pulumi-state", "logs");
}

function safeSegment(s: string): string {
  const t = s.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_");
  return t === "" ? "_" : t;
}

export function logPath(target: LogTarget): string {
  const path = require("node:path") as typeof import("node:path");
  return path.join(logDir(), safeSegment(target.stack), `${safeSegment(target.resource)}.log`);
}

/** A run's output appended to its log file as it arrives, masked line by line, with the lines kept for the error tail. */
// Fields are set in the constructor, not with initializers: Pulumi's closure serializer drops class field initializers.
export class RunLog {
  /** Undefined for a log kept in memory only. */
  readonly path: string | undefined;
  private readonly lines: string[];
  private total: number;
  private masks: string[];
  private readonly partial: Map<string, string>;

  constructor(target: LogTarget | undefined, secrets: Iterable<string> = []) {
    this.lines = [];
    this.total = 0;
    this.partial = new Map();
    this.masks = maskValues(secrets);
    if (!target) {
      this.path = undefined;
      return;
    }
    const fs = require("node:fs") as typeof import("node:fs");
    const path = require("node:path") as typeof import("node:path");
    this.path = logPath(target);
    fs.mkdirSync(path.dirname(this.path), { recursive: true, mode: 0o700 });
  }

  addSecrets(secrets: Iterable<string>): void {
    this.masks = maskValues([...this.masks, ...secrets]);
  }

  mask(text: string): string {
    let t = text;
    for (const v of this.masks) t = t.split(v).join(MASK);
    return t;
  }

  /** A line of our own (a header or footer), not kept for the error tail. */
  note(text: string): void {
    this.append(this.mask(text) + "\n");
  }

  /** Output of a remote stream; complete lines are masked and written, the rest waits for its newline. */
  write(stream: string, chunk: string): void {
    const text = (this.partial.get(stream) ?? "") + chunk;
    const cut = text.lastIndexOf("\n");
    if (cut < 0) {
      this.partial.set(stream, text);
      return;
    }
    this.partial.set(stream, text.slice(cut + 1));
    this.emit(text.slice(0, cut));
  }

  flush(): void {
    for (const rest of this.partial.values()) if (rest !== "") this.emit(rest);
    this.partial.clear();
  }

  /** A position to take lines from later (linesSince). */
  mark(): number {
    return this.total;
  }

  /** Output lines after a mark (at most the last 1000 are kept). */
  linesSince(mark: number): string[] {
    return this.lines.slice(Math.max(0, this.lines.length - (this.total - mark)));
  }

  private emit(text: string): void {
    const masked = this.mask(text);
    const lines = masked.split("\n");
    this.total += lines.length;
    this.lines.push(...lines);
    if (this.lines.length > 1000) this.lines.splice(0, this.lines.length - 1000);
    this.append(masked + "\n");
  }

  private append(text: string): void {
    if (this.path === undefined) return;
    const fs = require("node:fs") as typeof import("node:fs");
    fs.appendFileSync(this.path, text, { mode: 0o600 });
  }
}

export function openRunLog(target: LogTarget | undefined, secrets: Iterable<string> = []): RunLog {
  return new RunLog(target, secrets);
}
