// The verbs on a stack (`phoenix adopt`, `phoenix plan --stack`) without a stack: their usage errors, and a stack that
// cannot be selected is a plain error (exit 1) naming it, not an internal error. Their real runs: test/e2e/adopt.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../cli/main";
import { valueAt } from "../../cli/stack";
import { replacedPaths } from "../../cli/adopt";
import { causeOf } from "../../cli/plan-stack";

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("phoenix adopt / plan --stack", () => {
  it("are usage errors without a stack, or with a stray argument", async () => {
    expect(await run("adopt")).toMatchObject({ code: 2, err: expect.stringContaining("missing --stack <env>") });
    expect(await run("adopt", "--stack", "dev", "extra")).toMatchObject({
      code: 2,
      err: expect.stringContaining("unexpected argument 'extra'"),
    });
    expect(await run("plan", "--stack", "dev", "stacks/dev.yaml")).toMatchObject({
      code: 2,
      err: expect.stringContaining("plan --stack takes the stack's definition from its config"),
    });
    expect((await run("help")).out).toMatch(/phoenix adopt --stack <env> \[--rebuild <guest>\]/);
  });

  it("say plainly when the project has no such stack (exit 1)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "phx-cli-stack-"));
    const cwd = process.cwd();
    try {
      writeFileSync(join(dir, "Pulumi.yaml"), "name: phoenix\nruntime: nodejs\n");
      process.chdir(dir);
      const saved = process.env.PULUMI_BACKEND_URL;
      process.env.PULUMI_BACKEND_URL = `file://${dir}`;
      const r = await run("adopt", "--stack", "nope");
      if (saved === undefined) delete process.env.PULUMI_BACKEND_URL;
      else process.env.PULUMI_BACKEND_URL = saved;
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/phoenix: cannot select stack 'nope' in /);
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("reading the engine's events", () => {
  const step = (over: object) => ({
    urn: "u",
    type: "t",
    name: "data",
    ops: [],
    diffs: [],
    keys: [],
    detailed: {},
    values: {},
    ...over,
  });

  it("finds values at property paths, without the engine's __defaults", () => {
    const inputs = { memory: { __defaults: [], dedicated: 512 }, mountPoints: [{ volume: "/tank/x" }] };
    expect(valueAt(inputs, "memory.dedicated")).toBe(512);
    expect(valueAt(inputs, "memory")).toEqual({ dedicated: 512 });
    expect(valueAt(inputs, "mountPoints[0].volume")).toBe("/tank/x");
    expect(valueAt(inputs, "cpu.cores")).toBeUndefined();
  });

  it("names what replaces a guest: the replace paths with their values, or what the replacement follows", () => {
    const replaced = step({
      ops: ["replace"],
      keys: ["unprivileged"],
      detailed: { unprivileged: "update-replace", memory: "update" },
      values: { unprivileged: { old: false, new: true } },
    });
    expect(replacedPaths(replaced)).toEqual(["unprivileged"]);
    expect(causeOf(replaced, undefined)).toBe("unprivileged changes from false to true");
    const followed = step({ ops: ["replace"], keys: ["replaceWith"] });
    expect(replacedPaths(followed)).toEqual([]);
    expect(
      causeOf(followed, {
        kind: "guest",
        source: { kind: "clone", template: "docker-golden", vmid: 901, snapshot: "" },
      } as never),
    ).toBe("its golden template 'docker-golden' is rebuilt (a linked clone goes with it)");
    expect(replacedPaths(step({ ops: ["update"], detailed: { memory: "update" } }))).toEqual([]);
  });
});
