// Pinned vLLM builds: the plan picks the CUDA architectures from the GPUs' model and the pinned image; the venv install
// renders and runs (against the recording doubles) pip with the exact release, the torch index and
// TORCH_CUDA_ARCH_LIST; a new version is an in-place update that reinstalls and restarts; the check reports the engine
// version installed, so a hand upgrade is drift.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkShape } from "../../definition/load";
import { buildPlan } from "../../plan/plan";
import { publicConnection } from "../../provisioners/engine/connection";
import { type RemoteScriptOutputs, diffScript, scriptHash } from "../../provisioners/engine/script-provider";
import type { RenderedFeature } from "../../provisioners/engine/feature";
import { type VllmSettings, renderVllm } from "../../provisioners/vllm/vllm";
import { validated } from "../../validate";
import { GuestSandbox, named, ok } from "../support/guest-sandbox";
import { type Raw, base, gpuGuest } from "./validate/support";

const sandboxes: GuestSandbox[] = [];
const sandbox = () => {
  const s = new GuestSandbox();
  sandboxes.push(s);
  return s;
};
afterEach(() => sandboxes.splice(0).forEach((s) => s.dispose()));

const INDEX = "https://download.pytorch.org/whl/cu128";

function plannedVllm(gpuModels: (string | undefined)[], vllm: Raw, container = false): VllmSettings {
  const extra: Raw = container ? { nesting: true } : {};
  const others: Raw = container ? { docker: {}, "nvidia-container-toolkit": {} } : {};
  const d = base();
  d.nodes[0].gpus = gpuModels.map((model, i) => ({ index: i, pci: `0000:0${i + 1}:00.0`, ...(model ? { model } : {}) }));
  d.templates[2].gpus = gpuModels.map((_, i) => i);
  d.guests.push(
    gpuGuest({ gpus: gpuModels.map((_, i) => i), features: { ...others, vllm: { model: "Qwen/Qwen3-8B", ...vllm } }, ...extra }),
  );
  const { definition, problems } = checkShape(d);
  if (!definition) throw new Error(JSON.stringify(problems));
  const m = buildPlan(validated(definition)).machines.find((x) => x.name === "llm")!;
  return m.provisioners.find((p) => p.feature === "vllm")!.settings as VllmSettings;
}

function stateAfter(f: RenderedFeature): RemoteScriptOutputs {
  return {
    connection: publicConnection({ host: "10.0.0.2" }),
    credentials: {},
    script: f.script,
    params: f.params,
    secretNames: [],
    triggers: [],
    checkScript: f.checkScript!,
    inContainer: 220,
    hash: scriptHash({ params: f.params }, f.script),
    hostKey: "ssh-ed25519 AAAA",
    inSync: true,
  };
}

describe("the plan's pins", () => {
  it.each([
    [["RTX 5060 Ti"], "12.0"],
    [["NVIDIA GeForce RTX 4090", "NVIDIA L40S"], "8.9"],
    [["NVIDIA A100-SXM4-80GB", "NVIDIA RTX A6000"], "8.0 8.6"],
    [["NVIDIA H100 80GB HBM3"], "9.0"],
    [["NVIDIA B200"], "10.0"],
  ])("GPUs %j give TORCH_CUDA_ARCH_LIST %s", (models, arch) => {
    expect(plannedVllm(models, { version: "0.10.2" }).cudaArchList).toBe(arch);
  });

  it("an unknown or undeclared model leaves it unset; a declared list wins", () => {
    expect(plannedVllm(["Mystery GPU"], { version: "0.10.2" }).cudaArchList).toBeUndefined();
    expect(plannedVllm([undefined], { version: "0.10.2" }).cudaArchList).toBeUndefined();
    expect(plannedVllm(["RTX 5060 Ti"], { version: "0.10.2", cudaArchList: "10.0 12.0" }).cudaArchList).toBe("10.0 12.0");
  });

  it("a pinned container install runs that release's image unless one is named", () => {
    const s = plannedVllm(["RTX 5060 Ti"], { version: "0.10.2", install: "container" }, true);
    expect(s.image).toBe("vllm/vllm-openai:v0.10.2");
    expect(renderVllm(s).params.VLLM_IMAGE).toBe("vllm/vllm-openai:v0.10.2");
    const mirror = "registry.local/vllm:0.10.2-cu128";
    expect(plannedVllm(["RTX 5060 Ti"], { version: "0.10.2", install: "container", image: mirror }, true).image).toBe(mirror);
    expect(plannedVllm(["RTX 5060 Ti"], { install: "container" }, true).image).toBeUndefined();
  });
});

const PINNED: VllmSettings = {
  model: "Qwen/Qwen2.5-7B-Instruct-AWQ",
  servedModelName: "qwen2.5-7b",
  port: 8000,
  host: "0.0.0.0",
  tensorParallelSize: 1,
  args: {},
  install: "venv",
  version: "0.10.2",
  torchIndex: INDEX,
  cudaArchList: "12.0",
};

