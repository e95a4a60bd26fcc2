import { EngineError } from "./errors";
import { type RunLog, openRunLog } from "./log";
import { type ExecResult, type Session } from "./ssh";
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
}

/** The fixed remote command: everything else, script included, comes on stdin. */
export const SCRIPT_COMMAND = "bash -s";

/** Scripts run as root: another user (a VM's cloud-init user) goes through `sudo -n`, which it has without a password. */
export function scriptCommand(inContainer?: number, user = "root"): string {
  const sudo = user === "root" ? "" : "sudo -n ";
  if (inContainer === undefined) return `${sudo}${SCRIPT_COMMAND}`;
  if (!Number.isInteger(inContainer) || inContainer < 100) throw new Error(`not a container id: ${inContainer}`);
  return `${sudo}pct exec ${inContainer} -- ${SCRIPT_COMMAND}`;
}

export class ScriptError extends EngineError {
  constructor(
    message: string,
    readonly code: number,
    readonly tail: string[],
    readonly logPath: string | undefined,
  ) {
    super("ScriptError", message);
  }
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
  const res = await session.exec(scriptCommand(opts.inContainer, session.connection.user), {
    stdin,
    onStdout: (t) => log.write("stdout", t),
    onStderr: (t) => log.write("stderr", t),
  });
  log.flush();
  log.note(`==== exit ${res.code}${res.signal ? ` (signal ${res.signal})` : ""} after ${Date.now() - started} ms ====`);
  const masked: ExecResult = { ...res, stdout: log.mask(res.stdout), stderr: log.mask(res.stderr) };
  if (res.code !== 0 && !opts.allowFailure) {
    const tail = log.linesSince(mark).slice(-20);
    throw new ScriptError(
      `${title} failed on ${session.label ? `${session.label} at ` : ""}${where}: exit status ${res.code}${res.signal ? ` (signal ${res.signal})` : ""}\n` +
        (tail.length > 0
          ? `--- last ${tail.length} line${tail.length === 1 ? "" : "s"} of output ---\n${tail.join("\n")}\n`
          : "(no output)\n") +
        (log.path ? `--- full log: ${log.path}` : ""),
      res.code,
      tail,
      log.path,
    );
  }
  return masked;
}
