// The `phoenix env` verb: new, list, init, changed.
import { parseArgs } from "node:util";
import { UsageError, type Io } from "../io";
import { envChanged } from "./changed";
import { DeriveError } from "./derive";
import { envInit } from "./init";
import { envList } from "./list";
import { envNew } from "./new";
import { findProject } from "./project";

export const ENV_USAGE = `  phoenix env new <env> [--from <env>] [--no-init] [--secrets-provider <url>]
  phoenix env list [--json]
  phoenix env init [<env>...]
  phoenix env changed <base-commit> [<head-commit>] [--json]`;

export function envCommand(args: string[], io: Io): number {
  try {
    return envVerb(args, io);
  } catch (e) {
    if (!(e instanceof DeriveError)) throw e;
    io.err(`phoenix env: ${e.message}`);
    return 1;
  }
}

function envVerb(args: string[], io: Io): number {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      from: { type: "string" },
      "no-init": { type: "boolean" },
      "secrets-provider": { type: "string" },
      json: { type: "boolean" },
      project: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  const project = findProject(values.project);
  switch (sub) {
    case "new":
      if (positionals.length !== 1) throw new UsageError("phoenix env new takes one environment name");
      return envNew(
        {
          env: positionals[0]!,
          project,
          ...(values.from ? { from: values.from } : {}),
          ...(values["no-init"] ? { noInit: true } : {}),
          ...(values["secrets-provider"] ? { secretsProvider: values["secrets-provider"] } : {}),
        },
        io,
      );
    case "list":
      return envList(project, values.json ?? false, io);
    case "init":
      return envInit(project, positionals, io);
    case "changed":
      if (positionals.length < 1 || positionals.length > 2) throw new UsageError("phoenix env changed <base> [<head>]");
      return envChanged(project, positionals[0]!, positionals[1] ?? "HEAD", values.json ?? false, io);
    default:
      throw new UsageError(sub ? `unknown env command '${sub}'` : "phoenix env needs a command: new, list, init or changed");
  }
}
