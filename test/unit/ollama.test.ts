// The Ollama feature without the lab: the plan's GPU selection and memory budget, and the real scripts run by bash
// against the recording doubles (curl → ollama-api, a TEST DOUBLE of Ollama's API; systemctl; useradd…): the release
// downloaded and checked against its sha256, the unit, the models pulled once, a model removed by hand found by the
// check and pulled again, undeclared models kept unless prune.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkShape } from "../../definition/load";
import { ollamaModelName } from "../../definition/serving";
import { buildPlan } from "../../plan/plan";
import { type OllamaSettings, renderOllama } from "../../provisioners/ollama/ollama";
import { validated } from "../../validate";
import { GuestSandbox, named, ok } from "../support/guest-sandbox";
import { base, gpuGuest } from "./validate/support";

const sandboxes: GuestSandbox[] = [];
afterEach(() => sandboxes.splice(0).forEach((s) => s.dispose()));

const MIRROR = "http://10.100.0.1:8099/ollama";
const MODELS = ["phoenix/tiny-a:latest", "phoenix/tiny-b:1m"];

/** A sandbox whose curl double serves a release tarball (bin/ollama) and its sha256sum.txt, and a model registry. */
function sandbox(version = "0.6.5", tamper = false): GuestSandbox {
  const s = new GuestSandbox();
  sandboxes.push(s);
  s.addTool("jq");
  s.addTool("tar");
  s.addTool("gzip");
  s.addTool("readlink");
  const files = path.join(s.state, "files");
  const pkg = path.join(s.dir, "pkg");
  fs.mkdirSync(path.join(pkg, "bin"), { recursive: true });
  fs.mkdirSync(path.join(pkg, "lib", "ollama"), { recursive: true });
  fs.writeFileSync(
    path.join(pkg, "bin", "ollama"),
    `#!/bin/sh\n# ollama ${version} (test double of the binary: never run here)\n`,
    { mode: 0o755 },
  );
  fs.mkdirSync(files, { recursive: true });
  execFileSync("tar", ["-czf", path.join(files, "ollama-linux-amd64.tgz"), "-C", pkg, "bin", "lib"]);
  const sum = execFileSync("sha256sum", [path.join(files, "ollama-linux-amd64.tgz")], { encoding: "utf8" }).split(" ")[0]!;
  fs.writeFileSync(
    path.join(files, "sha256sum.txt"),
    `${tamper ? "0".repeat(64) : sum}  ./ollama-linux-amd64.tgz\n${"1".repeat(64)}  ./ollama-linux-arm64.tgz\n`,
  );
  s.setState("ollama-registry", [...MODELS, "phoenix/other:latest"].join("\n") + "\n");
  return s;
}

const SETTINGS: OllamaSettings = {
  version: "0.6.5",
  source: { baseUrl: MIRROR },
  host: "0.0.0.0",
  port: 11434,
  models: MODELS,
  prune: false,
  cudaDevices: [0],
  gpuOverheadBytes: 12 * 2 ** 30,
  env: { OLLAMA_KEEP_ALIVE: "10m" },
  insecure: true,
};
const run = (s: GuestSandbox, settings = SETTINGS) => {
  const f = renderOllama(settings);
  return s.run(f.script, f.params);
};
const check = (s: GuestSandbox, settings = SETTINGS) => {
  const f = renderOllama(settings);
  return s.run(f.checkScript!, f.params);
};
const pulls = (r: ReturnType<GuestSandbox["run"]>) => named(r, /api\/pull/).length;

