// Runs a feature's real script with bash in a temp dir: PHX_ROOT is the guest's (or node's) filesystem, and PATH holds
// only the recording test doubles of test/support/guest-doubles plus a fixed set of harmless system tools, so a
// command the doubles do not cover fails instead of touching this machine.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "vitest";
import { buildScriptStdin } from "../../provisioners/engine/run-script";

const DOUBLES = path.join(__dirname, "guest-doubles");
const TOOLS = [
  "bash",
  "cat",
  "grep",
  "sed",
  "awk",
  "mkdir",
  "mv",
  "rm",
  "chmod",
  "sort",
  "cmp",
  "sha256sum",
  "tr",
  "cut",
  "head",
  "tail",
  "dirname",
  "basename",
  "mktemp",
  "touch",
  "wc",
  "seq",
  "find",
  "ln",
  "stat",
  "flock",
  "timeout",
];

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The test doubles' calls of this run, "name arg arg…". */
  calls: string[];
}

export class GuestSandbox {
  readonly dir: string;
  readonly root: string;
  readonly state: string;
  private readonly dynbin: string;
  private readonly tools: string;
  private readonly callsFile: string;

  constructor(os_release = 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "phx-guest-"));
    this.root = path.join(this.dir, "root");
    this.state = path.join(this.dir, "state");
    this.dynbin = path.join(this.dir, "dynbin");
    this.tools = path.join(this.dir, "tools");
    this.callsFile = path.join(this.dir, "calls");
    for (const d of [
      this.root,
      this.state,
      this.dynbin,
      this.tools,
      path.join(this.root, "etc/apt/sources.list.d"),
      path.join(this.root, "tmp"),
    ])
      fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(this.root, "etc/os-release"), os_release);
    fs.writeFileSync(
      path.join(this.root, "etc/apt/sources.list"),
      "deb http://10.100.0.1:3142/deb.debian.org/debian bookworm main\ndeb http://10.100.0.1:3142/security.debian.org bookworm-security main\n",
    );
  }

  /** Puts one more real system tool on the script's PATH (jq, say), for scripts that need it and no double. */
  addTool(name: string): void {
    const real = ["/usr/bin", "/bin"].map((d) => path.join(d, name)).find((p) => fs.existsSync(p));
    if (!real) throw new Error(`system tool ${name} not found`);
    fs.symlinkSync(real, path.join(this.tools, name));
  }

  /** The fixed set of system tools, linked once per process into a directory every sandbox puts on its PATH. */
  private static sharedTools(): string {
    if (GuestSandbox.shared) return GuestSandbox.shared;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "phx-tools-"));
    for (const t of TOOLS) {
      const real = ["/usr/bin", "/bin"].map((d) => path.join(d, t)).find((p) => fs.existsSync(p));
      if (!real) throw new Error(`system tool ${t} not found`);
      fs.symlinkSync(real, path.join(dir, t));
    }
    process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    return (GuestSandbox.shared = dir);
  }
  private static shared: string | undefined;

  /** A file under the sandbox's root, e.g. "etc/docker/daemon.json". */
  file(rel: string): string {
    return path.join(this.root, rel);
  }

  read(rel: string): string {
    return fs.readFileSync(this.file(rel), "utf8");
  }

  write(rel: string, text: string): void {
    fs.mkdirSync(path.dirname(this.file(rel)), { recursive: true });
    fs.writeFileSync(this.file(rel), text);
  }

  /** Puts state the doubles read: "candidate-nvidia-smi", "ct-running", "apt-locked", … */
  setState(name: string, text = ""): void {
    fs.writeFileSync(path.join(this.state, name), text);
  }

  hasState(name: string): boolean {
    return fs.existsSync(path.join(this.state, name));
  }

  /** Runs a script as the engine sends it: params exported, secrets as shell variables read from stdin. */
  run(script: string, params: Record<string, string>, secrets: Record<string, string> = {}): RunResult {
    fs.writeFileSync(this.callsFile, "");
    const r = spawnSync(path.join(GuestSandbox.sharedTools(), "bash"), ["-s"], {
      input: this.stdin(script, params, secrets),
      encoding: "utf8",
      timeout: 30_000,
      env: this.env(),
    });
    if (r.error) throw r.error;
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, calls: this.calls() };
  }

  /**
   * The same as run, without blocking: sandboxes of one test file can run side by side, and a script can run while
   * the test does something else.
   */
  runAsync(script: string, params: Record<string, string>, secrets: Record<string, string> = {}): Promise<RunResult> {
    fs.writeFileSync(this.callsFile, "");
    // The same stdin the engine sends, from a file: bash's `read -d ''` takes a pipe one byte per system call, a
    // file in blocks (the scripts and 100 kB values these runs carry made that most of their time).
    const stdinFile = path.join(this.dir, "stdin");
    fs.writeFileSync(stdinFile, this.stdin(script, params, secrets));
    const fd = fs.openSync(stdinFile, "r");
    return new Promise((resolve, reject) => {
      const child = spawn(path.join(GuestSandbox.sharedTools(), "bash"), ["-s"], {
        env: this.env(),
        timeout: 30_000,
        stdio: [fd, "pipe", "pipe"],
      });
      fs.closeSync(fd);
      let stdout = "";
      let stderr = "";
      child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code, signal) =>
        signal === "SIGTERM" && code === null
          ? reject(new Error(`script timed out after 30 s\n${stderr.slice(-2000)}`))
          : resolve({ code: code ?? -1, stdout, stderr, calls: this.calls() }),
      );
    });
  }

  private stdin(script: string, params: Record<string, string>, secrets: Record<string, string>): string {
    return buildScriptStdin(script, { ...params, PHX_ROOT: this.root, PHX_APT_LOCK_DELAY: "0", PHX_POLL_DELAY: "0" }, secrets);
  }

  private env(): NodeJS.ProcessEnv {
    return {
      // this.tools: tools one sandbox adds (addTool), before the shared set.
      PATH: [DOUBLES, this.dynbin, this.tools, GuestSandbox.sharedTools()].join(":"),
      CALLS: this.callsFile,
      DOUBLES_STATE: this.state,
      DOUBLES_DYNBIN: this.dynbin,
      HOME: this.dir,
      LANG: "C",
    };
  }

  private calls(): string[] {
    return fs
      .readFileSync(this.callsFile, "utf8")
      .split("\n")
      .filter((l) => l !== "");
  }

  /** A command on the script's PATH ahead of the system tools: a wrapper written by the test. */
  addCommand(name: string, script: string): void {
    fs.writeFileSync(path.join(this.dynbin, name), script, { mode: 0o755 });
  }

  /** The real path of a system tool the sandbox offers (for a wrapper to run it). */
  toolPath(name: string): string {
    const own = path.join(this.tools, name);
    return fs.realpathSync(fs.existsSync(own) ? own : path.join(GuestSandbox.sharedTools(), name));
  }

  dispose(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The run, after asserting it exited 0 (its output in the failure message otherwise). */
export function ok(r: RunResult): RunResult {
  expect(r.code, `exit ${r.code}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

/** The doubles' calls matching a pattern, e.g. /^docker run/. */
export const named = (r: RunResult, re: RegExp) => r.calls.filter((c) => re.test(c));
