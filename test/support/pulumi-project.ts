// A Pulumi project directory outside the repository's tracked files whose program is this repository's
// index.ts, with a file:// backend of its own: tests and the demo never write stack files or state
// into tracked files. Its stack secrets are encrypted with a passphrase made for it (a 0600 file), and secret
// config values go to the pulumi CLI on stdin, never on a command line.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { ROOT, toolchainEnv } from "./toolchain";

export interface PulumiProject {
  dir: string;
  stack: Stack;
  definition: string;
  /** The environment the project's pulumi commands run with (toolchain on PATH, backend, passphrase file). */
  env: Record<string, string>;
  /** Sets phoenix:<key> as a secret: the value reaches pulumi on stdin, never a command line. */
  setSecret(key: string, value: string): Promise<void>;
  cleanup(): Promise<void>;
}

/** What stacks made before per-project passphrases were encrypted with; only ever used to open such a stack. */
const LEGACY_PASSPHRASE = "phoenix-test";

/**
 * The file holding the project's passphrase (PULUMI_CONFIG_PASSPHRASE_FILE): 0600, 32 random bytes, made on first
 * use. A project directory whose stacks predate these files keeps the passphrase they were made with.
 */
export function projectPassphraseFile(dir: string): string {
  const file = join(dir, ".pulumi-passphrase");
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    return file;
  }
  const stacks = join(dir, "state", ".pulumi", "stacks");
  const older = existsSync(stacks) && readdirSync(stacks).length > 0;
  writeFileSync(file, older ? LEGACY_PASSPHRASE : randomBytes(32).toString("base64url"), { mode: 0o600, flag: "wx" });
  return file;
}

/**
 * The environment for the project's pulumi commands. PULUMI_CONFIG_PASSPHRASE is removed: the CLI reads it before
 * the file, even when it is empty (undefined drops it from the inherited environment too).
 */
export function projectEnv(dir: string): Record<string, string> {
  return {
    ...toolchainEnv(),
    PULUMI_BACKEND_URL: `file://${join(dir, "state")}`,
    PULUMI_CONFIG_PASSPHRASE_FILE: projectPassphraseFile(dir),
    PULUMI_CONFIG_PASSPHRASE: undefined as unknown as string,
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
}

/** `pulumi config set --secret --raw <key>` with the value written to its stdin (the Automation API puts it in argv). */
export function setSecretConfig(o: { dir: string; stackName: string; env: Record<string, string>; key: string; value: string }) {
  return new Promise<void>((resolve, reject) => {
    const env = { ...process.env, ...o.env };
    delete env.PULUMI_CONFIG_PASSPHRASE;
    const args = ["config", "set", "--secret", "--raw", "--non-interactive", "--stack", o.stackName, o.key];
    const child = spawn("pulumi", args, { cwd: o.dir, env, stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`pulumi config set --secret ${o.key} failed (exit ${code}): ${stderr.trim()}`)),
    );
    child.stdin.end(o.value);
  });
}

/**
 * Copies `definitionFile` into a temp project (optionally rewritten by `edit`) and selects a stack
 * named `stackName` with the given secret config values.
 */
export async function pulumiProject(opts: {
  stackName: string;
  definitionFile: string;
  edit?: (text: string) => string;
  secrets?: Record<string, string>;
  /** A directory to keep (the demo's); a fresh temp directory, removed by cleanup(), when unset. */
  dir?: string;
}): Promise<PulumiProject> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "phoenix-pulumi-"));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const definition = join(dir, "definition.yaml");
  const text = readFileSync(opts.definitionFile, "utf8");
  writeFileSync(definition, opts.edit ? opts.edit(text) : text);
  // Relative references in the definition (AppArmor profiles, scripts, apps' compose files) resolve beside it.
  cpSync(join(ROOT, "stacks", "apparmor"), join(dir, "apparmor"), { recursive: true });
  cpSync(join(ROOT, "stacks", "apps"), join(dir, "apps"), { recursive: true });
  writeFileSync(
    join(dir, "Pulumi.yaml"),
    `name: phoenix\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: ${ROOT}\n`,
  );
  mkdirSync(join(dir, "state"), { recursive: true });
  const envVars: Record<string, string> = {
    ...projectEnv(dir),
    // Provisioning logs beside the project's state, not in the repository.
    PHOENIX_LOG_DIR: join(dir, "logs"),
    // A HOME of the project's own: the node's pinned host key goes into its .ssh/known_hosts, which the Proxmox
    // provider's SSH reads (labs come and go on reused ports with new keys; the user's known_hosts stays untouched).
    // Pulumi's plugins and credentials stay where they are.
    HOME: join(dir, "home"),
    PULUMI_HOME: process.env["PULUMI_HOME"] ?? join(homedir(), ".pulumi"),
  };
  mkdirSync(join(dir, "state"), { recursive: true });
  mkdirSync(join(dir, "home"), { recursive: true, mode: 0o700 });
  const stack = await LocalWorkspace.createOrSelectStack({ stackName: opts.stackName, workDir: dir }, { envVars });
  await stack.setConfig("phoenix:definition", { value: definition });
  const setSecret = (key: string, value: string) =>
    setSecretConfig({ dir, stackName: opts.stackName, env: envVars, key: `phoenix:${key}`, value });
  for (const [k, v] of Object.entries(opts.secrets ?? {})) await setSecret(k, v);
  const env = { ...process.env, ...envVars } as Record<string, string>;
  delete env.PULUMI_CONFIG_PASSPHRASE;
  return {
    dir,
    stack,
    definition,
    env,
    setSecret,
    cleanup: async () => {
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
