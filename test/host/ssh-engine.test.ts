// The SSH provisioning engine against a real sshd on 127.0.0.1 (test/support/sshd.ts).
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  HostKeyMismatchError,
  type RemoteScriptInputs,
  type RemoteScriptOutputs,
  RemoteScript,
  ScriptError,
  ScriptTimeoutError,
  ExecTimeoutError,
  SshAuthError,
  SshUnreachableError,
  backoffDelay,
  buildScriptStdin,
  canonicalJson,
  connect,
  contentHash,
  diffScript,
  isTransientDialError,
  logPath,
  makeScriptProvider,
  maskSecrets,
  openRunLog,
  runScript,
  shellQuote,
  withSession,
} from "../../provisioners/engine";
import { installRecordingMocks, settle } from "../support/pulumi-mocks";
import { TestSshd, freePort } from "../support/sshd";

let sshd: TestSshd;
let logDir: string;
let work: string;
const savedLogDir = process.env["PHOENIX_LOG_DIR"];

beforeAll(async () => {
  logDir = fs.mkdtempSync(path.join(os.tmpdir(), "phx-logs-"));
  work = fs.mkdtempSync(path.join(os.tmpdir(), "phx-work-"));
  process.env["PHOENIX_LOG_DIR"] = logDir;
  sshd = await TestSshd.create();
}, 120_000);

afterAll(async () => {
  await sshd?.dispose();
  if (savedLogDir === undefined) delete process.env["PHOENIX_LOG_DIR"];
  else process.env["PHOENIX_LOG_DIR"] = savedLogDir;
  fs.rmSync(logDir, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

// The dynamic provider host sends outputs through protobuf's Struct.fromJavaScript, which rejects undefined.
const Struct = createRequire(require.resolve("@pulumi/pulumi"))("google-protobuf/google/protobuf/struct_pb").Struct;
const sendable = (outs: unknown) => expect(() => Struct.fromJavaScript(outs)).not.toThrow();

describe("pure parts", () => {
  it("canonical JSON and the content hash ignore key order", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        return contentHash("echo", obj) === contentHash("echo", reversed);
      }),
    );
    expect(contentHash("echo a", { x: "1" })).not.toBe(contentHash("echo b", { x: "1" }));
    expect(contentHash("echo a", { x: "1" })).not.toBe(contentHash("echo a", { x: "2" }));
    expect(contentHash("s", { a: "1", b: "2" })).toMatch(/^[0-9a-f]{64}$/);
  });

  it("classifies dial errors: transport errors retry, auth and host-key failures never", () => {
    const e = (code: string) => Object.assign(new Error(code), { code });
    expect(isTransientDialError(e("ECONNREFUSED"))).toBe(true);
    expect(isTransientDialError(e("ETIMEDOUT"))).toBe(true);
    expect(isTransientDialError(e("ECONNRESET"))).toBe(true);
    expect(
      isTransientDialError(Object.assign(new Error("Timed out while waiting for handshake"), { level: "client-timeout" })),
    ).toBe(true);
    expect(
      isTransientDialError(
        Object.assign(new Error("All configured authentication methods failed"), { level: "client-authentication" }),
      ),
    ).toBe(false);
    expect(isTransientDialError(Object.assign(new Error("x"), { name: "HostKeyMismatchError" }))).toBe(false);
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, 100, 1000))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("masks every occurrence of every secret value, longest first", () => {
    expect(maskSecrets("pw=hunter2 again hunter2; token abc", ["hunter2", "abc", ""])).toBe(
      "pw=[secret] again [secret]; token [secret]",
    );
    expect(maskSecrets("line1\nKEY-PART-2\n", ["KEY-PART-1\nKEY-PART-2"])).toBe("line1\n[secret]\n");
  });

  it("shell-quotes any string into one word", () => {
    const words = ["plain", "", "it's", 'a "b" $(touch x) `y` ; rm -rf /', "new\nline", "-o"];
    const script = words.map((w) => `printf '%s\\0' ${shellQuote(w)}`).join("; ");
    const out = require("node:child_process").execFileSync("bash", ["-c", script]) as Buffer;
    expect(out.toString().split("\0").slice(0, -1)).toEqual(words);
  });

  it("puts secret values only after the read that consumes them, never into the command", () => {
    const stdin = buildScriptStdin("echo hi", { A: "1" }, { S: "s3cret" });
    expect(stdin).toContain("IFS= read -r -d '' S\ns3cret\0");
    expect(() => buildScriptStdin("x", {}, { "bad name": "v" })).toThrow(/shell variable names/);
    expect(() => buildScriptStdin("x", {}, { S: "a\0b" })).toThrow(/NUL/);
  });
});

