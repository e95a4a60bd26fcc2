// `phoenix env new <env> [--from <env>]`: the definition (copied and moved off the source's vmids and addresses, or
// minimal), Pulumi.<env>.yaml, its deploy settings and agent policy; the stack initialised on the backend; the
// secrets it needs, as the commands that set them (the values go on stdin, never on the command line).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parse } from "yaml";
import { formatProblem, errorsOf } from "../../definition/problems";
import { buildPlan } from "../../plan/plan";
import { loadDefinition } from "../../validate";
import { readSiblings } from "../../validate/siblings";
import { UsageError, type Io } from "../io";
import { deriveDefinition, minimalDefinition } from "./derive";
import { defaultDeployFile, defaultAgentFile, renameInDeployFile } from "./deploy-file";
import { agentFileOf, backendUrl, checkEnvName, deployFileOf, environments, stackFileOf } from "./project";
import { pulumi, stackNames } from "./pulumi-cli";

export interface NewOptions {
  env: string;
  from?: string;
  project: string;
  /** Skip the backend (files only). */
  noInit?: boolean;
  secretsProvider?: string;
}

export function envNew(o: NewOptions, io: Io): number {
  const bad = checkEnvName(o.env);
  if (bad) throw new UsageError(`environment name '${o.env}': ${bad}`);
  const envs = environments(o.project);
  if (envs.some((e) => e.name === o.env) || existsSync(stackFileOf(o.project, o.env)))
    throw new UsageError(`environment '${o.env}' exists already (${relative(o.project, stackFileOf(o.project, o.env))})`);
  const defRel = `stacks/${o.env}.yaml`;
  const defFile = join(o.project, defRel);
  const source = o.from ? envs.find((e) => e.name === o.from) : undefined;
  if (o.from && !source) throw new UsageError(`no environment '${o.from}' to copy (have: ${envs.map((e) => e.name).join(", ")})`);

  if (source) {
    const derived = deriveDefinition(readFileSync(join(o.project, source.definition), "utf8"), readSiblings(defFile));
    writeFileSync(defFile, derived.text);
    io.out(`wrote ${defRel} (from ${source.definition})${derived.moves.length ? ":" : ""}`);
    for (const m of derived.moves) io.out(`  ${m}`);
  } else {
    writeFileSync(defFile, minimalDefinition(o.env));
    io.out(`wrote ${defRel} (minimal: one node, one bridge, no guest; point it at your node)`);
  }
  const loaded = loadDefinition(defFile, { siblings: true });
  if (!loaded.definition) {
    io.err(errorsOf(loaded.problems).map(formatProblem).join("\n"));
    io.err(`${defRel}: invalid; fix it, then run phoenix env new again after removing it`);
    return 1;
  }

  writeFileSync(stackFileOf(o.project, o.env), `config:\n  phoenix:definition: ${defRel}\n`);
  io.out(`wrote Pulumi.${o.env}.yaml`);
  const fromDeploy = source && existsSync(deployFileOf(o.project, source.name));
  writeFileSync(
    deployFileOf(o.project, o.env),
    fromDeploy
      ? renameInDeployFile(readFileSync(deployFileOf(o.project, source.name), "utf8"), source.name, o.env)
      : defaultDeployFile(o.env),
  );
  io.out(`wrote Pulumi.${o.env}.deploy.yaml`);
  const fromAgent = source && existsSync(agentFileOf(o.project, source.name));
  writeFileSync(
    agentFileOf(o.project, o.env),
    fromAgent
      ? readFileSync(agentFileOf(o.project, source.name), "utf8").replaceAll(source.name, o.env)
      : defaultAgentFile(o.env),
  );
  io.out(`wrote stacks/${o.env}.agent.yaml`);

  if (!o.noInit && !initStack(o, source?.name, io)) return 1;
  listSecrets(o.project, o.env, buildPlan(loaded.definition).secrets, io);
  return 0;
}

/** `pulumi stack init` on the backend; the source's config (secrets re-encrypted) when its stack exists there. */
function initStack(o: NewOptions, from: string | undefined, io: Io): boolean {
  const copy = from && stackNames(o.project).includes(from) ? ["--copy-config-from", from] : [];
  const provider = o.secretsProvider ? ["--secrets-provider", o.secretsProvider] : [];
  const r = pulumi(o.project, ["stack", "init", o.env, "--no-select", ...copy, ...provider]);
  if (r.code !== 0) {
    io.err(`pulumi stack init ${o.env} failed on ${backendUrl(o.project)}:\n${r.stderr.trim()}`);
    return false;
  }
  if (copy.length) {
    // The copied config names the source's definition.
    const set = pulumi(o.project, ["config", "set", "phoenix:definition", `stacks/${o.env}.yaml`, "--stack", o.env]);
    if (set.code !== 0) {
      io.err(set.stderr.trim());
      return false;
    }
  }
  io.out(
    `initialised stack '${o.env}' on ${backendUrl(o.project)}${copy.length ? ` (config and secrets copied from '${from}')` : ""}`,
  );
  return true;
}

function listSecrets(project: string, env: string, needed: string[], io: Io) {
  if (needed.length === 0) {
    io.out("secrets: none needed");
    return;
  }
  const cfg =
    (parse(readFileSync(stackFileOf(project, env), "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {};
  const missing = needed.filter((k) => !(`phoenix:${k}` in cfg));
  const have = needed.filter((k) => `phoenix:${k}` in cfg);
  if (have.length) io.out(`secrets already set: ${have.join(", ")}`);
  if (missing.length) {
    io.out(`secrets to set (each command reads the value from stdin, so it stays off the command line):`);
    for (const k of missing) io.out(`  pulumi config set --secret phoenix:${k} --stack ${env} < ${k}.txt`);
  }
}