describe("ollama: the plan", () => {
  it("uses the GPUs it is given, as CUDA numbers them in the guest, and leaves the rest of the memory to others", () => {
    const d = base();
    d.nodes[0].gpus = [
      { index: 0, pci: "0000:01:00.0", memory: 16 },
      { index: 1, pci: "0000:02:00.0", memory: 24 },
    ];
    d.guests.push(
      gpuGuest({
        features: { ollama: { gpus: [1], gpuMemory: 6, models: ["llama3.2", "qwen2.5:7b", "registry.ollama.ai/library/phi3"] } },
      }),
    );
    const { definition } = checkShape(d);
    const m = buildPlan(validated(definition!)).machines.find((x) => x.name === "llm")!;
    const settings = m.provisioners.find((p) => p.feature === "ollama")!.settings as OllamaSettings;
    expect(settings).toMatchObject({
      host: "0.0.0.0",
      port: 11434,
      cudaDevices: [1],
      gpuOverheadBytes: 18 * 2 ** 30,
      models: ["llama3.2:latest", "qwen2.5:7b", "phi3:latest"],
      prune: false,
    });
    const unitEnv = renderOllama(settings).params.OLLAMA_UNIT_ENV!.split("\n");
    expect(unitEnv).toEqual([
      'Environment="OLLAMA_HOST=0.0.0.0:11434"',
      'Environment="OLLAMA_MODELS=/var/lib/ollama/models"',
      'Environment="HOME=/var/lib/ollama"',
      'Environment="CUDA_DEVICE_ORDER=PCI_BUS_ID"',
      'Environment="CUDA_VISIBLE_DEVICES=1"',
      `Environment="OLLAMA_GPU_OVERHEAD=${18 * 2 ** 30}"`,
    ]);
  });

  it("names models as /api/tags does", () => {
    expect(ollamaModelName("llama3.2")).toBe("llama3.2:latest");
    expect(ollamaModelName("library/llama3.2:1b")).toBe("llama3.2:1b");
    expect(ollamaModelName("registry.ollama.ai/library/llama3.2:1b")).toBe("llama3.2:1b");
    expect(ollamaModelName("10.0.0.1:5000/library/tiny")).toBe("10.0.0.1:5000/library/tiny:latest");
  });
});