describe("exec", () => {
  it("runs commands and reports exit codes, stdout and stderr", async () => {
    await withSession(sshd.connection(), async (s) => {
      expect(await s.exec("echo out; echo err >&2; exit 3")).toEqual({ code: 3, stdout: "out\n", stderr: "err\n" });
      expect((await s.exec("cat", { stdin: "from stdin\n" })).stdout).toBe("from stdin\n");
      expect((await s.exec('printf %s "$GREETING"', { env: { GREETING: "it's here" } })).stdout).toBe("it's here");
      expect((await s.exec("true")).code).toBe(0);
      expect(await s.exec("kill -TERM $$")).toMatchObject({ code: -1, signal: "SIGTERM" });
      expect(s.attempts).toBe(1);
      expect(s.hostKey.openssh).toBe(sshd.hostKey);
      expect(s.hostKey.fingerprint).toBe(sshd.hostFingerprint);
    });
  });

  it("fails clearly when the connection drops mid-command", async () => {
    const s = await connect(sshd.connection(), { label: "web" });
    try {
      // The command kills its own sshd session process: the connection closes with no exit status.
      await expect(s.exec("kill -9 $PPID; sleep 5")).rejects.toThrow(
        `SSH connection to web at 127.0.0.1:${sshd.port} closed before the command reported its exit status`,
      );
    } finally {
      s.close();
    }
  });
});

describe("dial retries", () => {
  it("gives up on a closed port after exactly dialErrorLimit attempts, with a clear message", async () => {
    const port = await freePort();
    const seen: number[] = [];
    const started = Date.now();
    const err = await connect(
      { host: "127.0.0.1", port, privateKey: sshd.clientKey, dialErrorLimit: 3 },
      { label: "guest-x", baseDelayMs: 20, onDialError: (n) => seen.push(n) },
    ).catch((e) => e);
    expect(err).toBeInstanceOf(SshUnreachableError);
    expect(seen).toEqual([1, 2, 3]);
    expect((err as SshUnreachableError).attempts).toBe(3);
    expect(err.message).toContain(`guest-x at 127.0.0.1:${port}`);
    expect(err.message).toContain("after 3 attempts");
    expect(err.message).toContain("ECONNREFUSED");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("connects once sshd comes up during the retries", async () => {
    const late = await TestSshd.create({ start: false });
    try {
      const timer = setTimeout(() => void late.start(), 1_200);
      const failures: number[] = [];
      const s = await connect(late.connection({ dialErrorLimit: 10 }), {
        baseDelayMs: 100,
        maxDelayMs: 400,
        onDialError: (n) => failures.push(n),
      });
      clearTimeout(timer);
      try {
        expect(failures.length).toBeGreaterThan(0);
        expect(s.attempts).toBe(failures.length + 1);
        expect((await s.exec("echo up")).stdout).toBe("up\n");
      } finally {
        s.close();
      }
    } finally {
      await late.dispose();
    }
  });

  it("retries a host that accepts TCP but never speaks SSH (handshake timeout), within perDialTimeoutMs", async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      const err = await connect(
        { host: "127.0.0.1", port, privateKey: sshd.clientKey, dialErrorLimit: 2, perDialTimeoutMs: 300 },
        { baseDelayMs: 10 },
      ).catch((e) => e);
      expect(err).toBeInstanceOf(SshUnreachableError);
      expect(err.message).toContain("after 2 attempts (each dial limited to 300 ms)");
      expect(err.message).toContain("Timed out while waiting for handshake");
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      silent.close();
    }
  });

  it("does not retry an authentication failure", async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), "phx-key-"));
    require("node:child_process").execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(other, "k")]);
    const seen: number[] = [];
    const err = await connect(
      sshd.connection({ privateKey: fs.readFileSync(path.join(other, "k"), "utf8"), dialErrorLimit: 5 }),
      {
        onDialError: (n) => seen.push(n),
      },
    ).catch((e) => e);
    fs.rmSync(other, { recursive: true, force: true });
    expect(err).toBeInstanceOf(SshAuthError);
    expect(seen).toEqual([]);
    expect(err.message).toContain(`127.0.0.1:${sshd.port}`);
  });
});

