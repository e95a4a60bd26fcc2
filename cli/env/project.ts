// The project's environments: each Pulumi.<env>.yaml (a stack's config, naming its definition) beside Pulumi.yaml,
// its definition under stacks/, its deploy settings and agent policy; and the backend its stacks live on.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse } from "yaml";

export interface Environment {
  name: string;
  /** Pulumi.<env>.yaml, when there is one. */
  stackFile?: string;
  /** The definition, from the stack's phoenix:definition (stacks/<env>.yaml when the stack file is missing). */
  definition: string;
  deployFile?: string;
  agentFile?: string;
}

/** The directory holding Pulumi.yaml: `start` or the nearest parent. */
export function findProject(start = process.cwd()): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, "Pulumi.yaml"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no Pulumi.yaml in ${start} or any parent: run this in the project's directory`);
    dir = up;
  }
}

const STACK_FILE = /^Pulumi\.(.+)\.yaml$/;
const NOT_A_STACK = /\.(deploy|agent)$/;

export function stackFileOf(project: string, env: string): string {
  return join(project, `Pulumi.${env}.yaml`);
}

export function deployFileOf(project: string, env: string): string {
  return join(project, `Pulumi.${env}.deploy.yaml`);
}

export function agentFileOf(project: string, env: string): string {
  return join(project, "stacks", `${env}.agent.yaml`);
}

/** phoenix:definition of a stack file, relative to the project. */
export function definitionOf(stackFile: string): string | undefined {
  const cfg = (parse(readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {};
  const v = cfg["phoenix:definition"];
  return typeof v === "string" ? v : undefined;
}

/** Every environment: one per stack file, plus definitions under stacks/ that have none yet. */
export function environments(project: string): Environment[] {
  const byName = new Map<string, Environment>();
  for (const f of readdirSync(project).sort()) {
    const m = STACK_FILE.exec(f);
    if (!m || NOT_A_STACK.test(m[1]!)) continue;
    const stackFile = join(project, f);
    byName.set(m[1]!, { name: m[1]!, stackFile, definition: definitionOf(stackFile) ?? `stacks/${m[1]}.yaml` });
  }
  const stacks = join(project, "stacks");
  if (existsSync(stacks))
    for (const f of readdirSync(stacks).sort()) {
      const m = /^(.+)\.(ya?ml|json)$/.exec(f);
      if (!m || /\.(agent|lock|schema)$/.test(m[1]!) || byName.has(m[1]!)) continue;
      if ([...byName.values()].some((e) => resolve(project, e.definition) === join(stacks, f))) continue;
      byName.set(m[1]!, { name: m[1]!, definition: `stacks/${f}` });
    }
  return [...byName.values()].map((e) => ({
    ...e,
    ...(existsSync(deployFileOf(project, e.name)) ? { deployFile: deployFileOf(project, e.name) } : {}),
    ...(existsSync(agentFileOf(project, e.name)) ? { agentFile: agentFileOf(project, e.name) } : {}),
  }));
}

/** Where the stacks live: PULUMI_BACKEND_URL, else Pulumi.yaml's backend.url, else the project's .pulumi-state/. */
export function backendUrl(project: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.PULUMI_BACKEND_URL) return env.PULUMI_BACKEND_URL;
  const p = parse(readFileSync(join(project, "Pulumi.yaml"), "utf8")) as { backend?: { url?: string } } | null;
  return p?.backend?.url ?? `file://${join(project, ".pulumi-state")}`;
}

/** A valid environment name: a Pulumi stack name that is also a file name. */
export function checkEnvName(name: string): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) return "use letters, digits, '-', '_' and '.' (a Pulumi stack name)";
  if (NOT_A_STACK.test(name) || /\.(lock|schema)$/.test(name))
    return "the name must not end in .deploy, .agent, .lock or .schema";
  return undefined;
}
