// vllm.service as vllm.sh writes it, with hostile but valid values: every value stays one word of its line (parsed
// here with systemd's own rules), no setting is added, and `systemd-analyze verify` accepts the unit. Values that
// cannot be made inert (control characters, images that are no image reference) are refused before any script runs.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isImageRef } from "../../definition/formats";
import { renderPortainer } from "../../provisioners/portainer/portainer";
import { type VllmSettings, renderVllm, systemdWord } from "../../provisioners/vllm/vllm";
import { GuestSandbox } from "../support/guest-sandbox";

const sandboxes: GuestSandbox[] = [];
afterEach(() => sandboxes.splice(0).forEach((s) => s.dispose()));

/** A unit file's settings: [key, value] per line, with systemd's line continuation. */
function settingsOf(unit: string): [string, string][] {
  const out: [string, string][] = [];
  // systemd splits lines at LF and at CR; a trailing backslash continues the line.
  const lines = unit.replace(/\\\r?\n/g, " ").split(/[\r\n]/);
  for (const line of lines) {
    if (line.trim() === "" || /^[#;[]/.test(line.trim())) continue;
    const eq = line.indexOf("=");
    out.push([line.slice(0, eq).trim(), line.slice(eq + 1)]);
  }
  return out;
}

/**
 * The argv systemd runs for an ExecStart= value: specifiers first (%% → %), then words split at whitespace with
 * double/single quotes and C escapes, then $$ → $ per word. An unescaped $VAR or % specifier fails the test.
 */
function execArgv(value: string): string[] {
  const specifiersDone = value.replace(/%(.)/g, (_m, c: string) => {
    if (c !== "%") throw new Error(`unescaped specifier %${c} in ${value}`);
    return "%";
  });
  const words: string[] = [];
  let i = 0;
  const s = specifiersDone;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (i >= s.length) break;
    let word = "";
    let quote: string | undefined;
    for (; i < s.length; i++) {
      const c = s[i]!;
      if (quote) {
        if (c === quote) quote = undefined;
        else if (c === "\\") word += ({ n: "\n", t: "\t", r: "\r" } as Record<string, string>)[s[++i]!] ?? s[i]!;
        else word += c;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === "\\") word += s[++i]!;
      else if (/\s/.test(c)) break;
      else word += c;
    }
    if (quote) throw new Error(`unbalanced quoting in ${value}`);
    words.push(
      word.replace(/\$(\$|\{?[A-Za-z_])/g, (m, c: string) => {
        if (c !== "$") throw new Error(`unescaped variable ${m} in ${value}`);
        return "$";
      }),
    );
  }
  return words;
}

const BASE: VllmSettings = {
  model: "Qwen/Qwen2.5-7B-Instruct-AWQ",
  servedModelName: "qwen",
  port: 8000,
  host: "0.0.0.0",
  tensorParallelSize: 1,
  args: {},
  install: "container",
};

/** Every printable kind of trouble: quotes, $(), backticks, specifiers, backslashes, ';', leading dashes, spaces. */
const HOSTILE = `--privileged -v /:/host "a'b" $(id) \`id\` $HOME \${HOME} %n %% back\\slash\\ ; echo pwned`;

/** Runs vllm.sh in a sandbox whose root has the binaries and unit directory systemd-analyze needs. */
function writeUnit(settings: VllmSettings): { unit: string; root: string } {
  const s = new GuestSandbox();
  sandboxes.push(s);
  s.setState("docker-installed");
  s.setState("active-docker");
  s.write("usr/bin/docker", "#!/bin/sh\n");
  s.write("opt/vllm/bin/vllm", "#!/bin/sh\n");
  fs.chmodSync(s.file("usr/bin/docker"), 0o755);
  fs.chmodSync(s.file("opt/vllm/bin/vllm"), 0o755);
  const f = renderVllm(settings, { startTimeoutSeconds: 0 });
  // The wait for /v1/models may fail (the curl double does not parse quoted names): the unit is written before it.
  const r = s.run(f.script, f.params);
  const unitPath = "etc/systemd/system/vllm.service";
  expect(fs.existsSync(s.file(unitPath)), `${r.stdout}\n${r.stderr}`).toBe(true);
  return { unit: s.read(unitPath), root: s.root };
}

const analyze = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });
const haveAnalyze = analyze.status === 0;
if (!haveAnalyze)
  console.log(`systemd-analyze verify skipped: systemd-analyze is not installed (${analyze.error?.message ?? analyze.stderr})`);