describe("host-key pinning", () => {
  it("accepts the pinned key (OpenSSH form or SHA256 fingerprint) and rejects a rebuilt host's new key", async () => {
    const first = sshd.hostKey;
    await withSession(sshd.connection({ hostKey: `${first} some-comment` }), async (s) => expect(s.hostKey.openssh).toBe(first));
    await withSession(sshd.connection({ hostKey: sshd.hostFingerprint }), async (s) => expect(s.hostKey.openssh).toBe(first));
    const oldFingerprint = sshd.hostFingerprint;

    await sshd.restart({ newHostKey: true });
    const seen: number[] = [];
    const err = await connect(sshd.connection({ hostKey: first, dialErrorLimit: 5 }), {
      label: "node-1",
      onDialError: (n) => seen.push(n),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    expect(seen).toEqual([]);
    expect(err.message).toContain(`node-1 at 127.0.0.1:${sshd.port}`);
    expect(err.message).toContain(`expected ${oldFingerprint}`);
    expect(err.message).toContain(sshd.hostFingerprint);
    expect(err.message).toContain("set nodes[].ssh.hostKey to it");
    expect(err.message).toContain("pulumi up --replace <the URN of its <name>-host-key HostKeyPin>");

    // Unpinned, the first contact returns the new key for the caller to store.
    await withSession(sshd.connection(), async (s) => expect(s.hostKey.openssh).toBe(sshd.hostKey));
  });
});

describe("host-key algorithms", () => {
  it("refuses a host that signs only with ssh-rsa (SHA-1), pinned or not; the same RSA key with SHA-2 signatures connects", async () => {
    const sha1 = await TestSshd.create({ hostKeyType: "rsa", config: ["HostKeyAlgorithms ssh-rsa"] });
    try {
      expect(sha1.hostKey).toMatch(/^ssh-rsa AAAA/);
      for (const hostKey of [sha1.hostKey, undefined]) {
        const seen: number[] = [];
        const err = await connect(sha1.connection({ ...(hostKey ? { hostKey } : {}), dialErrorLimit: 3 }), {
          label: "old-node",
          onDialError: (n) => seen.push(n),
        }).catch((e) => e);
        expect(err).toBeInstanceOf(Error);
        expect(seen).toEqual([]);
        expect(err.message).toContain(`SSH to old-node at 127.0.0.1:${sha1.port} failed`);
        expect(err.message).toMatch(/no matching host key/i);
        expect(err.message).toContain("Phoenix refuses the host-key algorithms ssh-rsa and ssh-dss (SHA-1 and DSA signatures)");
      }
    } finally {
      await sha1.dispose();
    }
    const sha2 = await TestSshd.create({ hostKeyType: "rsa", config: ["HostKeyAlgorithms rsa-sha2-512,rsa-sha2-256"] });
    try {
      await withSession(sha2.connection({ hostKey: sha2.hostKey }), async (s) => {
        expect(s.hostKey.openssh).toBe(sha2.hostKey);
        expect((await s.exec("echo rsa-sha2")).stdout).toBe("rsa-sha2\n");
      });
    } finally {
      await sha2.dispose();
    }
  });
});

describe("keepalives", () => {
  it("a server that goes silent mid-command fails the command within interval × count, instead of hanging", async () => {
    const s = await connect(sshd.connection({ keepaliveIntervalMs: 200, keepaliveCountMax: 2 }), { label: "silent" });
    // The sshd process serving this connection: the parent of every command's shell.
    const server = Number((await s.exec("echo $PPID")).stdout.trim());
    expect(server).toBeGreaterThan(1);
    try {
      const started = Date.now();
      // The command freezes its own server process: the TCP connection stays open, nothing answers any more.
      const err = await s.exec("kill -STOP $PPID; sleep 3").catch((e) => e);
      const elapsed = Date.now() - started;
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toContain(
        `SSH connection to silent at 127.0.0.1:${sshd.port} closed before the command reported its exit status`,
      );
      expect(err.message).toContain("Keepalive timeout");
      expect(elapsed).toBeLessThan(2_500);
    } finally {
      s.close();
      // The session process may already be gone (sshd reaps a session whose client left); only a live one is resumed.
      for (const signal of ["SIGCONT", "SIGTERM"] as const) signalIfAlive(server, signal);
    }
  });
});

/** Sends a signal to a process that may have exited already. */
function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
  }
}

