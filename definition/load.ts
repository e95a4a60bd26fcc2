// Read a definition file (YAML or JSON) and check its shape; semantic checks follow in validate/.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { extname } from "node:path";
import { type YAMLError, parseDocument } from "yaml";
import type { z } from "zod";
import { Definition } from "./schema";
import { type Problem, error, formatPath } from "./problems";

export interface Parsed {
  definition?: Definition;
  problems: Problem[];
}

type ZodIssue = z.core.$ZodIssue;

function describeReceived(issue: ZodIssue & { code: "invalid_type" }): string {
  const m = /received (\w+)/.exec(issue.message);
  return m ? `, got ${m[1]}` : "";
}

/** Turn one zod issue into problems with a path and a fix a person can act on. */
export function fromZodIssue(issue: ZodIssue, prefix: PropertyKey[] = []): Problem[] {
  const path = formatPath([...prefix, ...issue.path]);
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((k) =>
        error(
          formatPath([...prefix, ...issue.path, k]),
          `unknown field '${k}'`,
          "remove it, or check its spelling against stacks/definition.schema.json",
        ),
      );
    case "invalid_union": {
      // Report the branch that came closest (fewest issues) rather than "invalid input".
      if (issue.message && issue.message !== "Invalid input") return [error(path, issue.message)];
      const branches = issue.errors.filter((b) => b.length > 0);
      if (branches.length === 0) return [error(path, issue.message)];
      const best = branches.reduce((a, b) => (b.length < a.length ? b : a));
      return best.flatMap((i) => fromZodIssue(i, [...prefix, ...issue.path]));
    }
    case "invalid_type":
      if (issue.expected === "int") return [error(path, "expected a whole number", "write a whole number")];
      if (/received undefined/.test(issue.message))
        return [error(path, `missing required field (expected ${issue.expected})`, `add '${String(issue.path.at(-1))}'`)];
      return [error(path, `expected ${issue.expected}${describeReceived(issue)}`, `write a ${issue.expected} here`)];
    case "invalid_value":
      return [error(path, `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`, "use one of those values")];
    case "invalid_format":
      return [error(path, issue.message, "write the value in the form the message shows")];
    case "invalid_key":
      return issue.issues.map((i) =>
        error(path, `key ${JSON.stringify(String(issue.path.at(-1)))}: ${i.message}`, "rename the key"),
      );
    case "too_big":
    case "too_small":
      return [error(path, issue.message, "use a value within that limit")];
    case "custom": {
      // Checks in definition/formats.ts carry their own fix.
      const fix = (issue.params as { fix?: unknown } | undefined)?.fix;
      return [
        error(path, issue.message, typeof fix === "string" ? fix : "see stacks/definition.schema.json for what this field takes"),
      ];
    }
    default:
      return [error(path, issue.message, "see stacks/definition.schema.json for what this field takes")];
  }
}

export function checkShape(raw: unknown): Parsed {
  const structure = structureProblems(raw);
  if (structure.length > 0) return { problems: structure };
  const result = Definition.safeParse(raw);
  if (result.success) return { definition: result.data, problems: [] };
  return { problems: result.error.issues.flatMap((i) => fromZodIssue(i)) };
}

/** The largest definition file read (a definition of 1,000 guests is about 1 MiB). */
export const MAX_DEFINITION_BYTES = 16 * 1024 * 1024;
/** Nesting deeper than this is refused before anything walks the tree (a definition is about 8 levels deep). */
export const MAX_DEPTH = 64;
/** YAML aliases expanded at most this many times (an alias bomb expands exponentially). */
export const MAX_ALIASES = 100;

/** Parse text as YAML (JSON is accepted: it is YAML too, and *.json is read as JSON). */
export function parseText(text: string, source: string): { raw?: unknown; problems: Problem[] } {
  if (extname(source) === ".json") {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      return {
        problems: [error("", `not valid JSON: ${(e as Error).message}`, "fix the syntax at the position the message gives")],
      };
    }
    // JSON.parse keeps the last of two equal keys: the YAML parser (JSON is YAML) finds them, with their lines.
    const dups = duplicateKeys(text, parseDocument(text, { uniqueKeys: true }).errors);
    return dups.length > 0 ? { problems: dups } : { raw, problems: [] };
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const dups = duplicateKeys(text, doc.errors);
    return {
      problems: [
        ...dups,
        ...doc.errors.filter((e) => e.code !== "DUPLICATE_KEY").map((e) => yamlProblem(e.message, e.linePos?.[0])),
      ],
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    const message = (e as Error).message;
    if (/alias count/i.test(message))
      return {
        problems: [
          error(
            "",
            `not valid YAML: its aliases expand more than ${MAX_ALIASES} times (an alias bomb)`,
            "write the repeated parts out, or use fewer aliases",
          ),
        ],
      };
    return { problems: [yamlProblem(message, undefined)] };
  }
  return { raw, problems: [] };
}

