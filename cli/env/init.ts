// `phoenix env init [<env>...]`: initialise the stacks of existing environments on the configured backend (a new
// machine, a new backend); those that exist are left alone. Lists each one's secrets still to set.
import { UsageError, type Io } from "../io";
import { loadDefinition } from "../../validate";
import { buildPlan } from "../../plan/plan";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { backendUrl, environments, stackFileOf } from "./project";
import { pulumi, stackNames } from "./pulumi-cli";

export function envInit(project: string, names: string[], io: Io): number {
  const envs = environments(project).filter((e) => e.stackFile);
  const unknown = names.filter((n) => !envs.some((e) => e.name === n));
  if (unknown.length) throw new UsageError(`no Pulumi.<env>.yaml for: ${unknown.join(", ")}`);
  const existing = new Set(stackNames(project));
  let failed = 0;
  for (const e of envs.filter((x) => names.length === 0 || names.includes(x.name))) {
    if (!existing.has(e.name)) {
      const r = pulumi(project, ["stack", "init", e.name, "--no-select"]);
      if (r.code !== 0) {
        io.err(`${e.name}: pulumi stack init failed: ${r.stderr.trim()}`);
        failed++;
        continue;
      }
      io.out(`${e.name}: initialised on ${backendUrl(project)}`);
    } else io.out(`${e.name}: already on ${backendUrl(project)}`);
    const loaded = loadDefinition(join(project, e.definition));
    if (!loaded.definition) continue;
    const cfg =
      (parse(readFileSync(stackFileOf(project, e.name), "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {};
    for (const k of buildPlan(loaded.definition).secrets.filter((s) => !(`phoenix:${s}` in cfg)))
      io.out(`  pulumi config set --secret phoenix:${k} --stack ${e.name} < ${k}.txt`);
  }
  return failed ? 1 : 0;
}