function verify(root: string): void {
  // systemd-analyze resolves the unit's dependencies (sysinit.target, …) and executables inside --root.
  fs.mkdirSync(path.join(root, "usr/lib/systemd"), { recursive: true });
  fs.cpSync("/usr/lib/systemd/system", path.join(root, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
  const r = spawnSync("systemd-analyze", [`--root=${root}`, "verify", "vllm.service"], { encoding: "utf8" });
  expect(r.status, `systemd-analyze verify: ${r.stdout}${r.stderr}`).toBe(0);
  expect(r.stderr).toBe("");
}

describe("vllm.service with hostile values", () => {
  it("container install: the image is one checked word; every engine value one word; nothing added to the unit", () => {
    const settings: VllmSettings = {
      ...BASE,
      image: "registry.example.com:5000/team/vllm-openai:v0.10.1",
      model: HOSTILE,
      servedModelName: `name ${HOSTILE}`,
      host: "::",
      dtype: "bfloat16; rm -rf /",
      quantization: "$(reboot)",
      args: { "chat-template": HOSTILE, "enable-prefix-caching": true, "max-num-seqs": 8 },
    };
    const { unit, root } = writeUnit(settings);
    const settingsFound = settingsOf(unit);
    expect(settingsFound.map(([k]) => k)).toEqual([
      "Description",
      "After",
      "Wants",
      "ExecStartPre",
      "ExecStart",
      "Restart",
      "RestartSec",
      "WantedBy",
    ]);
    const execStart = settingsFound.find(([k]) => k === "ExecStart")![1];
    expect(execArgv(execStart)).toEqual([
      "/usr/bin/docker",
      ...["run", "--rm", "--name", "vllm", "--gpus", "all", "--ipc=host", "-p", "8000:8000"],
      ...["-v", "/var/lib/vllm/hf:/root/.cache/huggingface", "--entrypoint", "vllm"],
      "registry.example.com:5000/team/vllm-openai:v0.10.1",
      ...["serve", HOSTILE, "--host", "::", "--port", "8000", "--served-model-name", `name ${HOSTILE}`],
      ...["--tensor-parallel-size", "1", "--quantization", "$(reboot)", "--dtype", "bfloat16; rm -rf /"],
      ...["--chat-template", HOSTILE, "--enable-prefix-caching", "--max-num-seqs", "8"],
    ]);
    const description = settingsFound.find(([k]) => k === "Description")![1];
    expect(description.replace(/%%/g, "%")).toBe(`vLLM serving name ${HOSTILE} (managed by Phoenix Hypervisor)`);
    expect(description).not.toMatch(/(^|[^%])%[^%]/);
    if (haveAnalyze) verify(root);
  });

  it("venv install: the same, under /opt/vllm", () => {
    const { unit, root } = writeUnit({ ...BASE, install: "venv", model: HOSTILE });
    const execStart = settingsOf(unit).find(([k]) => k === "ExecStart")![1];
    expect(execArgv(execStart).slice(0, 3)).toEqual(["/opt/vllm/bin/vllm", "serve", HOSTILE]);
    if (haveAnalyze) verify(root);
  });

  it("refuses control characters in every value before rendering: LF, CR, NUL, tab", () => {
    for (const bad of ["a\nExecStartPre=/bin/sh -c id", "a\rExecStartPre=/bin/sh -c id", "a\0b", "a\tb"]) {
      for (const s of [
        { model: bad },
        { servedModelName: bad },
        { host: bad },
        { dtype: bad },
        { quantization: bad },
        { args: { "chat-template": bad } },
      ])
        expect(() => renderVllm({ ...BASE, ...s }), JSON.stringify(s)).toThrow(/control characters/);
      expect(() => systemdWord(bad)).toThrow(/control characters/);
    }
  });

  it("refuses an image that is no image reference, for vLLM and Portainer alike", () => {
    for (const image of [
      "vllm/vllm-openai:latest\nExecStartPre=/bin/sh -c 'id > /tmp/pwned'",
      "vllm/vllm-openai:latest\rExecStartPre=/bin/sh",
      "--privileged -v /:/host vllm/vllm-openai",
      "vllm/vllm-openai --privileged",
      "-v",
      "Vllm/Vllm-Openai:latest",
      "vllm/vllm-openai:$(id)",
      "",
    ]) {
      expect(isImageRef(image), image).toBe(false);
      expect(() => renderVllm({ ...BASE, image }), image).toThrow(/is not an image reference/);
      expect(() => renderPortainer({ role: "agent", image }), image).toThrow(/is not an image reference/);
    }
  });

  it("takes Docker's reference grammar: registry host[:port], lowercase path, tag, digest", () => {
    for (const image of [
      "vllm/vllm-openai",
      "vllm/vllm-openai:v0.10.1",
      "docker.io/library/ubuntu:24.04",
      "localhost:5000/vllm",
      "10.100.0.1:5000/mirror/vllm-openai:latest",
      "[::1]:5000/vllm:1",
      "Registry.Example.COM/a__b/c.d-e:Tag_1.2-rc",
      `vllm/vllm-openai@sha256:${"a".repeat(64)}`,
      `vllm/vllm-openai:v1@sha256:${"0".repeat(64)}`,
    ])
      expect(isImageRef(image), image).toBe(true);
    for (const image of [
      "vllm//openai",
      "vllm/openai:",
      "vllm/openai:-tag",
      `vllm/openai:${"t".repeat(129)}`,
      "vllm/openai@sha256:abc",
      "vllm/-openai",
      "a".repeat(256),
      `${"a/".repeat(100_000)}a`,
    ])
      expect(isImageRef(image), image.slice(0, 40)).toBe(false);
  });

  it("every script bash -n parses after rendering the hostile values", () => {
    const f = renderVllm({ ...BASE, model: HOSTILE, servedModelName: HOSTILE, image: "vllm/vllm-openai:v1" });
    execFileSync("bash", ["-n"], { input: f.script });
  });
});
