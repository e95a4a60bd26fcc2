// A throwaway OpenSSH server on 127.0.0.1 for tests: own host and client keys in a temp dir, run as the current user.
import { keygen as labKeygen, sshdConfig } from "../../lab/host/sshd";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Connection } from "../../provisioners/engine";

export const SSHD = "/usr/sbin/sshd";
const ROOT = path.resolve(__dirname, "../..");

/** Installs openssh-server through scripts/ensure-apt.sh when sshd is missing. */
export function ensureSshd(): void {
  if (fs.existsSync(SSHD)) return;
  execFileSync("bash", [path.join(ROOT, "scripts/ensure-apt.sh"), "openssh-server"], { stdio: "inherit", timeout: 300_000 });
  if (!fs.existsSync(SSHD)) throw new Error(`${SSHD} still missing after installing openssh-server`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A fresh key every time (tests change the host key on purpose); the lab's keygen keeps an existing one. */
function keygen(file: string, comment: string): void {
  for (const f of [file, `${file}.pub`]) fs.rmSync(f, { force: true });
  labKeygen(file, comment);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export interface TestSshdOptions {
  /** Default true. */
  start?: boolean;
  /** The host key's type: ed25519 (default) or rsa (3072 bits). */
  hostKeyType?: "ed25519" | "rsa";
  /** More sshd_config lines, e.g. "HostKeyAlgorithms ssh-rsa". */
  config?: string[];
}

export class TestSshd {
  readonly dir: string;
  readonly port: number;
  /** Private key (OpenSSH PEM) of a client key in authorized_keys. */
  readonly clientKey: string;
  private readonly hostKeyFile: string;
  private proc: ChildProcess | undefined;
  private stderr = "";

  private constructor(dir: string, port: number, opts: TestSshdOptions) {
    this.dir = dir;
    this.port = port;
    this.hostKeyFile = this.file(`host_${opts.hostKeyType ?? "ed25519"}`);
    if (opts.hostKeyType === "rsa")
      execFileSync("ssh-keygen", ["-q", "-t", "rsa", "-b", "3072", "-N", "", "-C", "phx-test-host", "-f", this.hostKeyFile]);
    else keygen(this.hostKeyFile, "phx-test-host");
    keygen(this.file("client_ed25519"), "phx-test-client");
    fs.copyFileSync(this.file("client_ed25519.pub"), this.file("authorized_keys"));
    this.clientKey = fs.readFileSync(this.file("client_ed25519"), "utf8");
    // The same sshd configuration as the lab node's: loopback only, keys in this directory, root by key.
    const config = sshdConfig({ port, dir }).replace(this.file("host_ed25519"), this.hostKeyFile);
    fs.writeFileSync(this.file("sshd_config"), config + (opts.config ?? []).map((l) => `${l}\n`).join(""));
  }

  /** A server on a free port; started unless start is false. */
  static async create(opts: TestSshdOptions = {}): Promise<TestSshd> {
    ensureSshd();
    const d = new TestSshd(fs.mkdtempSync(path.join(os.tmpdir(), "phx-sshd-")), await freePort(), opts);
    if (opts.start !== false) await d.start();
    return d;
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** The host public key, OpenSSH "type base64" form. */
  get hostKey(): string {
    return fs.readFileSync(`${this.hostKeyFile}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  }

  get hostFingerprint(): string {
    return execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${this.hostKeyFile}.pub`], { encoding: "utf8" }).split(
      /\s+/,
    )[1]!;
  }

  connection(extra: Partial<Connection> = {}): Connection {
    return { host: "127.0.0.1", port: this.port, user: os.userInfo().username, privateKey: this.clientKey, ...extra };
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    // sshd running as root insists on its privilege-separation directory.
    if (process.getuid?.() === 0) fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    this.stderr = "";
    const proc = spawn(SSHD, ["-D", "-e", "-f", this.file("sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
    this.proc = proc;
    proc.stderr!.on("data", (b: Buffer) => {
      this.stderr += b.toString();
    });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`sshd exited (${proc.exitCode ?? proc.signalCode}): ${this.stderr}`);
      if (await canConnect(this.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.stop();
    throw new Error(`sshd did not listen on 127.0.0.1:${this.port} within 10 s: ${this.stderr}`);
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }

  /** Restart, with a newly generated host key when asked (a "rebuilt" machine). */
  async restart(opts: { newHostKey?: boolean } = {}): Promise<void> {
    await this.stop();
    if (opts.newHostKey) keygen(this.hostKeyFile, "phx-test-host-rebuilt");
    await this.start();
  }

  /** The server's log so far (sshd -e). */
  get log(): string {
    return this.stderr;
  }

  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
