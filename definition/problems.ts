// A problem found in a definition: where (field path), what, and how to fix it.
export type Severity = "error" | "warning";

export interface Problem {
  severity: Severity;
  /** Field path in the definition, e.g. guests[2].features.vllm.port ("" for the whole file). */
  path: string;
  message: string;
  fix?: string;
}

export function error(path: string, message: string, fix?: string): Problem {
  return { severity: "error", path, message, ...(fix ? { fix } : {}) };
}

export function warning(path: string, message: string, fix?: string): Problem {
  return { severity: "warning", path, message, ...(fix ? { fix } : {}) };
}

export function formatPath(segments: readonly PropertyKey[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(String(s))) out += out ? `.${String(s)}` : String(s);
    else out += `[${JSON.stringify(String(s))}]`;
  }
  return out;
}

export function formatProblem(p: Problem): string {
  const where = p.path ? `${p.path}: ` : "";
  return `${p.severity}: ${where}${p.message}${p.fix ? `\n  fix: ${p.fix}` : ""}`;
}

export const errorsOf = (ps: readonly Problem[]) => ps.filter((p) => p.severity === "error");
export const warningsOf = (ps: readonly Problem[]) => ps.filter((p) => p.severity === "warning");

/** Thrown when a definition cannot be used; carries every problem found. */
export class DefinitionError extends Error {
  constructor(
    readonly source: string,
    readonly problems: Problem[],
  ) {
    const errs = errorsOf(problems);
    super(`${source}: ${errs.length} problem(s)\n` + errs.map(formatProblem).join("\n"));
    this.name = "DefinitionError";
  }
}
