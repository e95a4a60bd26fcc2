// Runs the pulumi CLI for the env verbs: the project's directory, its backend, secrets only ever on stdin.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { backendUrl } from "./project";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment pulumi runs with: the project's backend, no update check. */
export function pulumiEnv(project: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const backend = backendUrl(project, base);
  // A file:// backend's directory must exist before pulumi uses it (file://~ and relative forms are pulumi's to resolve).
  if (backend.startsWith("file:///")) mkdirSync(fileURLToPath(backend), { recursive: true });
  const env: NodeJS.ProcessEnv = { ...base, PULUMI_BACKEND_URL: backend, PULUMI_SKIP_UPDATE_CHECK: "true" };
  // An empty PULUMI_CONFIG_PASSPHRASE would win over PULUMI_CONFIG_PASSPHRASE_FILE (the CLI checks it first).
  if (env.PULUMI_CONFIG_PASSPHRASE === "" && env.PULUMI_CONFIG_PASSPHRASE_FILE) delete env.PULUMI_CONFIG_PASSPHRASE;
  return env;
}

export function pulumi(project: string, args: string[], o: { input?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync("pulumi", [...args, "--non-interactive"], {
    cwd: project,
    env: pulumiEnv(project, o.env),
    input: o.input ?? "",
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error)
    throw new Error(
      `cannot run pulumi (${(r.error as NodeJS.ErrnoException).code}): install it or run scripts/bootstrap-toolchain.sh`,
    );
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Stack names on the backend. */
export function stackNames(project: string): string[] {
  const r = pulumi(project, ["stack", "ls", "--json"]);
  if (r.code !== 0) throw new Error(`pulumi stack ls failed: ${r.stderr.trim()}`);
  return (JSON.parse(r.stdout) as { name: string }[]).map((s) => s.name.split("/").pop()!);
}
