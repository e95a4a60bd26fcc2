// Local commands for the lab host (no SSH here: the lab *is* the host).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class CommandFailed extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    super(`${command} exited ${result.code}: ${(result.stderr || result.stdout).trim().split("\n").slice(-5).join("\n")}`);
    this.name = "CommandFailed";
  }
}

export function run(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): RunResult {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    input: opts.input,
    timeout: opts.timeoutMs ?? 120_000,
    env: opts.env ?? process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const result = {
    code: r.status ?? (r.error ? 127 : 1),
    stdout: r.stdout ?? "",
    stderr: r.stderr ?? (r.error ? String(r.error) : ""),
  };
  if (result.code !== 0 && !opts.allowFail) throw new CommandFailed([cmd, ...args].join(" "), result);
  return result;
}

export const ok = (cmd: string, args: string[]) => run(cmd, args, { allowFail: true }).code === 0;

/** The process whose id a pid file holds, while it runs; undefined without the file or the process. */
export function livePid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 && ok("kill", ["-0", String(pid)]) ? pid : undefined;
}

/** Poll `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 30_000, everyMs = 200): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** `run` without blocking the event loop: for long work inside the lab's API server (extracting, copying). */
export function runAsync(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; allowFail?: boolean; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], timeout: opts.timeoutMs ?? 600_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.on("error", (e) => resolve({ code: 127, stdout, stderr: String(e) }));
    child.on("close", (code) => {
      const result = { code: code ?? 1, stdout, stderr };
      if (result.code !== 0 && !opts.allowFail) reject(new CommandFailed([cmd, ...args].join(" "), result));
      else resolve(result);
    });
    child.stdin.end(opts.input);
  });
}
