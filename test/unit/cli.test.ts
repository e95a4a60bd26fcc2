import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { definitionJsonSchema, main } from "../../cli/main";

const ROOT = join(__dirname, "..", "..");
const REF = join(ROOT, "..", "shared", "phoenix-reference");

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

function tmp(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "phoenix-cli-"));
  // The files definitions copied from stacks/ refer to (dev.yaml's app), beside them as in stacks/.
  cpSync(join(ROOT, "stacks", "apps"), join(dir, "apps"), { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe("phoenix validate", () => {
  it("accepts the shipped stacks", async () => {
    for (const f of ["dev.yaml", "ai-host.yaml"]) {
      const r = await run("validate", join(ROOT, "stacks", f));
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/: valid \(1 node\(s\), \d+ template\(s\), \d+ guest\(s\)(, \d+ app\(s\))?\)$/);
    }
  });

  it("exits 1 with every problem, its path and its fix, and no stack trace", async () => {
    const dev = readFileSync(join(ROOT, "stacks", "dev.yaml"), "utf8");
    const bad = dev.replace("vmid: 210", "vmid: 200").replace("ip: 10.100.0.10/24", "ip: 10.200.0.10/24");
    const r = await run("validate", tmp("bad.yaml", bad));
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      "error: guests[1].vmid: vmid 200 is already used by guests[0] (portainer)\n  fix: give each guest and template its own vmid",
    );
    expect(r.err).toContain("error: guests[0].network[0].ip: 10.200.0.10/24 is outside bridge 'vmbr0' subnet 10.100.0.0/24");
    expect(r.err).toMatch(/invalid, 2 error\(s\)$/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it("exits 1 on unreadable, non-YAML and JSON files alike", async () => {
    expect((await run("validate", "/nonexistent/x.yaml")).err).toContain("error: cannot read /nonexistent/x.yaml: ENOENT");
    const yamlErr = await run("validate", tmp("broken.yaml", "nodes: [\n  - name: a\n"));
    expect(yamlErr.code).toBe(1);
    expect(yamlErr.err).toMatch(/error: not valid YAML at line \d+, column \d+/);
    const jsonErr = await run("validate", tmp("broken.json", '{ "nodes": '));
    expect(jsonErr.err).toMatch(/error: not valid JSON/);
  });

  it("reads JSON definitions", async () => {
    const { parse } = await import("yaml");
    const def = parse(readFileSync(join(ROOT, "stacks", "dev.yaml"), "utf8"));
    expect((await run("validate", tmp("dev.json", JSON.stringify(def)))).code).toBe(0);
  });
});

describe("usage errors exit 2", () => {
  it.each([
    [[]],
    [["frobnicate"]],
    [["validate"]],
    [["validate", "a.yaml", "b.yaml"]],
    [["plan", "--bogus", "x.yaml"]],
    [["import", "--lxc", "l.json"]],
  ])("%j", async (argv) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.err + r.out).toContain("usage:");
  });
});

describe("phoenix import → validate → plan on the reference configs", () => {
  it("round-trips through the CLI", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "phoenix-import-")), "imported.yaml");
    const imp = await run(
      "import",
      "--hypervisor",
      join(REF, "phoenix_hypervisor_config.json"),
      "--lxc",
      join(REF, "phoenix_lxc_configs.json"),
      "--vm",
      join(REF, "phoenix_vm_configs.json"),
      "--out",
      out,
    );
    expect(imp.code, imp.err).toBe(0);
    expect(imp.out).toMatch(/^wrote .*imported.yaml: 7 template\(s\), 9 guest\(s\); \d+ warning\(s\) above$/);
    expect(imp.err).toContain("pulumi config set --secret phoenix:portainerAdminPassword");
    expect(readFileSync(out, "utf8")).not.toContain("CHANGE-ME");

    // What the operator must still do, each named by validation: copy the application scripts (referenced, not
    // copied), and allow (with a reason) or drop Nginx's writable /sys, which the import never allows on its own.
    const todo = await run("validate", out);
    expect(todo.code).toBe(1);
    const errors = todo.err.split("\n").filter((l) => l.startsWith("error: "));
    const scripts = errors.filter((e) =>
      /^error: guests\[\d+\]\.features\.script\.path: scripts\/\S+\.sh does not exist /.test(e),
    );
    const hostAccess = errors.filter((e) =>
      /^error: guests\[\d+\]\.lxcOptions\[0\]: lxc\.mount\.auto gives 'Nginx-Phoenix' host filesystem/.test(e),
    );
    expect(scripts.length).toBeGreaterThan(0);
    expect(hostAccess).toHaveLength(1);
    expect(errors).toHaveLength(scripts.length + hostAccess.length);
    for (const e of scripts) {
      const script = join(dirname(out), / (scripts\/\S+\.sh) /.exec(e)![1]!);
      mkdirSync(dirname(script), { recursive: true });
      writeFileSync(script, "#!/bin/bash\ntrue\n");
    }
    const doc = parseDocument(readFileSync(out, "utf8"));
    const k = Number(/guests\[(\d+)\]/.exec(hostAccess[0]!)![1]);
    doc.setIn(["guests", k, "allowHostAccess"], { reason: "nginx tunes net.core sysctls" });
    writeFileSync(out, doc.toString());
    const val = await run("validate", out);
    expect(val.code, val.err).toBe(0);

    const plan = await run("plan", out);
    expect(plan.code).toBe(0);
    const tree = plan.out.split("\n");
    const line = (s: string) => tree.findIndex((l) => l.includes(s));
    // 900 → 901 → 911 → 801, each one level deeper than its parent.
    const depth = (s: string) => tree[line(s)]!.search(/\d/);
    expect(depth("900 Copy-Base")).toBeLessThan(depth("901 Copy-Cuda12.8"));
    expect(depth("901 Copy-Cuda12.8")).toBeLessThan(depth("911 Copy-VLLM-GPU0"));
    expect(depth("911 Copy-VLLM-GPU0")).toBeLessThan(depth("801 granite-embedding"));
    expect(depth("910 Copy-VLLM-GPUx2")).toBe(depth("912 Copy-VLLM-GPU1"));
    expect(depth("802 granite-3.3-8b-fp8")).toBe(depth("801 granite-embedding"));
    expect(line("801 granite-embedding")).toBeGreaterThan(line("911 Copy-VLLM-GPU0"));
    expect(line("801 granite-embedding")).toBeLessThan(line("912 Copy-VLLM-GPU1"));
  });
});