describe("runScript", () => {
  const secret = `hunter2 it's "quoted" $(touch ${"/tmp/phx-pwned"}) \`x\`\nsecond line-of-the-secret`;

  it("hands secrets over stdin: absent from every command line and environment, readable by the script, masked in the log", async () => {
    const log = openRunLog({ stack: "dev", resource: "secret-test" });
    const script = [
      "set -eu",
      'echo "self: $(tr "\\0" " " < /proc/$$/cmdline)"',
      'echo "parent: $(tr "\\0" " " < /proc/$PPID/cmdline)"',
      // Every process on the machine: none may carry the secret in argv or environment.
      "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null || true; echo; tr '\\0' ' ' < $p/environ 2>/dev/null || true; echo; done > \"$DUMP\"",
      'echo "sha=$(printf %s "$PHX_TOKEN" | sha256sum | cut -d" " -f1)"',
      'echo "exported=$(printenv PHX_TOKEN || echo no)"',
      'phx_secret_file PHX_TOKEN "$DUMP.secret"',
      'echo "mode=$(stat -c %a "$DUMP.secret")"',
      'echo "echoed: $PHX_TOKEN"',
    ].join("\n");
    const dump = path.join(work, "proc-dump");
    const res = await withSession(sshd.connection(), (s) =>
      runScript(s, script, { env: { DUMP: dump }, secretsEnv: { PHX_TOKEN: secret }, log }),
    );
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^self: bash -s \n/);
    expect(res.stdout).toContain(`sha=${sha(secret)}`);
    expect(res.stdout).toContain("exported=no");
    expect(res.stdout).toContain("mode=600");
    expect(res.stdout).toContain("echoed: [secret]");
    expect(fs.readFileSync(`${dump}.secret`, "utf8")).toBe(secret);
    const procs = fs.readFileSync(dump, "utf8");
    expect(procs).toContain("bash -s");
    expect(procs).not.toContain("hunter2");
    expect(procs).not.toContain("second line-of-the-secret");
    expect(fs.existsSync("/tmp/phx-pwned")).toBe(false);
    expect(res.stdout + res.stderr).not.toContain("hunter2");

    expect(log.path).toBe(path.join(logDir, "dev", "secret-test.log"));
    const text = fs.readFileSync(log.path!, "utf8");
    expect(text).toContain("echoed: [secret]");
    expect(text).toContain(`sha=${sha(secret)}`);
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("second line-of-the-secret");
    expect(fs.statSync(log.path!).mode & 0o777).toBe(0o600);
  });

  it("keeps the run's output in the log; a failure shows the last 20 lines and the log's path", async () => {
    const log = openRunLog({ stack: "dev", resource: "guest/web 1" });
    const script = 'for i in $(seq 1 30); do echo "line $i"; done; echo \'to stderr\' >&2; echo "token $TOKEN"; exit 4';
    const err = await withSession(
      sshd.connection(),
      (s) => runScript(s, script, { secretsEnv: { TOKEN: "tok-123456" }, log, title: "install" }),
      {
        label: "web",
      },
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ScriptError);
    expect(err.code).toBe(4);
    expect(err.message).toContain(`install failed on web at root@127.0.0.1:${sshd.port}: exit status 4`);
    expect(err.tail).toHaveLength(20);
    expect(err.message).toContain("line 30");
    expect(err.message).toContain("line 13");
    expect(err.message).not.toContain("line 12\n");
    expect(err.message).toContain("token [secret]");
    expect(err.message).not.toContain("tok-123456");
    expect(err.message).toContain(`full log: ${path.join(logDir, "dev", "guest_web_1.log")}`);
    const text = fs.readFileSync(log.path!, "utf8");
    for (let i = 1; i <= 30; i++) expect(text).toContain(`line ${i}\n`);
    expect(text).toContain("to stderr");
    expect(text).toMatch(/==== .* install on web root@127\.0\.0\.1:\d+ ====/);
    expect(text).toContain("==== exit 4 after");
    expect(logPath({ stack: "dev", resource: "../x" })).toBe(path.join(logDir, "dev", "__x.log"));
  });

  it("stops a script over its time limit, and fails with what ran, where and for how long", async () => {
    const log = openRunLog({ stack: "dev", resource: "slow" });
    const pidFile = path.join(work, "slow.pid");
    const started = Date.now();
    const err = await withSession(
      sshd.connection(),
      (s) =>
        runScript(s, `echo "installing"; sleep 30 & echo $! > "$PID_FILE"; wait`, {
          env: { PID_FILE: pidFile },
          log,
          title: "install",
          timeout: { seconds: 1, setting: "timeouts.docker of guest 'web'" },
        }),
      { label: "web" },
    ).catch((e) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(err).toBeInstanceOf(ScriptTimeoutError);
    expect(err.message).toMatch(
      new RegExp(
        `^install on web at root@127\\.0\\.0\\.1:${sshd.port} timed out: still running after \\d+\\.\\d s, over its limit of 1 s; ` +
          `it was stopped \\(raise timeouts\\.docker of guest 'web' if it needs longer\\)\n`,
      ),
    );
    expect(err.message).toContain("installing");
    expect(err.message).toContain(`full log: ${log.path}`);
    // The script's children went with it: timeout(1) stops the whole process group.
    const pid = Number(fs.readFileSync(pidFile, "utf8"));
    await new Promise((r) => setTimeout(r, 200));
    // Gone, or a zombie waiting for its new parent to reap it: either way no longer running.
    const state = fs.existsSync(`/proc/${pid}/stat`) ? fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]![0] : "gone";
    expect(["gone", "Z"]).toContain(state);
  });

  it("a command still running at the engine's own deadline: the connection is closed and the exec fails", async () => {
    const s = await connect(sshd.connection(), { label: "web" });
    try {
      const started = Date.now();
      const err = await s.exec("sleep 5", { timeoutMs: 300 }).catch((e) => e);
      expect(err).toBeInstanceOf(ExecTimeoutError);
      expect(err.message).toMatch(new RegExp(`^the command on web at 127\\.0\\.0\\.1:${sshd.port} was still running after 0 s`));
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      s.close();
    }
  });

  it("keeps commands in the script from reading the rest of it", async () => {
    const res = await withSession(sshd.connection(), (s) => runScript(s, "cat\necho after-cat\nread -r x || echo eof"));
    expect(res.stdout).toBe("after-cat\neof\n");
  });
});

