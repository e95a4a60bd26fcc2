// What every verb of the \`phoenix\` command shares: where it writes, the usage error, and how problems are reported.
import { type Problem, errorsOf, formatProblem, warningsOf } from "../definition/problems";

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const stdio: Io = { out: (s) => process.stdout.write(s + "\n"), err: (s) => process.stderr.write(s + "\n") };

/** Bad arguments: exit 2 with the usage. */
export class UsageError extends Error {}

/** A stack, node or API the command cannot use as it is (not a bug): exit 1 with the message. */
export class CommandError extends Error {}

/** Prints errors then warnings, each with its path and fix; false when there are errors. */
export function report(io: Io, file: string, problems: Problem[]): boolean {
  const errors = errorsOf(problems);
  for (const p of [...errors, ...warningsOf(problems)]) io.err(formatProblem(p));
  if (errors.length > 0) {
    io.err(`${file}: invalid, ${errors.length} error(s)`);
    return false;
  }
  return true;
}