describe("the venv install, pinned", () => {
  it("installs exactly vllm==0.10.2 with torch from the index and the architectures, once", () => {
    const s = sandbox();
    const f = renderVllm(PINNED);
    expect(f.params).toMatchObject({ VLLM_VERSION: "0.10.2", VLLM_TORCH_INDEX: INDEX, VLLM_CUDA_ARCH_LIST: "12.0" });
    const r1 = ok(s.run(f.script, f.params));
    expect(named(r1, /^(python3|pip) /)).toEqual([
      "python3 -m venv " + s.file("opt/vllm"),
      `pip install --no-cache-dir --extra-index-url ${INDEX} vllm==0.10.2`,
    ]);
    expect(fs.readFileSync(path.join(s.state, "pip-env"), "utf8")).toBe("TORCH_CUDA_ARCH_LIST=12.0\n");
    const unit = s.read("etc/systemd/system/vllm.service");
    expect(unit).toContain('Environment="TORCH_CUDA_ARCH_LIST=12.0"\n');
    expect(unit).toContain("ExecStart=/opt/vllm/bin/vllm serve Qwen/Qwen2.5-7B-Instruct-AWQ ");
    expect(ok(s.run(f.checkScript!, f.params)).stdout).toBe("vllm 0.10.2 serves qwen2.5-7b on port 8000\n");
    // A second run installs nothing and restarts nothing.
    const r2 = ok(s.run(f.script, f.params));
    expect(named(r2, /^(python3|pip) |^systemctl (daemon-reload|restart|start)/)).toEqual([]);
  });

  it("a new version is an in-place update: pip installs it into the same venv and the server restarts", () => {
    const s = sandbox();
    const before = renderVllm(PINNED);
    ok(s.run(before.script, before.params));
    const after = renderVllm({ ...PINNED, version: "0.11.0" });
    const diff = diffScript(stateAfter(before), { connection: { host: "10.0.0.2" }, ...after, inContainer: 220 });
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    const r = ok(s.run(after.script, after.params));
    expect(named(r, /^(python3|pip) /)).toEqual([`pip install --no-cache-dir --extra-index-url ${INDEX} vllm==0.11.0`]);
    expect(named(r, /^systemctl (daemon-reload|restart)/)).toEqual(["systemctl restart vllm"]);
    expect(ok(s.run(after.checkScript!, after.params)).stdout).toBe("vllm 0.11.0 serves qwen2.5-7b on port 8000\n");
  });

  it("the check reports the release really installed: an upgrade by hand is drift", () => {
    const s = sandbox();
    const f = renderVllm(PINNED);
    ok(s.run(f.script, f.params));
    const site = "opt/vllm/lib/python3.11/site-packages";
    s.write(`${site}/vllm-0.11.1.dist-info/METADATA`, "Name: vllm\nVersion: 0.11.1\n");
    fs.rmSync(s.file(`${site}/vllm-0.10.2.dist-info`), { recursive: true });
    expect(s.run(f.checkScript!, f.params)).toMatchObject({ code: 1, stdout: "vllm 0.11.1 runs, 0.10.2 declared\n" });
    // Up puts the pinned release back.
    const r = ok(s.run(f.script, f.params));
    expect(named(r, /^pip /)).toEqual([`pip install --no-cache-dir --extra-index-url ${INDEX} vllm==0.10.2`]);
    expect(ok(s.run(f.checkScript!, f.params)).stdout).toBe("vllm 0.10.2 serves qwen2.5-7b on port 8000\n");
  });

  it("unpinned, the check still names the version, so an upgrade changes what refresh sees", () => {
    const s = sandbox();
    s.setState("pip-newest-vllm", "0.10.2");
    const f = renderVllm({ ...PINNED, version: undefined, torchIndex: undefined, cudaArchList: undefined });
    const r = ok(s.run(f.script, f.params));
    expect(named(r, /^pip /)).toEqual(["pip install --no-cache-dir vllm"]);
    expect(s.read("etc/systemd/system/vllm.service")).not.toContain("TORCH_CUDA_ARCH_LIST");
    const first = ok(s.run(f.checkScript!, f.params)).stdout;
    expect(first).toBe("vllm 0.10.2 serves qwen2.5-7b on port 8000\n");
    const site = "opt/vllm/lib/python3.11/site-packages";
    fs.renameSync(s.file(`${site}/vllm-0.10.2.dist-info`), s.file(`${site}/vllm-0.11.0.dist-info`));
    expect(ok(s.run(f.checkScript!, f.params)).stdout).toBe("vllm 0.11.0 serves qwen2.5-7b on port 8000\n");
  });

  it("a container install's check compares the release the server answers on /version", () => {
    const s = sandbox();
    s.setState("docker-installed");
    s.setState("active-docker");
    const f = renderVllm({ ...PINNED, install: "container", image: "vllm/vllm-openai:v0.10.2", torchIndex: undefined });
    const r = ok(s.run(f.script, f.params));
    expect(named(r, /^docker pull/)).toEqual(["docker pull vllm/vllm-openai:v0.10.2"]);
    expect(s.read("etc/systemd/system/vllm.service")).toContain(
      ' -e "TORCH_CUDA_ARCH_LIST=12.0" --entrypoint vllm vllm/vllm-openai:v0.10.2 serve ',
    );
    s.setState("vllm-served-version", "0.10.2");
    expect(ok(s.run(f.checkScript!, f.params)).stdout).toBe("vllm 0.10.2 serves qwen2.5-7b on port 8000\n");
    s.setState("vllm-served-version", "0.9.2");
    expect(s.run(f.checkScript!, f.params)).toMatchObject({ code: 1, stdout: "vllm 0.9.2 runs, 0.10.2 declared\n" });
  });
});