describe("script provider", () => {
  const stateFile = () => path.join(work, "state.txt");
  const inputs = (over: Partial<RemoteScriptInputs> = {}): RemoteScriptInputs => ({
    connection: sshd.connection(),
    script: 'set -eu\nprintf "%s|%s\\n" "$CONTENT" "$(printf %s "$PASSWORD" | wc -c)" > "$FILE"\necho wrote',
    params: { FILE: stateFile(), CONTENT: "v1" },
    secrets: { PASSWORD: "pa55-w0rd-xyz" },
    checkScript: 'cat "$FILE"',
    deleteScript: 'rm -f "$FILE"',
    log: { stack: "dev", resource: "state-file" },
    ...over,
  });
  const provider = makeScriptProvider();

  it("create runs the script and stores hash, host key and check output, never a secret value", async () => {
    const { id, outs } = await provider.create(inputs());
    expect(id).toBe(`state-file@127.0.0.1:${sshd.port}`);
    expect(fs.readFileSync(stateFile(), "utf8")).toBe("v1|13\n");
    // The plaintext hash covers script and params only; the secrets' hash is a secret output of its own.
    expect(outs!.hash).toBe(contentHash(inputs().script!, { params: inputs().params, secrets: {} }));
    expect(outs!.secretsHash).toMatch(/^[0-9a-f]{64}$/);
    expect(outs!.hostKey).toBe(sshd.hostKey);
    expect(outs!.checkOutput).toBe("v1|13\n");
    expect(outs!.inSync).toBe(true);
    expect(outs!.secretNames).toEqual(["PASSWORD"]);
    sendable(outs);
    const { credentials, secretsHash: _secret, ...rest } = outs!;
    expect(credentials).toEqual({ privateKey: sshd.clientKey });
    const visible = JSON.stringify(rest);
    expect(visible).not.toContain("pa55-w0rd-xyz");
    expect(visible).not.toContain("PRIVATE KEY");
    expect(fs.readFileSync(path.join(logDir, "dev", "state-file.log"), "utf8")).toContain("wrote");
  });

  it("nothing readable in state or logs lets a secret be guessed: a dictionary of candidates matches no visible hash", async () => {
    const secret = "pa55-w0rd-xyz";
    const { outs } = await provider.create(inputs({ log: { stack: "dev", resource: "guessable" } }));
    const { credentials: _c, secretsHash: _s, ...visible } = outs!;
    const text = JSON.stringify(visible) + fs.readFileSync(path.join(logDir, "dev", "guessable.log"), "utf8");
    // The attack on the old state: hash every candidate the way the engine hashed script, params and secrets.
    for (const candidate of ["password", "hunter2", secret, "letmein"]) {
      const guess = contentHash(inputs().script!, { params: inputs().params, secrets: { PASSWORD: candidate } });
      expect(text).not.toContain(guess.slice(0, 12));
      expect(text).not.toContain(sha(candidate).slice(0, 12));
    }
    // The visible hash is the same whatever the secret is: it says nothing about it.
    const other = await provider.create(inputs({ secrets: { PASSWORD: "something-else" } }));
    expect(other.outs!.hash).toBe(outs!.hash);
    expect(other.outs!.secretsHash).not.toBe(outs!.secretsHash);
  });

  it("a state whose hash covers secrets (before this version): rewritten by an update that runs nothing, then no change", async () => {
    const { outs } = await provider.create(inputs());
    const legacy: RemoteScriptOutputs = {
      ...outs!,
      hash: contentHash(inputs().script!, { params: inputs().params, secrets: inputs().secrets }),
    };
    delete legacy.secretsHash;
    delete legacy.secretsRevision;
    expect(diffScript(legacy, inputs())).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    fs.writeFileSync(stateFile(), "untouched\n");
    // port 1: nothing may connect.
    const { outs: rewritten } = await provider.update!("id", legacy, { ...inputs(), connection: sshd.connection({ port: 1 }) });
    expect(fs.readFileSync(stateFile(), "utf8")).toBe("untouched\n");
    expect(rewritten!.hash).toBe(outs!.hash);
    expect(rewritten!.secretsHash).toBe(outs!.secretsHash);
    expect(diffScript(rewritten!, { ...inputs(), connection: sshd.connection({ port: 1 }) }).changes).toBe(false);
    // A secret changed together with the upgrade still runs the script.
    expect(diffScript(legacy, inputs({ secrets: { PASSWORD: "rotated" } })).changes).toBe(true);
    // States without secrets kept the same hash formula: no change at all on upgrade.
    const plain = await provider.create(inputs({ secrets: undefined }));
    expect(plain.outs!.secretsHash).toBeUndefined();
    expect(plain.outs!.hash).toBe(contentHash(inputs().script!, { params: inputs().params, secrets: {} }));
  });

  it("diff: same inputs → no change; hash or host change → update in place; triggers → replace", async () => {
    const { outs } = await provider.create(inputs());
    const olds = outs!;
    expect(diffScript(olds, inputs())).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    expect(await provider.diff!("id", olds, inputs({ params: { CONTENT: "v1", FILE: stateFile() } }))).toMatchObject({
      changes: false,
    });
    expect(await provider.diff!("id", olds, inputs({ params: { FILE: stateFile(), CONTENT: "v2" } }))).toMatchObject({
      changes: true,
      replaces: [],
    });
    expect(await provider.diff!("id", olds, inputs({ secrets: { PASSWORD: "rotated" } }))).toMatchObject({
      changes: true,
      replaces: [],
    });
    expect(await provider.diff!("id", olds, inputs({ script: "true" }))).toMatchObject({ changes: true, replaces: [] });
    expect(await provider.diff!("id", olds, inputs({ triggers: ["v2"] }))).toEqual({
      changes: true,
      replaces: ["triggers"],
      deleteBeforeReplace: true,
    });
    // How the host is reached is not identity: a new address updates in place.
    expect(await provider.diff!("id", olds, inputs({ connection: sshd.connection({ host: "127.0.0.2" }) }))).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  it("update re-runs the script when the hash changes, and only then", async () => {
    const { outs: olds } = await provider.create(inputs());
    const news = inputs({ params: { FILE: stateFile(), CONTENT: "v2" } });
    const { outs } = await provider.update!("id", olds!, news);
    expect(fs.readFileSync(stateFile(), "utf8")).toBe("v2|13\n");
    expect(outs!.hash).not.toBe(olds!.hash);
    expect(outs!.checkOutput).toBe("v2|13\n");
    sendable(outs);
    // Same hash: nothing runs, not even a connection.
    fs.writeFileSync(stateFile(), "untouched\n");
    const again = await provider.update!("id", outs!, { ...news, connection: { ...news.connection, port: 1 } });
    expect(fs.readFileSync(stateFile(), "utf8")).toBe("untouched\n");
    expect(again.outs!.connection.port).toBe(1);
    sendable(again.outs);
  });

  it("read runs the check script: no drift keeps the state, a change behind its back shows and the next update converges", async () => {
    const { id, outs } = await provider.create(inputs());
    const clean = await provider.read!(id, outs!);
    expect(clean.props).toEqual(outs);
    expect(diffScript(clean.props!, inputs()).changes).toBe(false);

    fs.writeFileSync(stateFile(), "tampered\n");
    const drifted = await provider.read!(id, outs!);
    expect(drifted.props!.checkOutput).toBe("tampered\n");
    expect(drifted.props!.inSync).toBe(false);
    sendable(drifted.props);
    expect(diffScript(drifted.props!, inputs())).toMatchObject({ changes: true, replaces: [] });
    const { outs: fixed } = await provider.update!(id, drifted.props!, inputs());
    expect(fs.readFileSync(stateFile(), "utf8")).toBe("v1|13\n");
    expect(fixed!.inSync).toBe(true);
  });

  it("read and update pin the host key seen at create", async () => {
    const { id, outs } = await provider.create(inputs());
    await sshd.restart({ newHostKey: true });
    await expect(provider.read!(id, outs!)).rejects.toBeInstanceOf(HostKeyMismatchError);
    await expect(provider.update!(id, outs!, inputs({ params: { FILE: stateFile(), CONTENT: "v3" } }))).rejects.toThrow(
      /host key mismatch/,
    );
  });

  it("create fails with the script's last lines and the log path", async () => {
    const err = await provider
      .create(inputs({ script: "echo starting; echo broken >&2; exit 2", log: { stack: "dev", resource: "broken" } }))
      .catch((e) => e);
    expect(err.message).toContain("exit status 2");
    expect(err.message).toContain("broken");
    expect(err.message).toContain(path.join(logDir, "dev", "broken.log"));
  });

  it("delete runs the delete script", async () => {
    const { id, outs } = await provider.create(inputs());
    expect(fs.existsSync(stateFile())).toBe(true);
    await provider.delete!(id, outs!);
    expect(fs.existsSync(stateFile())).toBe(false);
  });

  it("RemoteScript registers a phoenix:RemoteScript with its log target", async () => {
    const records = await installRecordingMocks("dev");
    new RemoteScript("hello", {
      connection: { host: "10.0.0.5", privateKey: pulumi.secret("PRIVATE") },
      script: "echo hi",
      secrets: { TOKEN: "t" },
    });
    await settle(records);
    const r = records.find((x) => x.name === "hello")!;
    expect(r.type).toBe("pulumi-nodejs:dynamic/phoenix:RemoteScript");
    expect(r.inputs["log"]).toEqual({ stack: "dev", resource: "hello" });
    expect(r.inputs["connection"].host).toBe("10.0.0.5");
    expect(r.inputs["script"]).toBe("echo hi");
    expect(r.additionalSecretOutputs.sort()).toEqual(["credentials", "secretsHash"]);
  });

  it("survives Pulumi's closure serialization and still works once deserialized", async () => {
    const sf = await pulumi.runtime.serializeFunction(() => provider, {
      allowSecrets: true,
    } as pulumi.runtime.SerializeFunctionArgs);
    expect(sf.text.length).toBeGreaterThan(0);
    expect(sf.text).not.toContain("pa55-w0rd-xyz");
    // What the dynamic provider host does: load the text as a module and call its handler.
    const mod = { exports: {} as Record<string, () => pulumi.dynamic.ResourceProvider<RemoteScriptInputs, RemoteScriptOutputs>> };
    const req = createRequire(path.join(__dirname, "..", "..", "index.js"));
    new Function("exports", "require", "module", sf.text)(mod.exports, req, mod);
    const revived = mod.exports[sf.exportName]!();
    const { outs } = await revived.create(inputs({ params: { FILE: stateFile(), CONTENT: "revived" } }));
    expect(fs.readFileSync(stateFile(), "utf8")).toBe("revived|13\n");
    expect((await revived.diff!("id", outs!, inputs({ params: { FILE: stateFile(), CONTENT: "revived" } }))).changes).toBe(false);
    // The serializer rewrites classes: the engine's errors must keep their message through it.
    const port = await freePort();
    const err = await revived.create(inputs({ connection: { host: "127.0.0.1", port, dialErrorLimit: 2 } })).catch((e) => e);
    expect(err.name).toBe("SshUnreachableError");
    expect(err.message).toContain(`state-file at 127.0.0.1:${port} over SSH: gave up after 2 attempts`);
    expect(err.stack).toContain("gave up");
    const failed = await revived.create(inputs({ script: "echo nope; exit 5" })).catch((e) => e);
    expect(failed.name).toBe("ScriptError");
    expect(failed.message).toContain("exit status 5");
    expect(failed.message).toContain("nope");
  });
});
