import { EngineError } from "./errors";
import { type RunLog, openRunLog } from "./log";
import { type ExecResult, type Session, ExecTimeoutError } from "./ssh";
import { assertShellNames } from "./shell";

export interface RunScriptOptions {
  /** Exported to the script. Not secret: masked nowhere, fine to log. */
  env?: Record<string, string>;
  /**
   * Secret values, set as shell variables of the script (not exported: a child process only gets one if the
   * script passes it on, preferably on stdin or through a root-only file, e.g. `phx_secret_file NAME /path`).
   * They travel on stdin only, so they never appear in argv, `ps` or the logs.
   */
  secretsEnv?: Record<string, string>;
  /** Where the output goes; secret values are masked in it. */
  log?: RunLog;
  /** What this run is, for the log and error messages, e.g. "create". */
  title?: string;
  /** Return a non-zero exit status instead of throwing. */
  allowFailure?: boolean;
  /**
   * Run inside this LXC container of the session's host (a Proxmox node) through `pct exec`, as the original
   * system does: the guest needs no sshd or network. Stdin, and so the secrets, pass through unchanged.
   */
  inContainer?: number;
  /** Stop the script when it runs longer, and fail with what was running, where and for how long. */
  timeout?: ScriptTimeout;
}

export interface ScriptTimeout {
  /** Whole seconds. */
  seconds: number;
  /** The definition's setting that raises it, for the message (e.g. "timeouts.vllm of guest llm"). */
  setting?: string;
}

/** After a timeout, `timeout` sends TERM, then KILL this many seconds later if the script is still there. */
export const KILL_AFTER_SECONDS = 10;
/** The engine's own backstop closes the connection this long after the remote limit and its KILL. */
const BACKSTOP_SECONDS = 20;

/** The fixed remote command: everything else, script included, comes on stdin. */
export const SCRIPT_COMMAND = "bash -s";

/**
 * Scripts run as root: another user (a VM's cloud-init user) goes through `sudo -n`, which it has without a password.
 * With a time limit, coreutils' `timeout` runs the script where it runs (inside the container for pct), and stops
 * the script's whole process group when the limit runs out.
 */
export function scriptCommand(inContainer?: number, user = "root", timeoutSeconds?: number): string {
  const sudo = user === "root" ? "" : "sudo -n ";
  if (timeoutSeconds !== undefined && (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1))
    throw new Error(`not a time limit in whole seconds: ${timeoutSeconds}`);
  const limited =
    timeoutSeconds !== undefined ? `timeout -k ${KILL_AFTER_SECONDS} ${timeoutSeconds} ${SCRIPT_COMMAND}` : SCRIPT_COMMAND;
  if (inContainer === undefined) return `${sudo}${limited}`;
  if (!Number.isInteger(inContainer) || inContainer < 100) throw new Error(`not a container id: ${inContainer}`);
  return `${sudo}pct exec ${inContainer} -- ${limited}`;
}

export class ScriptError extends EngineError {
  constructor(
    message: string,
    readonly code: number,
    readonly tail: string[],
    readonly logPath: string | undefined,
    name = "ScriptError",
  ) {
    super(name, message);
  }
}

/** The script ran over its time limit and was stopped. */
export class ScriptTimeoutError extends ScriptError {
  constructor(message: string, tail: string[], logPath: string | undefined) {
    super(message, -1, tail, logPath, "ScriptTimeoutError");
  }
}

/** The last lines of output and the log's path, for an error message. */
function tailText(tail: string[], logPath: string | undefined): string {
  return (
    (tail.length > 0
      ? `--- last ${tail.length} line${tail.length === 1 ? "" : "s"} of output ---\n${tail.join("\n")}\n`
      : "(no output)\n") + (logPath ? `--- full log: ${logPath}` : "")
  );
}

