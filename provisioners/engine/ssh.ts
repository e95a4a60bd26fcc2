import type { NodeSSH } from "node-ssh";
import { type Connection, type ResolvedConnection, addressOf, resolveConnection } from "./connection";
import { EngineError } from "./errors";
import {
  type HostKey,
  HostKeyMismatchError,
  REFUSED_HOST_KEY_ALGORITHMS,
  hostKeyFromBlob,
  pinnedFingerprint,
  pinnedType,
  serverHostKeyAlgorithms,
} from "./host-key";
import { backoffDelay, isTransientDialError } from "./retry";
import { assertShellNames, shellQuote } from "./shell";

export interface ExecOptions {
  stdin?: string;
  /** Exported to the command. Not for secrets: they end up on the remote command line (use runScript's secretsEnv). */
  env?: Record<string, string>;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Close the connection and fail with ExecTimeoutError when the command has not finished by then. */
  timeoutMs?: number;
}

/** A command still running when ExecOptions.timeoutMs ran out: the connection was closed under it. */
export class ExecTimeoutError extends EngineError {
  constructor(
    readonly address: string,
    readonly elapsedMs: number,
  ) {
    super(
      "ExecTimeoutError",
      `the command on ${address} was still running after ${Math.round(elapsedMs / 1000)} s: closed the connection`,
    );
  }
}

export interface ExecResult {
  /** Exit status; -1 when the command died of a signal. */
  code: number;
  signal?: string;
  stdout: string;
  stderr: string;
}

export interface Session {
  readonly connection: ResolvedConnection;
  /** ConnectOptions.label, for messages. */
  readonly label?: string;
  /** "host:port". */
  readonly address: string;
  /** The key the host presented: store `hostKey.openssh` to pin it next time. */
  readonly hostKey: HostKey;
  /** Dials it took, 1 when the first succeeded. */
  readonly attempts: number;
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  close(): void;
}

export interface ConnectOptions {
  /** What is being reached, for messages: a guest or node name. */
  label?: string;
  /** First backoff delay; doubles after each failed dial. Default 500. */
  baseDelayMs?: number;
  /** Default 10000. */
  maxDelayMs?: number;
  onDialError?: (attempt: number, err: unknown) => void;
}

export class SshUnreachableError extends EngineError {
  constructor(
    readonly address: string,
    readonly attempts: number,
    readonly lastError: unknown,
    label?: string,
    perDialTimeoutMs?: number,
  ) {
    super(
      "SshUnreachableError",
      `cannot reach ${label ? `${label} at ` : ""}${address} over SSH: gave up after ${attempts} attempt${attempts === 1 ? "" : "s"}` +
        `${perDialTimeoutMs ? ` (each dial limited to ${perDialTimeoutMs} ms)` : ""}; last error: ${errorText(lastError)}. ` +
        `Check that the machine is running, the address and port are right and sshd is listening.`,
    );
  }
}

export class SshAuthError extends EngineError {
  constructor(
    readonly address: string,
    readonly user: string,
    cause: unknown,
    label?: string,
  ) {
    super(
      "SshAuthError",
      `SSH authentication failed as ${user} on ${label ? `${label} at ` : ""}${address}: ${errorText(cause)}. ` +
        `Check the private key or password and that the key is in the user's authorized_keys.`,
    );
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Open a session, retrying transport errors with bounded exponential backoff; never retries auth or host-key failures. */
export async function connect(connection: Connection, opts: ConnectOptions = {}): Promise<Session> {
  const c = resolveConnection(connection);
  const address = addressOf(c);
  const limit = c.dialErrorLimit < 0 ? Infinity : Math.max(1, c.dialErrorLimit);
  const expected = c.hostKey ? pinnedFingerprint(c.hostKey) : undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      const { ssh, hostKey } = await dialOnce(c, address, expected, opts.label);
      return makeSession(ssh, c, address, hostKey, attempt, opts.label);
    } catch (err) {
      if (err instanceof HostKeyMismatchError) throw err;
      if ((err as { level?: unknown }).level === "client-authentication")
        throw new SshAuthError(address, c.user, err, opts.label);
      if (!isTransientDialError(err)) {
        const refused = /no matching host key/i.test(errorText(err))
          ? `. Phoenix refuses the host-key algorithms ${REFUSED_HOST_KEY_ALGORITHMS.join(" and ")} (SHA-1 and DSA signatures): ` +
            "let the host offer an ed25519, ECDSA or RSA key with rsa-sha2-512/rsa-sha2-256 signatures (sshd's HostKeyAlgorithms)"
          : "";
        const e = new Error(`SSH to ${opts.label ? `${opts.label} at ` : ""}${address} failed: ${errorText(err)}${refused}`);
        (e as { cause?: unknown }).cause = err;
        throw e;
      }
      opts.onDialError?.(attempt, err);
      if (attempt >= limit) throw new SshUnreachableError(address, attempt, err, opts.label, c.perDialTimeoutMs);
      await sleep(backoffDelay(attempt, opts.baseDelayMs ?? 500, opts.maxDelayMs ?? 10_000));
    }
  }
}

