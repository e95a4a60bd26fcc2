// The `phoenix` command: validate, import, plan, adopt, schema, env, agent, and the day-two verbs on a stack (backups,
// restore, rollback, run-job). Exit 0 ok, 1 invalid input (or refused, or a failed operation), 2 usage error.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { backupsCmd, restoreCmd, rollbackCmd, runJobCmd } from "./day-two";
import { CommandError, type Io, UsageError, report, stdio } from "./io";
import { ImportError, importPhoenix, readJson, readStackDir, toYaml } from "./import";
import { readLockOptions, writeLock } from "../definition/lock";
import { placementsOf } from "../plan/moves";
import { buildPlan } from "../plan/plan";
import { renderPlan } from "../plan/render";
import { DefinitionError, warningsOf } from "../definition/problems";
import { Definition } from "../definition/schema";
import { loadDefinition } from "../validate";
import { ENV_USAGE, envCommand } from "./env";
import { AGENT_USAGE, agentCommand } from "./agent";
import { CHECK_USAGE, checkCommand } from "./check/gpu";
import { adoptCmd } from "./adopt";
import { planStackCmd } from "./plan-stack";

export const USAGE = `usage:
  phoenix validate <definition.yaml>
  phoenix plan <definition.yaml> [--json] [--write-lock]
  phoenix plan --stack <env> [--json]          (in the project directory: what the next up replaces or deletes)
  phoenix adopt --stack <env> [--rebuild <guest>]…   (in the project directory: take over what runs on the node)
  phoenix import --hypervisor <phoenix_hypervisor_config.json> --lxc <phoenix_lxc_configs.json> [--vm <phoenix_vm_configs.json>] --out <definition.yaml> [--node <name>]
                 [--stacks <the original's stacks/ directory> [--stacks-config <phoenix_stacks_config.json>] [--environment production]]
  phoenix schema [--out <file>]
  phoenix backups [<guest>] --stack <name> [--json]
  phoenix restore <guest> [--backup <volid>] [--storage <id>] --stack <name>
  phoenix rollback <guest> [<snapshot>] --stack <name>
  phoenix run-job <job-id> --stack <name>
${CHECK_USAGE}
${ENV_USAGE}
${AGENT_USAGE}
  phoenix lab up|down|status|reset [--definition stacks/dev.yaml] [--state-dir <dir>]`;

/** A verb served outside the product (the launcher adds `lab`, which lives in lab/ and is never imported here). */
export type ExtraCommand = (args: string[], io: Io) => Promise<number> | number;

export async function main(argv: string[], io: Io = stdio, extra: Record<string, ExtraCommand> = {}): Promise<number> {
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case "validate":
        return validateCmd(rest, io);
      case "plan":
        return await planCmd(rest, io);
      case "adopt":
        return await adoptCmd(rest, io);
      case "import":
        return importCmd(rest, io);
      case "schema":
        return schemaCmd(rest, io);
      case "backups":
        return await onStack(() => backupsCmd(rest, io), io);
      case "restore":
        return await onStack(() => restoreCmd(rest, io), io);
      case "rollback":
        return await onStack(() => rollbackCmd(rest, io), io);
      case "run-job":
        return await onStack(() => runJobCmd(rest, io), io);
      case "env":
        return envCommand(rest, io);
      case "agent":
        return await agentCommand(rest, io);
      case "check":
        return checkCommand(rest, io);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        if (extra[command]) return await extra[command](rest, io);
        if (command === "lab")
          throw new UsageError("`phoenix lab` is the test lab's verb: run it through the phoenix launcher (npx phoenix lab …)");
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.err(`phoenix: ${(e as Error).message}\n${USAGE}`);
      return 2;
    }
    if (e instanceof DefinitionError) {
      report(io, e.source, e.problems);
      return 1;
    }
    if (e instanceof ImportError || e instanceof CommandError) {
      io.err(`phoenix: ${e.message}`);
      return 1;
    }
    io.err(
      `phoenix: internal error: ${(e as Error).message}${process.env.PHOENIX_DEBUG ? `\n${(e as Error).stack}` : " (set PHOENIX_DEBUG=1 for a stack trace)"}`,
    );
    return 3;
  }
}

/** A verb on a stack: what goes wrong on the stack or the node is said and exits 1 (usage errors still exit 2). */
async function onStack(verb: () => Promise<number>, io: Io): Promise<number> {
  try {
    return await verb();
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) throw e;
    io.err(`phoenix: ${(e as Error).message}`);
    return 1;
  }
}

type ArgOptions = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>["options"]>;

