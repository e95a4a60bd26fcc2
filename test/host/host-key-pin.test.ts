// One pinned host key per machine (provisioners/engine/host-key-pin.ts) against a real sshd on 127.0.0.1: recorded
// once, required by every later connection of every resource, written where the Proxmox provider's SSH reads it.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HostKeyMismatchError, makeScriptProvider } from "../../provisioners/engine";
import { hostKeyPinProvider } from "../../provisioners/engine/host-key-pin";
import { KnownHostsConflictError } from "../../provisioners/engine/known-hosts";
import { TestSshd } from "../support/sshd";

let sshd: TestSshd;
let home: string;
const saved = { HOME: process.env["HOME"], PHOENIX_LOG_DIR: process.env["PHOENIX_LOG_DIR"] };

beforeAll(async () => {
  sshd = await TestSshd.create();
}, 120_000);

beforeEach(() => {
  // The pin writes $HOME/.ssh/known_hosts, as the Proxmox provider reads it: a HOME of this test's own.
  home = fs.mkdtempSync(path.join(os.tmpdir(), "phx-home-"));
  process.env["HOME"] = home;
  process.env["PHOENIX_LOG_DIR"] = path.join(home, "logs");
});

afterAll(async () => {
  await sshd?.dispose();
  for (const [k, v] of Object.entries(saved))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
});

const knownHosts = () => path.join(home, ".ssh", "known_hosts");
const name = () => `[127.0.0.1]:${sshd.port}`;
const pinInputs = (extra: { hostKey?: string; port?: number } = {}) => ({
  connection: sshd.connection({
    ...(extra.hostKey ? { hostKey: extra.hostKey } : {}),
    ...(extra.port ? { port: extra.port } : {}),
  }),
  knownHosts: true,
  label: "node lab",
});

describe("HostKeyPin", () => {
  it("records the node's key at first contact and writes it where an OpenSSH client with strict checking accepts it", async () => {
    const { outs } = await hostKeyPinProvider.create(pinInputs());
    expect(outs!.hostKey).toBe(sshd.hostKey);
    expect(outs!.fingerprint).toBe(sshd.hostFingerprint);
    expect(fs.readFileSync(knownHosts(), "utf8")).toBe(`${name()} ${sshd.hostKey}\n`);
    expect(fs.statSync(knownHosts()).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(knownHosts())).mode & 0o777).toBe(0o700);
    // A real client that trusts nothing else: the entry is in the format known_hosts readers parse.
    const key = path.join(home, "client");
    fs.writeFileSync(key, sshd.clientKey, { mode: 0o600 });
    const ssh = spawnSync(
      "ssh",
      [
        ...["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts()}`],
        ...["-o", "GlobalKnownHostsFile=/dev/null", "-i", key, "-p", String(sshd.port)],
        `${os.userInfo().username}@127.0.0.1`,
        "echo pinned",
      ],
      { encoding: "utf8" },
    );
    expect(ssh.stderr).toBe("");
    expect(ssh.stdout).toBe("pinned\n");
  });

  it("takes the definition's key, and refuses a node presenting another one", async () => {
    const { outs } = await hostKeyPinProvider.create(pinInputs({ hostKey: sshd.hostFingerprint }));
    expect(outs!.hostKey).toBe(sshd.hostKey);
    const other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnAxQKWnTj0PHJBc5D5ynHTrl7u1dDRT6Tgl9j7UyQ1";
    const err = await hostKeyPinProvider.create(pinInputs({ hostKey: other })).catch((e) => e);
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    expect(err.message).toContain(`node lab at 127.0.0.1:${sshd.port}`);
  });

  it("every preview or up puts the pin into known_hosts on the machine running it, and stops at a conflicting entry", async () => {
    const { outs } = await hostKeyPinProvider.create(pinInputs());
    fs.rmSync(knownHosts());
    // Another operator's machine: no known_hosts yet. The diff (every preview and up) writes it.
    expect(await hostKeyPinProvider.diff!("id", outs!, pinInputs())).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
    expect(fs.readFileSync(knownHosts(), "utf8")).toBe(`${name()} ${sshd.hostKey}\n`);
    // A stale key for the same address, as a rebuilt or impersonated node leaves it.
    const stale = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnAxQKWnTj0PHJBc5D5ynHTrl7u1dDRT6Tgl9j7UyQ1";
    fs.writeFileSync(knownHosts(), `# mine\n${name()},other ${stale}\n`);
    const err = await hostKeyPinProvider.diff!("id", outs!, pinInputs()).catch((e) => e);
    expect(err).toBeInstanceOf(KnownHostsConflictError);
    expect(err.message).toContain(`${knownHosts()} line 2 holds another ssh-ed25519 key for ${name()}`);
    expect(err.message).toContain(sshd.hostFingerprint);
    expect(err.message).toContain(`ssh-keygen -R '${name()}' -f ${knownHosts()}`);
    expect(fs.readFileSync(knownHosts(), "utf8")).toBe(`# mine\n${name()},other ${stale}\n`);
  });

  it("a hashed entry of the same key counts as present (ssh-keygen -H)", async () => {
    fs.mkdirSync(path.dirname(knownHosts()), { recursive: true, mode: 0o700 });
    fs.writeFileSync(knownHosts(), `${name()} ${sshd.hostKey}\n`);
    execFileSync("ssh-keygen", ["-H", "-f", knownHosts()], { stdio: "ignore" });
    const hashed = fs.readFileSync(knownHosts(), "utf8");
    expect(hashed).toMatch(/^\|1\|/);
    await hostKeyPinProvider.create(pinInputs());
    expect(fs.readFileSync(knownHosts(), "utf8")).toBe(hashed);
  });

  it("a new address of the same node keeps the pin; the node's key is checked there", async () => {
    const { outs } = await hostKeyPinProvider.create(pinInputs());
    const moved = { ...pinInputs(), connection: { ...sshd.connection(), host: "localhost" } };
    expect((await hostKeyPinProvider.diff!("id", outs!, moved)).changes).toBe(true);
    const { outs: after } = await hostKeyPinProvider.update!("id", outs!, moved);
    expect(after!.hostKey).toBe(outs!.hostKey);
    expect(after!.address).toEqual({ host: "localhost", port: sshd.port, user: os.userInfo().username });
  });
});

describe("every resource of a node connects with the node's pin", () => {
  it("a resource created after the node's key changed refuses it, instead of pinning the new key on its own", async () => {
    const { outs: pin } = await hostKeyPinProvider.create(pinInputs());
    const provider = makeScriptProvider();
    const step = (n: string) => ({
      connection: sshd.connection(),
      hostKey: pin!.hostKey,
      script: "true",
      log: { stack: "t", resource: n },
    });
    const first = await provider.create(step("first"));
    expect(first.outs!.hostKey).toBe(pin!.hostKey);
    await sshd.restart({ newHostKey: true });
    // Before pins were shared, this resource's first contact would have trusted the new key.
    const err = await provider.create(step("second")).catch((e) => e);
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    expect(err.message).toContain(`expected ${pin!.fingerprint}`);
    expect(err.message).toContain(sshd.hostFingerprint);
  });
});
