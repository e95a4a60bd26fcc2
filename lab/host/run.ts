// Local commands for the lab host (no SSH here: the lab *is* the host).
import { spawnSync } from "node:child_process";

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

export function run(cmd: string, args: string[], opts: { input?: string | Buffer; allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): RunResult {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    input: opts.input,
    timeout: opts.timeoutMs ?? 120_000,
    env: opts.env ?? process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const result = { code: r.status ?? (r.error ? 127 : 1), stdout: r.stdout ?? "", stderr: r.stderr ?? (r.error ? String(r.error) : "") };
  if (result.code !== 0 && !opts.allowFail) throw new CommandFailed([cmd, ...args].join(" "), result);
  return result;
}

export const ok = (cmd: string, args: string[]) => run(cmd, args, { allowFail: true }).code === 0;

/** Poll `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 30_000, everyMs = 200): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
