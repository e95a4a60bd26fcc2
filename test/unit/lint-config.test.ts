// The lint configuration itself (eslint.config.mjs): import cycles and the pipeline's layers are errors. Fixture files
// are written into the tree (the layer zones are paths of the repository), in folders removed afterwards.
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ESLint } from "eslint";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..", "..");
const tag = `__lint_fixture_${randomBytes(4).toString("hex")}`;
const dirs = {
  components: join(ROOT, "components", tag),
  plan: join(ROOT, "plan", tag),
  // Inside the docker feature's folder: a file of the docker feature.
  docker: join(ROOT, "provisioners", "docker", tag),
  engine: join(ROOT, "provisioners", "engine", tag),
};

const files: Record<string, string> = {
  [join(dirs.components, "cycle-a.ts")]: `import { b } from "./cycle-b";\nexport const a = (): number => b() + 1;\n`,
  [join(dirs.components, "cycle-b.ts")]: `import { a } from "./cycle-a";\nexport const b = (): number => (a ? 1 : 0);\n`,
  [join(dirs.components, "uses-lab.ts")]: `import { labUp } from "../../lab/lab";\nexport const up = labUp;\n`,
  [join(dirs.components, "clean.ts")]:
    `import { buildPlan } from "../../plan/plan";\nimport type { Definition } from "../../definition/schema";\n` +
    `export const plan = buildPlan;\nexport type D = Definition;\n`,
  [join(dirs.plan, "uses-validate.ts")]: `import { validate } from "../../validate";\nexport const v = validate;\n`,
  [join(dirs.docker, "uses-vllm.ts")]: `import { vllm } from "../../vllm/vllm";\nexport const v = vllm;\n`,
  [join(dirs.engine, "uses-docker.ts")]: `import { docker } from "../../docker/docker";\nexport const d = docker;\n`,
};

let results: Map<string, ESLint.LintResult>;

beforeAll(async () => {
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(file, text);
  const eslint = new ESLint({ cwd: ROOT });
  const linted = await eslint.lintFiles(Object.keys(files));
  results = new Map(linted.map((r) => [r.filePath, r]));
}, 30_000);

afterAll(() => {
  for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
});

/** The errors of one fixture file, as "rule: message". */
function errors(dir: string, name: string): string[] {
  const result = results.get(join(dir, name));
  if (!result) throw new Error(`${name} was not linted`);
  return result.messages.filter((m) => m.severity === 2).map((m) => `${m.ruleId}: ${m.message}`);
}

describe("eslint.config.mjs", () => {
  it("forbids import cycles", () => {
    expect(errors(dirs.components, "cycle-a.ts")).toEqual([expect.stringMatching(/^import-x\/no-cycle: Dependency cycle/)]);
    expect(errors(dirs.components, "cycle-b.ts")).toEqual([expect.stringMatching(/^import-x\/no-cycle: Dependency cycle/)]);
  });

  it("forbids product code (components/) to import lab/", () => {
    expect(errors(dirs.components, "uses-lab.ts")).toEqual([
      expect.stringMatching(/^import-x\/no-restricted-paths: .*"\.\.\/\.\.\/lab\/lab".* product code never imports lab\//),
    ]);
  });

  it("forbids plan/ to import validate/: a later stage may import an earlier one, never the reverse", () => {
    expect(errors(dirs.plan, "uses-validate.ts")).toEqual([
      expect.stringMatching(
        /^import-x\/no-restricted-paths: .*plan\/ imports only definition\/, not validate\/.*never the reverse/,
      ),
    ]);
  });

  it("forbids a provisioners feature folder to import another feature", () => {
    expect(errors(dirs.docker, "uses-vllm.ts")).toEqual([
      expect.stringMatching(
        /^import-x\/no-restricted-paths: .*"\.\.\/\.\.\/vllm\/vllm".*a feature never imports another feature/,
      ),
    ]);
  });

  it("forbids the provisioners' engine to import a feature", () => {
    expect(errors(dirs.engine, "uses-docker.ts")).toEqual([
      expect.stringMatching(/^import-x\/no-restricted-paths: .*provisioners\/engine\/ imports only itself and definition\//),
    ]);
  });

  it("passes a clean file: components/ importing plan/ and definition/", () => {
    expect(errors(dirs.components, "clean.ts")).toEqual([]);
  });
});
