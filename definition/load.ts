// Read a definition file (YAML or JSON) and check its shape; semantic checks follow in validate/.
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parseDocument } from "yaml";
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
      if (/received undefined/.test(issue.message))
        return [error(path, `missing required field (expected ${issue.expected})`, `add '${String(issue.path.at(-1))}'`)];
      return [error(path, `expected ${issue.expected}${describeReceived(issue)}`, `write a ${issue.expected} here`)];
    case "invalid_value":
      return [error(path, `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`, "use one of those values")];
    case "invalid_format":
      return [error(path, issue.message, "write the value in the form the message shows")];
    case "invalid_key":
      // A record's key (the key itself is the last segment of the path).
      return issue.issues.map((i) => error(path, `key '${String(issue.path.at(-1))}': ${i.message}`, "rename the key"));
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
  const result = Definition.safeParse(raw);
  if (result.success) return { definition: result.data, problems: [] };
  return { problems: result.error.issues.flatMap((i) => fromZodIssue(i)) };
}

/** Parse text as YAML (JSON is accepted: it is YAML too, and *.json is read as JSON). */
export function parseText(text: string, source: string): { raw?: unknown; problems: Problem[] } {
  if (extname(source) === ".json") {
    try {
      return { raw: JSON.parse(text), problems: [] };
    } catch (e) {
      return { problems: [error("", `not valid JSON: ${(e as Error).message}`)] };
    }
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0)
    return {
      problems: doc.errors.map((e) => {
        const at = e.linePos?.[0];
        return error(
          "",
          `not valid YAML${at ? ` at line ${at.line}, column ${at.col}` : ""}: ${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`,
        );
      }),
    };
  return { raw: doc.toJS(), problems: [] };
}

export function readDefinitionFile(file: string): Parsed {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    return { problems: [error("", `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)] };
  }
  const { raw, problems } = parseText(text, file);
  if (problems.length > 0) return { problems };
  return checkShape(raw);
}