describe("phoenix plan", () => {
  it("--json prints the plan as data", async () => {
    const r = await run("plan", "--json", join(ROOT, "stacks", "ai-host.yaml"));
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.out);
    const dual = plan.machines.find((m: any) => m.name === "vllm-dual");
    expect(dual.devices.slice(0, 2)).toEqual(["/dev/nvidia0", "/dev/nvidia1"]);
    expect(dual.provisioners.find((p: any) => p.feature === "vllm").settings.tensorParallelSize).toBe(2);
    const ws = plan.machines.find((m: any) => m.name === "workstation");
    expect(ws.provisioners.map((p: any) => p.transport)).toEqual(["ssh", "ssh"]);
  });

  it("--write-lock records allocations, and the next plan keeps them", async () => {
    const dev = readFileSync(join(ROOT, "stacks", "dev.yaml"), "utf8");
    const file = tmp("env.yaml", dev);
    const first = JSON.parse((await run("plan", "--json", "--write-lock", file)).out);
    expect(existsSync(file.replace(/\.yaml$/, ".lock.json"))).toBe(true);
    // A guest with a lower vmid is added; the existing allocation stays.
    const more = dev.replace(
      "guests:\n",
      "guests:\n  - { vmid: 150, name: extra, template: debian-12-base, network: [{ ip: auto }] }\n",
    );
    writeFileSync(file, more);
    const second = JSON.parse((await run("plan", "--json", file)).out);
    expect(second.allocations["data/eth0"]).toBe(first.allocations["data/eth0"]);
    expect(second.allocations["extra/eth0"]).toMatch(/^10\.100\.0\.1\d\d\/24$/);
  });
});

describe("the committed JSON Schema", () => {
  it("matches the zod schema (regenerate with npm run schema)", () => {
    const committed = JSON.parse(readFileSync(join(ROOT, "stacks", "definition.schema.json"), "utf8"));
    expect(committed).toEqual(definitionJsonSchema());
  });
});

describe("the installed bin", () => {
  it("runs through npx phoenix", () => {
    const ok = spawnSync("npx", ["--no-install", "phoenix", "validate", "stacks/dev.yaml"], { cwd: ROOT, encoding: "utf8" });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("stacks/dev.yaml: valid");
    const bad = spawnSync("node", ["scripts/phoenix.cjs", "validate", "/nonexistent.yaml"], { cwd: ROOT, encoding: "utf8" });
    expect(bad.status).toBe(1);
    expect(execFileSync("node", ["scripts/phoenix.cjs", "help"], { cwd: ROOT, encoding: "utf8" })).toContain("phoenix validate");
  });
});