function secondsText(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * What `bash -s` reads. Each value follows the `read` that consumes it, NUL-terminated, so values may hold any
 * byte but NUL. bash reads a non-seekable stdin one byte at a time, so `read` sees exactly the bytes after its
 * own line. The script itself is read into a variable too, then stdin is closed so commands in the script
 * cannot swallow the rest of it.
 */
export function buildScriptStdin(script: string, env: Record<string, string> = {}, secrets: Record<string, string> = {}): string {
  assertShellNames([...Object.keys(env), ...Object.keys(secrets)], "env and secret names");
  const reserved = [...Object.keys(env), ...Object.keys(secrets)].filter((n) => n.startsWith("__phx"));
  if (reserved.length > 0) throw new Error(`names starting with __phx are reserved: ${reserved.join(", ")}`);
  const both = Object.keys(env).filter((n) => n in secrets);
  if (both.length > 0) throw new Error(`${both.join(", ")} given both as env and as a secret`);
  const nul = [...Object.entries(env), ...Object.entries(secrets), ["script", script]]
    .filter(([, v]) => v!.includes("\0"))
    .map(([k]) => k);
  if (nul.length > 0) throw new Error(`values cannot contain NUL bytes: ${nul.join(", ")}`);
  let s = "";
  for (const [k, v] of Object.entries(secrets)) s += `IFS= read -r -d '' ${k}\n${v}\0`;
  for (const [k, v] of Object.entries(env)) s += `IFS= read -r -d '' ${k} && export ${k}\n${v}\0`;
  s += `phx_secret_file() { (umask 077 && printf '%s' "\${!1}" > "$2"); }\n`;
  s += `IFS= read -r -d '' __phx_script\n${script}\0`;
  s += `exec 0</dev/null; eval "$__phx_script"\n`;
  return s;
}

/** Run a bash script on the session's host; output goes to the log (masked) and, masked, into the result. */
export async function runScript(session: Session, script: string, opts: RunScriptOptions = {}): Promise<ExecResult> {
  const secrets = opts.secretsEnv ?? {};
  const log = opts.log ?? openRunLog(undefined);
  log.addSecrets(Object.values(secrets));
  const title = opts.title ?? "script";
  const where = `${opts.inContainer !== undefined ? `CT ${opts.inContainer} via ` : ""}${session.connection.user}@${session.address}`;
  const stdin = buildScriptStdin(script, opts.env ?? {}, secrets);
  const started = Date.now();
  log.note(`==== ${new Date(started).toISOString()} ${title} on ${session.label ? `${session.label} ` : ""}${where} ====`);
  const mark = log.mark();
  const limit = opts.timeout;
  const on = `${session.label ? `${session.label} at ` : ""}${where}`;
  const timedOut = (elapsed: number, how: string) => {
    const tail = log.linesSince(mark).slice(-20);
    return new ScriptTimeoutError(
      `${title} on ${on} timed out: still running after ${secondsText(elapsed)}, over its limit of ${limit!.seconds} s; ${how}` +
        `${limit!.setting ? ` (raise ${limit!.setting} if it needs longer)` : ""}\n${tailText(tail, log.path)}`,
      tail,
      log.path,
    );
  };
  let res: ExecResult;
  try {
    res = await session.exec(scriptCommand(opts.inContainer, session.connection.user, limit?.seconds), {
      stdin,
      onStdout: (t) => log.write("stdout", t),
      onStderr: (t) => log.write("stderr", t),
      ...(limit ? { timeoutMs: (limit.seconds + KILL_AFTER_SECONDS + BACKSTOP_SECONDS) * 1000 } : {}),
    });
  } catch (err) {
    log.flush();
    const elapsed = Date.now() - started;
    log.note(`==== lost after ${elapsed} ms: ${(err as Error).message} ====`);
    if (err instanceof ExecTimeoutError) throw timedOut(elapsed, "the connection to it was closed");
    const tail = log.linesSince(mark).slice(-20);
    throw new ScriptError(
      `${title} on ${on} failed after ${secondsText(elapsed)}: ${(err as Error).message}\n${tailText(tail, log.path)}`,
      -1,
      tail,
      log.path,
    );
  }
  log.flush();
  const elapsed = Date.now() - started;
  log.note(`==== exit ${res.code}${res.signal ? ` (signal ${res.signal})` : ""} after ${elapsed} ms ====`);
  // timeout(1) exits 124 when its TERM stopped the script, 137 when KILL had to.
  if (limit && (res.code === 124 || res.code === 137) && elapsed >= limit.seconds * 1000 - 250)
    throw timedOut(elapsed, "it was stopped");
  const masked: ExecResult = { ...res, stdout: log.mask(res.stdout), stderr: log.mask(res.stderr) };
  if (res.code !== 0 && !opts.allowFailure) {
    const tail = log.linesSince(mark).slice(-20);
    throw new ScriptError(
      `${title} failed on ${on}: exit status ${res.code}${res.signal ? ` (signal ${res.signal})` : ""}\n${tailText(tail, log.path)}`,
      res.code,
      tail,
      log.path,
    );
  }
  return masked;
}