function yamlProblem(message: string, at: { line: number; col: number } | undefined): Problem {
  const where = at ? ` at line ${at.line}, column ${at.col}` : "";
  const first = message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  // The parser recurses per level: past a few hundred levels it runs out of stack.
  if (/call stack/i.test(first))
    return error("", `not valid YAML${where}: nested too deeply`, `a definition nests at most ${MAX_DEPTH} levels; flatten it`);
  return error("", `not valid YAML${where}: ${first}`, "fix the syntax at the line the message gives");
}

/** Duplicate keys as problems with their line: a second key would silently replace the first (a whole guests list). */
function duplicateKeys(text: string, errors: readonly YAMLError[]): Problem[] {
  return errors
    .filter((e) => e.code === "DUPLICATE_KEY")
    .map((e) => {
      const at = e.linePos?.[0];
      const key = keyAt(text, e.pos[0]);
      return error(
        "",
        `key ${key} is given twice in one map${at ? ` (the second at line ${at.line}, column ${at.col})` : ""}`,
        "keep one of them: a repeated key would replace the first one's value",
      );
    });
}

function keyAt(text: string, pos: number): string {
  const quoted = /^("(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*')/.exec(text.slice(pos, pos + 300));
  if (quoted) return quoted[1]!;
  const plain = /^[^:\n,{}[\]]*/.exec(text.slice(pos, pos + 300))![0].trim();
  return `'${plain}'`;
}

/**
 * Problems no schema can report without first walking the whole tree: nesting beyond MAX_DEPTH (found without
 * recursion, so no depth can exhaust the stack) and NUL bytes (no field takes one, and the engine cannot send one).
 */
export function structureProblems(raw: unknown): Problem[] {
  const out: Problem[] = [];
  const stack: { value: unknown; path: PropertyKey[] }[] = [{ value: raw, path: [] }];
  while (stack.length > 0 && out.length < 20) {
    const { value, path } = stack.pop()!;
    if (typeof value === "string") {
      if (value.includes("\0"))
        out.push(error(formatPath(path), "contains a NUL byte", "remove it: no field of a definition takes one"));
      continue;
    }
    if (typeof value !== "object" || value === null) continue;
    if (path.length >= MAX_DEPTH) {
      out.push(
        error(
          formatPath(path),
          `nested more than ${MAX_DEPTH} levels deep`,
          `a definition nests at most ${MAX_DEPTH} levels; flatten it`,
        ),
      );
      continue;
    }
    const entries: [PropertyKey, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    for (const [k, v] of entries) {
      if (typeof k === "string" && k.includes("\0"))
        out.push(error(formatPath(path), `a key contains a NUL byte`, "remove it: no field of a definition takes one"));
      stack.push({ value: v, path: [...path, k] });
    }
  }
  return out;
}

/** The file's text, or a problem: missing, not a regular file, or larger than MAX_DEFINITION_BYTES (checked before reading). */
export function readDefinitionText(file: string): { text?: string; problems: Problem[] } {
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const st = fstatSync(fd);
    if (!st.isFile())
      return { problems: [error("", `${file} is not a regular file`, "give the path of the definition file itself")] };
    if (st.size > MAX_DEFINITION_BYTES)
      return {
        problems: [
          error(
            "",
            `${file} is ${st.size} bytes (${mib(st.size)} MiB); a definition is at most ${MAX_DEFINITION_BYTES} bytes (${mib(MAX_DEFINITION_BYTES)} MiB)`,
            "check that this is the definition file; split very large estates into several stacks",
          ),
        ],
      };
    // Read at most one byte more than the cap, so a file that grows meanwhile is still caught.
    const buf = Buffer.alloc(Math.min(st.size, MAX_DEFINITION_BYTES) + 1);
    let n = 0;
    for (let r = -1; r !== 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > MAX_DEFINITION_BYTES)
      return {
        problems: [
          error("", `${file} is larger than ${mib(MAX_DEFINITION_BYTES)} MiB`, "check that this is the definition file"),
        ],
      };
    return { text: buf.subarray(0, n).toString("utf8"), problems: [] };
  } catch (e) {
    return {
      problems: [
        error(
          "",
          `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          "check the path and its permissions",
        ),
      ],
    };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

export function readDefinitionFile(file: string): Parsed {
  const { text, problems: readProblems } = readDefinitionText(file);
  if (text === undefined) return { problems: readProblems };
  const { raw, problems } = parseText(text, file);
  if (problems.length > 0) return { problems };
  return checkShape(raw);
}