describe("ollama: the scripts", () => {
  it("installs the release checked against sha256sum.txt, writes the unit, pulls both models; a second run does nothing", () => {
    const s = sandbox();
    const r1 = ok(run(s));
    expect(named(r1, /^curl -fsSL/)).toEqual([
      `curl -fsSL ${MIRROR}/v0.6.5/ollama-linux-amd64.tgz -o ${r1.calls.find((c) => c.includes(".tgz -o"))!.split(" -o ")[1]}`,
      expect.stringMatching(new RegExp(`^curl -fsSL ${MIRROR}/v0.6.5/sha256sum.txt -o `)),
    ]);
    expect(fs.existsSync(s.file("opt/ollama/0.6.5/bin/ollama"))).toBe(true);
    expect(fs.readlinkSync(s.file("opt/ollama/current"))).toBe("0.6.5");
    expect(named(r1, /^useradd/)).toEqual([
      "useradd --system --user-group --home-dir /var/lib/ollama --shell /usr/sbin/nologin ollama",
    ]);
    const unit = s.read("etc/systemd/system/ollama.service");
    expect(unit).toContain("User=ollama\n");
    expect(unit).toContain('Environment="OLLAMA_HOST=0.0.0.0:11434"\n');
    expect(unit).toContain('Environment="CUDA_VISIBLE_DEVICES=0"\n');
    expect(unit).toContain(`Environment="OLLAMA_GPU_OVERHEAD=${12 * 2 ** 30}"\n`);
    expect(unit).toContain('Environment="OLLAMA_KEEP_ALIVE=10m"\n');
    expect(unit).toContain("ExecStart=/opt/ollama/0.6.5/bin/ollama serve\n");
    expect(named(r1, /^systemctl (daemon-reload|enable|restart)/)).toEqual([
      "systemctl daemon-reload",
      "systemctl enable ollama",
      "systemctl restart ollama",
    ]);
    expect(pulls(r1)).toBe(2);
    expect(ok(check(s)).stdout).toBe(
      "ollama 0.6.5 on 0.0.0.0:11434\nmodel phoenix/tiny-a:latest present\nmodel phoenix/tiny-b:1m present\n",
    );
    const r2 = ok(run(s));
    expect(named(r2, /^curl -fsSL|^useradd|^systemctl (daemon-reload|restart|start)/)).toEqual([]);
    expect(pulls(r2)).toBe(0);
  });

  it("a model removed by hand shows in the check, and the next run pulls it again", () => {
    const s = sandbox();
    ok(run(s));
    fs.writeFileSync(path.join(s.state, "ollama-models"), "phoenix/tiny-b:1m\n");
    expect(check(s)).toMatchObject({
      code: 1,
      stdout: "ollama 0.6.5 on 0.0.0.0:11434\nmodel phoenix/tiny-a:latest missing\nmodel phoenix/tiny-b:1m present\n",
    });
    const r = ok(run(s));
    expect(named(r, /api\/pull/)).toHaveLength(1);
    expect(ok(check(s)).stdout).toContain("model phoenix/tiny-a:latest present\n");
  });

  it("a model no longer declared is kept and reported, and removed only with prune", () => {
    const s = sandbox();
    ok(run(s));
    const fewer = { ...SETTINGS, models: [MODELS[0]!] };
    const kept = ok(run(s, fewer));
    expect(kept.stdout).toContain("model phoenix/tiny-b:1m is not declared: kept (prune: true removes it)");
    expect(ok(check(s, fewer)).stdout).toBe(
      "ollama 0.6.5 on 0.0.0.0:11434\nmodel phoenix/tiny-a:latest present\nmodel phoenix/tiny-b:1m not declared\n",
    );
    const pruned = ok(run(s, { ...fewer, prune: true }));
    expect(named(pruned, /api\/delete/)).toHaveLength(1);
    expect(ok(check(s, fewer)).stdout).toBe("ollama 0.6.5 on 0.0.0.0:11434\nmodel phoenix/tiny-a:latest present\n");
  });

  it("a model the registry does not have stops the step with Ollama's error", () => {
    const s = sandbox();
    const r = run(s, { ...SETTINGS, models: ["phoenix/nowhere:latest"] });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('pulling phoenix/nowhere:latest failed: {"error":"pull model manifest: file does not exist"}');
  });

  it("a download whose sha256 differs is not installed", () => {
    const s = sandbox("0.6.5", true);
    const r = run(s);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/has sha256 [0-9a-f]{64}, expected 0{64}: not installed/);
    expect(fs.existsSync(s.file("opt/ollama/0.6.5"))).toBe(false);
  });

  it("an exact source is checked against its own sha256", () => {
    const s = sandbox();
    const tgz = path.join(s.state, "files", "ollama-linux-amd64.tgz");
    const sum = execFileSync("sha256sum", [tgz], { encoding: "utf8" }).split(" ")[0]!;
    const exact = { ...SETTINGS, source: { url: "http://10.100.0.1:5000/v2/mirror/ollama-linux-amd64.tgz", sha256: sum } };
    const r = ok(run(s, exact));
    expect(named(r, /sha256sum\.txt/)).toEqual([]);
    expect(ok(check(s, exact)).stdout).toContain("ollama 0.6.5 on 0.0.0.0:11434\n");
  });

  it("a new release is installed beside the old one and the server restarts on it", () => {
    const s = sandbox();
    ok(run(s));
    const r = ok(run(s, { ...SETTINGS, version: "0.6.6" }));
    expect(named(r, /\.tgz -o/)).toHaveLength(1);
    expect(named(r, /^systemctl (daemon-reload|restart)/)).toEqual(["systemctl daemon-reload", "systemctl restart ollama"]);
    expect(s.read("etc/systemd/system/ollama.service")).toContain("ExecStart=/opt/ollama/0.6.6/bin/ollama serve\n");
    expect(ok(check(s, { ...SETTINGS, version: "0.6.6" })).stdout).toContain("ollama 0.6.6 on 0.0.0.0:11434\n");
    // The old release's server answering while 0.6.6 is declared is drift.
    expect(check(s, { ...SETTINGS, version: "0.6.7" })).toMatchObject({ code: 1 });
  });
});
