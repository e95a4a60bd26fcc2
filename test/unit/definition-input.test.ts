// Hostile definition files and lock files: each is refused with exit 1, the file (or field) and the fix — never an
// "internal error" (exit 3), a stack trace, a hang, or a silently dropped part of the input.
import { cpSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { main } from "../../cli/main";
import { MAX_DEFINITION_BYTES, parseText, readDefinitionFile } from "../../definition/load";
import { lockPath, readLock } from "../../definition/lock";
import { DefinitionError } from "../../definition/problems";

const ROOT = join(__dirname, "..", "..");
const DEV = readFileSync(join(ROOT, "stacks", "dev.yaml"), "utf8");

/** A definition file in a directory of its own, with the app files dev.yaml refers to beside it. */
function tmp(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "phoenix-input-"));
  cpSync(join(ROOT, "stacks", "apps"), join(dir, "apps"), { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** A billion-laughs document: ten levels of ten aliases each (10^10 strings once expanded). */
function aliasBomb(): string {
  const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++)
    lines.push(
      `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(",")}]`,
    );
  return lines.join("\n") + "\nnodes: *a9\n";
}

describe("size", () => {
  it("refuses a file larger than 16 MiB from its size, before reading it (a 3 GiB sparse file)", () => {
    const file = tmp("huge.yaml", "");
    truncateSync(file, 3 * 1024 ** 3);
    expect(readDefinitionFile(file).problems).toEqual([
      {
        severity: "error",
        path: "",
        message: `${file} is 3221225472 bytes (3072 MiB); a definition is at most ${MAX_DEFINITION_BYTES} bytes (16 MiB)`,
        fix: "check that this is the definition file; split very large estates into several stacks",
      },
    ]);
  });

  it("takes a file of exactly 16 MiB to the parser (the cap is inclusive)", () => {
    const file = tmp("full.yaml", "# " + "x".repeat(MAX_DEFINITION_BYTES - 3) + "\n");
    const problems = readDefinitionFile(file).problems;
    expect(problems[0]?.message).not.toMatch(/at most/);
  });

  it("refuses what is not a regular file (a device reads forever)", () => {
    expect(readDefinitionFile("/dev/zero").problems).toEqual([
      {
        severity: "error",
        path: "",
        message: "/dev/zero is not a regular file",
        fix: "give the path of the definition file itself",
      },
    ]);
  });
});

describe("YAML that explodes or nests without end", () => {
  it("an alias bomb is invalid input (exit 1), not an internal error", async () => {
    const r = await run("plan", tmp("bomb.yaml", aliasBomb()));
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      "error: not valid YAML: its aliases expand more than 100 times (an alias bomb)\n" +
        "  fix: write the repeated parts out, or use fewer aliases\n" +
        `${r.err.split("\n").at(-1)!.split(":")[0]}: invalid, 1 error(s)`,
    );
  });

  it("a YAML map nested 5000 deep is refused with its line (the parser's own recursion is caught)", async () => {
    const r = await run("plan", tmp("deep.yaml", "x: " + "{a: ".repeat(5000) + "1" + "}".repeat(5000) + "\n"));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^error: not valid YAML at line 1, column \d+: nested too deeply\n {2}fix: a definition nests at most 64 levels/,
    );
  });

  it("a JSON map nested 20000 deep is refused at its path before anything recurses over it", async () => {
    const def = parseYaml(DEV);
    def.templates[1].features.docker.daemon = { x: "DEEP" };
    // Built as text: JSON.stringify itself cannot walk 20000 levels.
    const text = JSON.stringify(def).replace('"DEEP"', '{"a":'.repeat(20000) + "1" + "}".repeat(20000));
    const r = await run("plan", tmp("deep.json", text));
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `error: templates[1].features.docker.daemon.x${".a".repeat(58)}: nested more than 64 levels deep\n` +
        "  fix: a definition nests at most 64 levels; flatten it",
    );
  });

  it("moderate nesting (a docker daemon.json of a few levels) is fine", () => {
    const def = parseYaml(DEV);
    def.templates[1].features.docker.daemon = { "log-opts": { a: { b: { c: "d" } } } };
    const { raw, problems } = parseText(JSON.stringify(def), "x.json");
    expect(problems).toEqual([]);
    expect(raw).toBeDefined();
  });
});

describe("duplicate keys", () => {
  it("a second guests key is an error with its line, not a silently dropped first list (YAML)", () => {
    const text = DEV + "guests: []\n";
    const line = text.split("\n").length - 1;
    expect(parseText(text, "dev.yaml").problems).toEqual([
      {
        severity: "error",
        path: "",
        message: `key 'guests' is given twice in one map (the second at line ${line}, column 1)`,
        fix: "keep one of them: a repeated key would replace the first one's value",
      },
    ]);
  });

  it("JSON too: JSON.parse would keep the last, so the duplicate is found and reported with its line", () => {
    const text = '{\n  "version": 1,\n  "nodes": [],\n  "nodes": [{"name": "a"}]\n}\n';
    expect(parseText(text, "stack.json").problems).toEqual([
      expect.objectContaining({ message: 'key "nodes" is given twice in one map (the second at line 4, column 3)' }),
    ]);
  });

  it("equal keys in different maps are fine", () => {
    expect(parseText('{"a": {"x": 1}, "b": {"x": 2}}', "ok.json").problems).toEqual([]);
  });
});

describe("NUL bytes", () => {
  it("a NUL in any string is refused at its path (the engine could not send it anyway)", async () => {
    const def = parseYaml(DEV);
    def.guests[1].description = "data\u0000more";
    const r = await run("validate", tmp("nul.json", JSON.stringify(def)));
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      "error: guests[1].description: contains a NUL byte\n  fix: remove it: no field of a definition takes one",
    );
  });
});

describe("lock files", () => {
  const withLock = (lock: string) => {
    const file = tmp("env.yaml", DEV);
    writeFileSync(lockPath(file), lock);
    return file;
  };

  it("a corrupt lock file is exit 1 with the lock file's path and the fix, not an internal error", async () => {
    const file = withLock('{"allocations": {"data/eth0": "10.100.0.1');
    const r = await run("plan", file);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`error: ${lockPath(file)} is not valid JSON: `);
    expect(r.err).toContain(
      `  fix: restore ${lockPath(file)} from version control, or delete it (pool addresses are then allocated again and may change)`,
    );
    expect(r.err).not.toMatch(/internal error|\n\s+at /);
  });

  it("a lock file of the wrong shape names the entry", async () => {
    const file = withLock('{"allocations": {"data/eth0": 5}}');
    const r = await run("plan", file);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`error: allocations["data/eth0"]: in ${lockPath(file)}: `);
  });

  it("the Pulumi program's reader throws a DefinitionError with the same text (index.ts turns it into a RunError)", () => {
    const file = withLock("[1, 2");
    expect(() => readLock(file)).toThrow(DefinitionError);
    expect(() => readLock(file)).toThrow(`${lockPath(file)}: 1 problem(s)\nerror: ${lockPath(file)} is not valid JSON`);
  });

  it("a good lock file still gives its allocations", () => {
    expect(readLock(withLock('{"allocations": {"data/eth0": "10.100.0.150/24"}}'))).toEqual({ "data/eth0": "10.100.0.150/24" });
  });
});
