// A Pulumi project directory outside the repository's tracked files whose program is this repository's
// index.ts, with a file:// backend of its own: tests and the demo never write stack files or state
// into tracked files.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { ROOT, toolchainEnv } from "./toolchain";

export interface PulumiProject {
  dir: string;
  stack: Stack;
  definition: string;
  /** The environment the project's pulumi commands run with (toolchain on PATH, backend, passphrase). */
  env: Record<string, string>;
  cleanup(): Promise<void>;
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
  mkdirSync(dir, { recursive: true });
  const definition = join(dir, "definition.yaml");
  const text = readFileSync(opts.definitionFile, "utf8");
  writeFileSync(definition, opts.edit ? opts.edit(text) : text);
  // Relative references in the definition (AppArmor profiles, scripts) resolve beside it.
  cpSync(join(ROOT, "stacks", "apparmor"), join(dir, "apparmor"), { recursive: true });
  writeFileSync(
    join(dir, "Pulumi.yaml"),
    `name: phoenix\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: ${ROOT}\n`,
  );
  const envVars: Record<string, string> = {
    ...toolchainEnv(),
    PULUMI_BACKEND_URL: `file://${join(dir, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: "phoenix-test",
    PULUMI_SKIP_UPDATE_CHECK: "true",
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
  for (const [k, v] of Object.entries(opts.secrets ?? {})) await stack.setConfig(`phoenix:${k}`, { value: v, secret: true });
  return {
    dir,
    stack,
    definition,
    env: { ...process.env, ...envVars } as Record<string, string>,
    cleanup: async () => {
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