function oneFile(args: string[], options: ArgOptions = {}) {
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
  if (positionals.length !== 1)
    throw new UsageError(positionals.length ? "expected one definition file" : "missing the definition file");
  return { file: positionals[0]!, values };
}

function validateCmd(args: string[], io: Io): number {
  const { file } = oneFile(args);
  const r = loadDefinition(file, { siblings: true });
  if (!report(io, file, r.problems)) return 1;
  const d = r.definition!;
  const warnings = warningsOf(r.problems).length;
  io.out(
    `${file}: valid (${d.nodes.length} node(s), ${d.templates.length} template(s), ${d.guests.length} guest(s)${d.apps.length ? `, ${d.apps.length} app(s)` : ""}${warnings ? `, ${warnings} warning(s)` : ""})`,
  );
  return 0;
}

async function planCmd(args: string[], io: Io): Promise<number> {
  const options = { json: { type: "boolean" }, "write-lock": { type: "boolean" }, stack: { type: "string" } } as const;
  const parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  if (parsed.values.stack !== undefined) {
    if (parsed.positionals.length) throw new UsageError("plan --stack takes the stack's definition from its config: no file");
    return planStackCmd(parsed.values.stack, io, parsed.values.json === true);
  }
  const { file, values } = oneFile(args, options);
  const r = loadDefinition(file);
  if (!report(io, file, r.problems)) return 1;
  const plan = buildPlan(r.definition!, readLockOptions(file));
  if (values["write-lock"] && writeLock(file, plan.allocations, placementsOf(plan)))
    io.err(`wrote the allocations and placements to the lock file beside ${file}`);
  io.out(values.json ? JSON.stringify(plan, null, 2) : renderPlan(plan));
  return 0;
}

function importCmd(args: string[], io: Io): number {
  const { values, positionals } = parseArgs({
    args,
    options: {
      hypervisor: { type: "string" },
      lxc: { type: "string" },
      vm: { type: "string" },
      out: { type: "string" },
      node: { type: "string" },
      stacks: { type: "string" },
      "stacks-config": { type: "string" },
      environment: { type: "string" },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  for (const k of ["hypervisor", "lxc", "out"] as const) if (!values[k]) throw new UsageError(`missing --${k}`);
  const sources = [values.hypervisor!, values.lxc!, ...(values.vm ? [values.vm] : [])];
  const result = importPhoenix({
    hypervisor: { file: values.hypervisor!, json: readJson(values.hypervisor!) },
    lxc: { file: values.lxc!, json: readJson(values.lxc!) },
    ...(values.vm ? { vm: { file: values.vm, json: readJson(values.vm) } } : {}),
    ...(values.node ? { node: values.node } : {}),
    ...(values.stacks
      ? {
          stacks: {
            stacks: readStackDir(values.stacks),
            ...(values["stacks-config"]
              ? { config: { file: values["stacks-config"], json: readJson(values["stacks-config"]) } }
              : {}),
            ...(values.environment ? { environment: values.environment } : {}),
          },
        }
      : {}),
  });
  for (const w of result.warnings) io.err(`warning: ${w.where}: ${w.message}${w.fix ? `\n  fix: ${w.fix}` : ""}`);
  writeFileSync(values.out!, toYaml(result, sources));
  // Apps' compose files and templates, beside the definition (their paths are relative to it).
  for (const [rel, text] of Object.entries(result.files)) {
    const p = join(dirname(values.out!), rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  const d = result.definition;
  io.out(
    `wrote ${values.out}: ${d.templates?.length ?? 0} template(s), ${d.guests?.length ?? 0} guest(s)${d.apps?.length ? `, ${d.apps.length} app(s)` : ""}` +
      `${Object.keys(result.files).length ? ` and ${Object.keys(result.files).length} app file(s) beside it` : ""}; ${result.warnings.length} warning(s) above`,
  );
  io.err(
    "next, to take over the host as it runs: a stack with phoenix:definition set to it and its secrets, then " +
      "phoenix adopt --stack <env> in the project directory (README: Adopting a running host)",
  );
  return 0;
}

export function definitionJsonSchema(): unknown {
  return z.toJSONSchema(Definition, { io: "input", target: "draft-2020-12" });
}

function schemaCmd(args: string[], io: Io): number {
  const { values, positionals } = parseArgs({ args, options: { out: { type: "string" } }, strict: true, allowPositionals: true });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const text = JSON.stringify(definitionJsonSchema(), null, 2) + "\n";
  if (values.out) {
    writeFileSync(values.out, text);
    io.out(`wrote ${values.out}`);
  } else io.out(text.trimEnd());
  return 0;
}