async function dialOnce(
  c: ResolvedConnection,
  address: string,
  expected: string | undefined,
  label: string | undefined,
): Promise<{ ssh: NodeSSH; hostKey: HostKey }> {
  const { NodeSSH } = require("node-ssh") as typeof import("node-ssh");
  const ssh = new NodeSSH();
  let seen: HostKey | undefined;
  let mismatch: HostKeyMismatchError | undefined;
  const pinned = c.hostKey ? pinnedType(c.hostKey) : undefined;
  try {
    await ssh.connect({
      host: c.host,
      port: c.port,
      username: c.user,
      ...(c.privateKey !== undefined ? { privateKey: c.privateKey } : {}),
      ...(c.password !== undefined ? { password: c.password, tryKeyboard: true } : {}),
      readyTimeout: c.perDialTimeoutMs,
      keepaliveInterval: c.keepaliveIntervalMs,
      keepaliveCountMax: c.keepaliveCountMax,
      // Offer the pinned key's algorithm first, so a host with several host keys presents the pinned one; never SHA-1.
      algorithms: { serverHostKey: serverHostKeyAlgorithms(pinned) },
      hostVerifier: (key: Buffer) => {
        seen = hostKeyFromBlob(key);
        if (expected !== undefined && seen.fingerprint !== expected) {
          mismatch = new HostKeyMismatchError(address, expected, seen, label);
          return false;
        }
        return true;
      },
    } as Parameters<NodeSSH["connect"]>[0]);
  } catch (err) {
    ssh.dispose();
    throw mismatch ?? err;
  }
  if (!seen) {
    ssh.dispose();
    throw new Error(`SSH to ${address}: the host presented no host key`);
  }
  return { ssh, hostKey: seen };
}

function makeSession(
  ssh: NodeSSH,
  c: ResolvedConnection,
  address: string,
  hostKey: HostKey,
  attempts: number,
  label?: string,
): Session {
  // node-ssh listens for connection errors only while connecting or opening a channel; without a listener of our
  // own, a connection dropped mid-command (a reboot, a reset) would be an uncaught exception.
  let lost: unknown;
  ssh.connection?.on("error", (e: unknown) => {
    lost = e;
  });
  return {
    connection: c,
    ...(label !== undefined ? { label } : {}),
    address,
    hostKey,
    attempts,
    async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
      const env = opts.env ?? {};
      assertShellNames(Object.keys(env), "env names");
      const prefix = Object.entries(env)
        .map(([k, v]) => `export ${k}=${shellQuote(v)}; `)
        .join("");
      const { StringDecoder } = require("node:string_decoder") as typeof import("node:string_decoder");
      const out = new StringDecoder("utf8");
      const err = new StringDecoder("utf8");
      const started = Date.now();
      const running = ssh.execCommand(prefix + command, {
        noTrim: true,
        ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
        ...(opts.onStdout ? { onStdout: (b: Buffer) => opts.onStdout!(out.write(b)) } : {}),
        ...(opts.onStderr ? { onStderr: (b: Buffer) => opts.onStderr!(err.write(b)) } : {}),
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const res = await (
        opts.timeoutMs === undefined
          ? running
          : Promise.race([
              running,
              new Promise<never>((_resolve, reject) => {
                timer = setTimeout(() => {
                  ssh.dispose();
                  reject(new ExecTimeoutError(`${label ? `${label} at ` : ""}${address}`, Date.now() - started));
                }, opts.timeoutMs);
              }),
            ])
      ).finally(() => clearTimeout(timer));
      if (res.code === null && res.signal === null)
        throw new Error(
          `SSH connection to ${label ? `${label} at ` : ""}${address} closed before the command reported its exit status` +
            (lost !== undefined ? `: ${errorText(lost)}` : " (did the machine reboot or sshd restart?)"),
        );
      const outRest = out.end();
      const errRest = err.end();
      if (outRest && opts.onStdout) opts.onStdout(outRest);
      if (errRest && opts.onStderr) opts.onStderr(errRest);
      return { code: res.code ?? -1, ...(res.signal ? { signal: res.signal } : {}), stdout: res.stdout, stderr: res.stderr };
    },
    close() {
      ssh.dispose();
    },
  };
}

/** Connect, run fn, always close. */
export async function withSession<T>(
  connection: Connection,
  fn: (s: Session) => Promise<T>,
  opts: ConnectOptions = {},
): Promise<T> {
  const s = await connect(connection, opts);
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}
