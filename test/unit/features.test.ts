// The in-guest feature provisioners without the lab: rendered params and secrets, diff semantics, and the real scripts
// run by bash against recording test doubles (test/support/guest-sandbox.ts) to check their idempotency.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { renderAppArmor, lxcConfigLines } from "../../provisioners/apparmor/apparmor";
import { renderDocker } from "../../provisioners/docker/docker";
import { publicConnection } from "../../provisioners/engine/connection";
import { type RemoteScriptInputs, type RemoteScriptOutputs, diffScript } from "../../provisioners/engine/script-provider";
import { hashOutputs } from "../../provisioners/engine/script-hash";
import type { RenderedFeature } from "../../provisioners/engine/feature";
import { renderHealthChecks } from "../../provisioners/health-check/health-check";
import { renderNvidia } from "../../provisioners/nvidia/nvidia";
import { renderNvidiaContainerToolkit } from "../../provisioners/nvidia-container-toolkit/nvidia-container-toolkit";
import { renderNvidiaHost } from "../../provisioners/nvidia/nvidia-host";
import { renderPortainer, renderPortainerEndpoints } from "../../provisioners/portainer/portainer";
import { renderCustomScript } from "../../provisioners/script/script";
import { type VllmSettings, renderVllm, systemdWord } from "../../provisioners/vllm/vllm";
import { GuestSandbox, type RunResult, named, ok } from "../support/guest-sandbox";

const HF_TOKEN = "hf_TestDouble0nlyToken7788";

const sandboxes: GuestSandbox[] = [];
const sandbox = (osRelease?: string) => {
  const s = new GuestSandbox(osRelease);
  sandboxes.push(s);
  return s;
};
afterEach(() => sandboxes.splice(0).forEach((s) => s.dispose()));

const installs = (r: RunResult) =>
  r.calls.filter((c) => /^apt-get .*\binstall\b/.test(c) || /^dpkg -i/.test(c) || /^sh /.test(c) || /^docker (run|pull)/.test(c));
const runFeature = (s: GuestSandbox, f: RenderedFeature, secrets: Record<string, string> = {}) =>
  s.run(f.script, f.params, secrets);
const check = (s: GuestSandbox, f: RenderedFeature) => s.run(f.checkScript!, f.params);

/** State as the provider stores it after applying these inputs. */
function stateOf(f: RenderedFeature, extra: Partial<RemoteScriptInputs> = {}): RemoteScriptOutputs {
  const inputs = inputsOf(f, extra);
  return {
    connection: publicConnection(inputs.connection),
    credentials: {},
    script: f.script,
    params: f.params,
    secretNames: Object.keys(inputs.secrets ?? {}),
    triggers: [],
    ...(f.checkScript !== undefined ? { checkScript: f.checkScript } : {}),
    ...(f.deleteScript !== undefined ? { deleteScript: f.deleteScript } : {}),
    ...(inputs.inContainer !== undefined ? { inContainer: inputs.inContainer } : {}),
    ...hashOutputs(inputs, f.script),
    hostKey: "ssh-ed25519 AAAA",
    inSync: true,
  };
}
function inputsOf(f: RenderedFeature, extra: Partial<RemoteScriptInputs> = {}): RemoteScriptInputs {
  return {
    connection: { host: "10.0.0.2" },
    script: f.script,
    params: f.params,
    ...(f.checkScript !== undefined ? { checkScript: f.checkScript } : {}),
    ...(f.deleteScript !== undefined ? { deleteScript: f.deleteScript } : {}),
    inContainer: 210,
    ...extra,
  };
}

const VLLM: VllmSettings = {
  model: "Qwen/Qwen2.5-7B-Instruct-AWQ",
  servedModelName: "qwen2.5-7b",
  port: 8000,
  host: "0.0.0.0",
  tensorParallelSize: 1,
  maxModelLen: 8192,
  args: { "download-dir": "/models" },
  install: "venv",
  hfToken: { secret: "hfToken" },
};
const FAKE_SERVER = "/usr/local/bin/openai-server-test-double";

describe("every script parses", () => {
  const dir = path.join(__dirname, "..", "..", "provisioners");
  it.each(
    fs
      .readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith(".sh")),
  )("bash -n %s", (f) => {
    execFileSync("bash", ["-n", path.join(dir, f)]);
  });
  it("and so does every rendered script, helpers included", () => {
    const rendered = [
      renderDocker({ source: "debian", daemon: {} }, { nvidiaRuntime: true }),
      renderNvidia({ source: "nvidia", driverVersion: "580.76.05", cudaVersion: "12.8" }),
      renderNvidiaContainerToolkit({}),
      renderVllm(VLLM),
      renderPortainer({ role: "server", adminPassword: { secret: "pw" } }),
      renderPortainerEndpoints({ secret: "pw" }, [{ name: "a", url: "tcp://10.0.0.2:9001" }]),
      renderAppArmor({ vmid: 200, profile: "lxc-phoenix-gpu", profileText: "profile x {}", lxcOptions: [] }),
      renderHealthChecks([{ name: "a", command: "true", retries: 1, interval: 1 }]),
    ];
    for (const r of rendered)
      for (const text of [r.script, r.checkScript, r.deleteScript].filter((t): t is string => t !== undefined)) {
        expect(text.startsWith("# Helpers every in-guest feature script")).toBe(true);
        execFileSync("bash", ["-n"], { input: text });
      }
  });
});

describe("docker", () => {
  it("installs docker.io and Debian's docker-compose once, writes daemon.json, and restarts only when daemon settings change", () => {
    const s = sandbox();
    const first = renderDocker({ source: "debian", daemon: { "log-driver": "local" } }, { nvidiaRuntime: false });
    const r1 = ok(runFeature(s, first));
    expect(installs(r1)).toEqual([
      expect.stringMatching(
        /^apt-get -y -o DPkg::Lock::Timeout=60 -o Acquire::Retries=5 install --no-install-recommends docker\.io$/,
      ),
      // Debian 12's docker.io has no compose plugin: Debian's docker-compose (the 1.29 line) is the compose CLI
      expect.stringMatching(/install --no-install-recommends docker-compose$/),
    ]);
    expect(named(r1, /^apt-get .*update/)).toHaveLength(1);
    expect(JSON.parse(s.read("etc/docker/daemon.json"))).toEqual({ "log-driver": "local" });
    expect(named(r1, /^systemctl (enable|start) docker/)).toEqual(["systemctl enable docker", "systemctl start docker"]);
    expect(ok(check(s, first)).stdout).toBe("docker server 24.0.7\ncompose: docker-compose\ndaemon.json as declared\n");

    const r2 = ok(runFeature(s, first));
    expect(named(r2, /^apt-get/)).toEqual([]);
    expect(named(r2, /^systemctl (enable|start|restart)/)).toEqual([]);

    const changed = renderDocker(
      { source: "debian", daemon: { "log-driver": "local", "live-restore": true } },
      { nvidiaRuntime: false },
    );
    const r3 = ok(runFeature(s, changed));
    expect(named(r3, /^apt-get/)).toEqual([]);
    expect(named(r3, /^systemctl restart/)).toEqual(["systemctl restart docker"]);
    expect(s.read("etc/docker/daemon.json")).toBe('{\n  "live-restore": true,\n  "log-driver": "local"\n}\n');
    // The old settings' check now sees a daemon.json it did not declare: refresh reports drift.
    expect(check(s, first)).toMatchObject({
      code: 1,
      stdout: expect.stringContaining("daemon.json differs from the definition"),
    });
  });

  it("adds Docker's repository for the docker source, and drops it again for debian", () => {
    const s = sandbox('ID=ubuntu\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\n');
    const r1 = ok(runFeature(s, renderDocker({ source: "docker", daemon: {} }, { nvidiaRuntime: false })));
    expect(s.read("etc/apt/sources.list.d/docker.list")).toBe(
      "deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/ubuntu noble stable\n",
    );
    expect(named(r1, /^curl /)).toEqual([
      "curl -fsSL https://download.docker.com/linux/ubuntu/gpg -o " + s.file("etc/apt/keyrings/docker.asc"),
    ]);
    expect(installs(r1).pop()).toMatch(
      /install --no-install-recommends docker-ce docker-ce-cli containerd\.io docker-buildx-plugin docker-compose-plugin$/,
    );
    const r2 = ok(runFeature(s, renderDocker({ source: "docker", daemon: {} }, { nvidiaRuntime: false })));
    expect(named(r2, /^(apt-get|curl)/)).toEqual([]);
    const r3 = ok(runFeature(s, renderDocker({ source: "debian", daemon: {} }, { nvidiaRuntime: false })));
    expect(fs.existsSync(s.file("etc/apt/sources.list.d/docker.list"))).toBe(false);
    expect(named(r3, /^apt-get/).map((c) => c.split(" ").slice(6).join(" "))).toEqual([
      "update",
      "install --no-install-recommends docker.io",
    ]);
  });

  it("waits for apt's lock instead of failing", () => {
    const s = sandbox();
    s.setState("apt-locked");
    const r = ok(runFeature(s, renderDocker({ source: "debian", daemon: {} }, { nvidiaRuntime: false })));
    expect(r.stdout).toContain("apt is locked by another process; waiting (attempt 1)");
    expect(named(r, /^apt-get .*update/)).toHaveLength(2);
  });

  it("refuses an OS it does not support, by name", () => {
    const s = sandbox('ID=fedora\nVERSION_ID="40"\n');
    const r = runFeature(s, renderDocker({ source: "debian", daemon: {} }, { nvidiaRuntime: false }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unsupported OS 'fedora 40': the features support Debian 12 and Ubuntu 22.04/24.04");
    expect(r.calls).toEqual([]);
  });

  it("a drift (docker removed) fails the check, and a re-run repairs it", () => {
    const s = sandbox();
    const f = renderDocker({ source: "debian", daemon: {} }, { nvidiaRuntime: false });
    ok(runFeature(s, f));
    s.setState("pkgs", "");
    fs.rmSync(path.join(s.state, "docker-installed"));
    expect(check(s, f)).toMatchObject({ code: 1, stdout: expect.stringContaining("package docker.io is not installed") });
    const repair = ok(runFeature(s, f));
    expect(installs(repair)).toHaveLength(1);
    expect(ok(check(s, f)).stdout).toContain("daemon.json as declared");
  });
});

describe("nvidia-container-toolkit", () => {
  it("installs the toolkit once and writes the docker feature's daemon.json plus the nvidia runtime, restarting docker once", () => {
    const s = sandbox();
    const dockerF = renderDocker({ source: "debian", daemon: { "log-driver": "local" } }, { nvidiaRuntime: true });
    ok(runFeature(s, dockerF));
    const nct = renderNvidiaContainerToolkit({ "log-driver": "local" });
    const r1 = ok(runFeature(s, nct));
    expect(installs(r1)).toEqual([
      expect.stringMatching(/install --no-install-recommends ca-certificates curl$/),
      expect.stringMatching(/install --no-install-recommends nvidia-container-toolkit$/),
    ]);
    expect(named(r1, /^systemctl restart/)).toEqual(["systemctl restart docker"]);
    expect(JSON.parse(s.read("etc/docker/daemon.json"))).toEqual({
      "log-driver": "local",
      runtimes: { nvidia: { path: "nvidia-container-runtime", args: [] } },
    });
    expect(ok(check(s, nct)).stdout).toBe("NVIDIA Container Toolkit CLI version 1.17.8\ndocker runtime nvidia configured\n");
    // The docker feature re-run later keeps the runtime (it renders the same bytes) and its check still passes.
    const again = ok(runFeature(s, dockerF));
    expect(named(again, /^(apt-get|systemctl restart)/)).toEqual([]);
    expect(ok(check(s, dockerF)).stdout).toContain("daemon.json as declared");
    expect(named(ok(runFeature(s, nct)), /^(apt-get|curl|systemctl restart)/)).toEqual([]);
  });
});

describe("nvidia on the node (installOnHost)", () => {
  const URL_5807605 = "https://us.download.nvidia.com/XFree86/Linux-x86_64/580.76.05/NVIDIA-Linux-x86_64-580.76.05.run";
  /** What the curl double downloads for a URL. */
  const sumOf = (url: string) => createHash("sha256").update(`downloaded from ${url}\n`).digest("hex");
  const DRIVER = { version: "580.76.05", runfileSha256: sumOf(URL_5807605) };
  const runfile = (s: GuestSandbox) =>
    new RegExp(`^sh ${s.file("tmp")}/phoenix-nvidia\\.\\w{8}/NVIDIA-Linux-x86_64-580\\.76\\.05\\.run `);

  it("builds the declared driver with DKMS against the node's headers, blacklists nouveau, loads it; then does nothing", () => {
    const s = sandbox();
    s.setState("candidate-proxmox-headers-6.8.12-4-pve", "6.8.12-4");
    const f = renderNvidiaHost(DRIVER);
    expect(check(s, f).code).toBe(1);
    const r1 = ok(runFeature(s, f));
    expect(installs(r1)).toEqual([
      expect.stringMatching(
        /install --no-install-recommends ca-certificates curl dkms build-essential proxmox-headers-6\.8\.12-4-pve$/,
      ),
      expect.stringMatching(runfile(s)),
    ]);
    expect(installs(r1)[1]).toMatch(/ --silent --dkms --no-x-check --disable-nouveau$/);
    // The private download directory is gone afterwards; nothing was left at a predictable path.
    expect(fs.readdirSync(s.file("tmp"))).toEqual([]);
    expect(s.read("etc/modprobe.d/phoenix-blacklist-nouveau.conf")).toBe("blacklist nouveau\noptions nouveau modeset=0\n");
    expect(named(r1, /^(update-initramfs|modprobe)/)).toEqual(["update-initramfs -u", "modprobe nvidia"]);
    expect(ok(check(s, f)).stdout).toBe("NVIDIA driver 580.76.05 on the node\n");
    expect(named(ok(runFeature(s, f)), /^(apt-get|curl|sh |modprobe|update-initramfs)/)).toEqual([]);
  });

  it("downloads into a private directory and runs nothing when the runfile's sha256 differs, naming both sums", () => {
    const s = sandbox();
    const declared = "ab".repeat(32);
    // A file planted at the old predictable path is never run.
    s.write("tmp/NVIDIA-Linux-580.76.05.run", "#!/bin/sh\necho planted\n");
    const r = runFeature(s, renderNvidiaHost({ version: "580.76.05", runfileSha256: declared.toUpperCase() }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `checksum mismatch for ${URL_5807605}: expected sha256 ${declared}, downloaded a file with sha256 ${sumOf(URL_5807605)}; it was not run`,
    );
    expect(named(r, /^sh /)).toEqual([]);
    expect(named(r, /^curl /)).toEqual([
      expect.stringMatching(/ -o .*\/tmp\/phoenix-nvidia\.\w{8}\/NVIDIA-Linux-x86_64-580\.76\.05\.run$/),
    ]);
    expect(fs.readdirSync(s.file("tmp"))).toEqual(["NVIDIA-Linux-580.76.05.run"]);
  });

  it("refuses to render without a checksum", () => {
    expect(() => renderNvidiaHost({ version: "580.76.05", runfileSha256: "" })).toThrow(
      "the NVIDIA driver 580.76.05 needs the sha256 of its runfile: set nodes[].nvidia.runfileSha256",
    );
    const f = renderNvidiaHost(DRIVER);
    const s = sandbox();
    // A rendered feature whose checksum went missing on the way: the script itself refuses too.
    const r = runFeature(s, { ...f, params: { ...f.params, NVIDIA_RUNFILE_SHA256: "" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no sha256 for NVIDIA's runfile: set nodes[].nvidia.runfileSha256");
    expect(named(r, /^(curl|sh) /)).toEqual([]);
  });

  it("stops with what to do when nouveau still holds the GPU", () => {
    const s = sandbox();
    s.write("proc/modules", "nouveau 2433024 0 - Live 0x0000000000000000\n");
    const r = runFeature(s, renderNvidiaHost(DRIVER));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "NVIDIA driver 580.76.05 installed, but nouveau is loaded: reboot the node, then run pulumi up again",
    );
    expect(named(r, /^modprobe/)).toEqual([]);
  });
});

describe("nvidia", () => {
  it("debian source: installs the non-free userland of the node's exact version; the check reports no GPU honestly", () => {
    const s = sandbox();
    s.setState("candidate-nvidia-smi", "535.247.01-1~deb12u1");
    const f = renderNvidia({ source: "debian", driverVersion: "535.247.01" });
    const r1 = ok(runFeature(s, f));
    expect(s.read("etc/apt/sources.list.d/phoenix-non-free.list")).toBe(
      "deb http://10.100.0.1:3142/deb.debian.org/debian bookworm contrib non-free non-free-firmware\n",
    );
    expect(installs(r1)).toEqual([expect.stringMatching(/install --no-install-recommends nvidia-smi libnvidia-ml1 libcuda1$/)]);
    expect(ok(check(s, f)).stdout).toBe("NVIDIA userland 535.247.01; CUDA none\ninstalled, no GPU visible\n");
    expect(named(ok(runFeature(s, f)), /^(apt-get|curl|sh )/)).toEqual([]);
  });

  it("debian source with another version than the node's driver: stops and says what to do", () => {
    const s = sandbox();
    s.setState("candidate-nvidia-smi", "535.247.01-1~deb12u1");
    const r = runFeature(s, renderNvidia({ source: "debian", driverVersion: "580.76.05" }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "debian 12's nvidia-smi is '535.247.01-1~deb12u1', not 580.76.05: match the version or use source: nvidia",
    );
    expect(named(r, /install/)).toEqual([]);
  });

  it("nvidia source: the runfile without kernel module and CUDA from NVIDIA's repository, once; a CUDA change installs only CUDA", () => {
    const s = sandbox('ID=ubuntu\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\n');
    const f = renderNvidia({ source: "nvidia", driverVersion: "580.76.05", cudaVersion: "12.8" });
    const r1 = ok(runFeature(s, f));
    // Downloaded into a private directory (mktemp -d), removed after the run.
    const run = `${s.file("tmp")}/phoenix-nvidia.XXXXXXXX/NVIDIA-Linux-x86_64-580.76.05.run`;
    const privateDir = (c: string) => c.replace(/phoenix-nvidia\.\w{8}\//, "phoenix-nvidia.XXXXXXXX/");
    expect(named(r1, /^sh /).map(privateDir)).toEqual([
      `sh ${run} --silent --no-kernel-module --no-x-check --no-nouveau-check --no-nvidia-modprobe`,
    ]);
    expect(named(r1, /^curl .*runfile|^curl .*NVIDIA-Linux/).map(privateDir)).toEqual([
      `curl -fsSL https://us.download.nvidia.com/XFree86/Linux-x86_64/580.76.05/NVIDIA-Linux-x86_64-580.76.05.run -o ${run}`,
    ]);
    expect(fs.readdirSync(s.file("tmp")).filter((f) => f.startsWith("phoenix-nvidia"))).toEqual([]);
    expect(named(r1, /^curl .*cuda-keyring/)[0]).toContain(
      "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2204/x86_64/cuda-keyring_1.1-1_all.deb",
    );
    expect(installs(r1).pop()).toMatch(/install --no-install-recommends cuda-toolkit-12-8$/);
    expect(ok(check(s, f)).stdout).toBe("NVIDIA userland 580.76.05; CUDA 12.8\ninstalled, no GPU visible\n");
    expect(installs(ok(runFeature(s, f)))).toEqual([]);
    const r3 = ok(runFeature(s, renderNvidia({ source: "nvidia", driverVersion: "580.76.05", cudaVersion: "12.9" })));
    expect(installs(r3)).toEqual([expect.stringMatching(/install --no-install-recommends cuda-toolkit-12-9$/)]);
    expect(check(s, f).code).toBe(0);
  });
});

describe("vllm", () => {
  const fakeServer = (s: GuestSandbox) => {
    s.write(FAKE_SERVER.slice(1), "#!/bin/sh\n# test double of an OpenAI-compatible server\n");
    fs.chmodSync(s.file(FAKE_SERVER.slice(1)), 0o755);
  };

  it("keeps the Hugging Face token out of params, scripts and every command line, in a root-only file", () => {
    const f = renderVllm(VLLM, { bin: FAKE_SERVER });
    expect(f.secretRefs).toEqual({ HF_TOKEN: "hfToken" });
    expect(JSON.stringify(f.params)).not.toContain(HF_TOKEN);
    const s = sandbox();
    fakeServer(s);
    const r = ok(runFeature(s, f, { HF_TOKEN }));
    expect(r.calls.join("\n") + r.stdout + r.stderr).not.toContain(HF_TOKEN);
    expect(s.read("etc/vllm/hf-token")).toBe(HF_TOKEN);
    expect(fs.statSync(s.file("etc/vllm/hf-token")).mode & 0o777).toBe(0o600);
    expect(s.read("etc/systemd/system/vllm.service")).not.toContain(HF_TOKEN);
  });

  it("writes vllm.service with the declared engine args, starts it, waits for /v1/models; restarts only on change", () => {
    const s = sandbox();
    fakeServer(s);
    const f = renderVllm(VLLM, { bin: FAKE_SERVER });
    const r1 = ok(runFeature(s, f, { HF_TOKEN }));
    const unit = s.read("etc/systemd/system/vllm.service");
    expect(unit).toContain(
      `ExecStart=${FAKE_SERVER} serve Qwen/Qwen2.5-7B-Instruct-AWQ --host 0.0.0.0 --port 8000 --served-model-name qwen2.5-7b --tensor-parallel-size 1 --max-model-len 8192 --download-dir /models\n`,
    );
    expect(unit).toContain("Environment=HF_TOKEN_PATH=/etc/vllm/hf-token\n");
    expect(named(r1, /^systemctl (daemon-reload|enable|restart|start)/)).toEqual([
      "systemctl daemon-reload",
      "systemctl enable vllm",
      "systemctl restart vllm",
    ]);
    expect(named(r1, /^curl .*v1\/models/)).toHaveLength(1);
    expect(ok(check(s, f)).stdout).toBe("vllm serves qwen2.5-7b on port 8000\n");

    expect(named(ok(runFeature(s, f, { HF_TOKEN })), /^systemctl (daemon-reload|restart|start)|^apt-get/)).toEqual([]);
    const longer = ok(runFeature(s, renderVllm({ ...VLLM, maxModelLen: 16384 }, { bin: FAKE_SERVER }), { HF_TOKEN }));
    expect(named(longer, /^systemctl (daemon-reload|restart|start)/)).toEqual([
      "systemctl daemon-reload",
      "systemctl restart vllm",
    ]);
    const newToken = ok(
      runFeature(s, renderVllm({ ...VLLM, maxModelLen: 16384 }, { bin: FAKE_SERVER }), { HF_TOKEN: "hf_Rotated" }),
    );
    expect(named(newToken, /^systemctl (daemon-reload|restart|start)/)).toEqual(["systemctl restart vllm"]);
  });

  it("install: container runs the declared image with every GPU under systemd, pulled once, token mounted read-only", () => {
    const s = sandbox();
    s.setState("docker-installed");
    s.setState("active-docker");
    const f = renderVllm({ ...VLLM, install: "container", image: "vllm/vllm-openai:v0.6.3" });
    expect(f.params.VLLM_IMAGE).toBe("vllm/vllm-openai:v0.6.3");
    const r1 = ok(runFeature(s, f, { HF_TOKEN }));
    expect(named(r1, /^docker pull/)).toEqual(["docker pull vllm/vllm-openai:v0.6.3"]);
    const unit = s.read("etc/systemd/system/vllm.service");
    expect(unit).toContain("ExecStartPre=-/usr/bin/docker rm -f vllm\n");
    expect(unit).toContain(
      "ExecStart=/usr/bin/docker run --rm --name vllm --gpus all --ipc=host -p 8000:8000 -v /var/lib/vllm/hf:/root/.cache/huggingface " +
        "-v /etc/vllm/hf-token:/etc/vllm/hf-token:ro -e HF_TOKEN_PATH=/etc/vllm/hf-token --entrypoint vllm vllm/vllm-openai:v0.6.3 serve Qwen/Qwen2.5-7B-Instruct-AWQ ",
    );
    expect(unit).not.toContain(HF_TOKEN);
    expect(ok(check(s, f)).stdout).toBe("vllm serves qwen2.5-7b on port 8000\n");
    expect(named(ok(runFeature(s, f, { HF_TOKEN })), /^docker pull|^systemctl (restart|start)/)).toEqual([]);
    const noDocker = sandbox();
    const refused = runFeature(noDocker, f, { HF_TOKEN });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("install: container needs the docker feature");
  });

  it("another served model name fails the check: the unit runs other arguments (drift, or an adopted guest's own vLLM)", () => {
    const s = sandbox();
    fakeServer(s);
    ok(runFeature(s, renderVllm(VLLM, { bin: FAKE_SERVER }), { HF_TOKEN }));
    const other = renderVllm({ ...VLLM, servedModelName: "other" }, { bin: FAKE_SERVER });
    expect(check(s, other)).toMatchObject({ code: 1, stdout: expect.stringMatching(/^vllm\.service runs other arguments/) });
  });

  it("quotes arguments for systemd", () => {
    expect(systemdWord("plain/path-1.0")).toBe("plain/path-1.0");
    expect(systemdWord('a "b" $HOME 100%')).toBe('"a \\"b\\" $$HOME 100%%"');
  });
});

describe("apparmor and lxc options (on the node)", () => {
  const CONF =
    "arch: amd64\ncores: 2\nhostname: llm\nlxc.mount.entry: /dev/fuse dev/fuse none bind,create=file\n\n[golden]\narch: amd64\ncores: 2\n";
  const PROFILE = "profile lxc-phoenix-gpu flags=(attach_disconnected) {\n  /dev/nvidia* rw,\n}\n";
  const render = (over: Partial<Parameters<typeof renderAppArmor>[0]> = {}) =>
    renderAppArmor({
      vmid: 210,
      profile: "lxc-phoenix-gpu",
      profileText: PROFILE,
      lxcOptions: ["lxc.cgroup2.devices.allow=c 195:* rwm", "lxc.cap.keep=sys_admin,net_admin"],
      ...over,
    });

  it("normalises raw options as Proxmox writes them, one line per kept capability", () => {
    expect(
      lxcConfigLines(["lxc.cgroup2.devices.allow = c 195:* rwm", "lxc.apparmor.profile: unconfined", "lxc.cap.keep=a,b"]),
    ).toEqual([
      "lxc.cgroup2.devices.allow: c 195:* rwm",
      "lxc.apparmor.profile: unconfined",
      "lxc.cap.keep: a",
      "lxc.cap.keep: b",
    ]);
  });

  it("installs and checks the profile, puts the lines into the main section, restarts the running container once", () => {
    const s = sandbox();
    s.write("etc/pve/lxc/210.conf", CONF);
    s.setState("ct-running");
    const f = render();
    const r1 = ok(runFeature(s, f));
    expect(s.read("etc/pve/lxc/210.conf")).toBe(
      "arch: amd64\ncores: 2\nhostname: llm\nlxc.mount.entry: /dev/fuse dev/fuse none bind,create=file\n" +
        "lxc.apparmor.profile: lxc-phoenix-gpu\nlxc.cgroup2.devices.allow: c 195:* rwm\nlxc.cap.keep: sys_admin\nlxc.cap.keep: net_admin\n" +
        "\n[golden]\narch: amd64\ncores: 2\n",
    );
    expect(s.read("etc/apparmor.d/lxc-phoenix-gpu")).toBe(PROFILE);
    expect(named(r1, /^apparmor_parser/)).toEqual([`apparmor_parser -QK ${s.file("etc/apparmor.d/lxc-phoenix-gpu")}`]);
    expect(named(r1, /^pct (shutdown|start)/)).toEqual(["pct shutdown 210 --timeout 120", "pct start 210"]);
    expect(ok(check(s, f)).stdout).toBe(
      "CT 210: 4 of 4 lxc lines in its config\nprofile lxc-phoenix-gpu: installed and valid, not loaded (this kernel has no AppArmor)\n",
    );

    const r2 = ok(runFeature(s, f));
    expect(named(r2, /^pct (shutdown|stop|start)/)).toEqual([]);
    expect(s.read("etc/pve/lxc/210.conf")).toContain("lxc.cap.keep: net_admin\n\n[golden]");
  });

  it("removes lines dropped from the definition, replaces a single-valued key, keeps lines it did not write", () => {
    const s = sandbox();
    s.write("etc/pve/lxc/210.conf", CONF.replace("hostname: llm\n", "hostname: llm\nlxc.apparmor.profile: generated\n"));
    ok(runFeature(s, render()));
    ok(runFeature(s, render({ profile: "unconfined", profileText: undefined, lxcOptions: ["lxc.cap.keep=sys_admin"] })));
    const conf = s.read("etc/pve/lxc/210.conf");
    expect(conf.match(/lxc\.apparmor\.profile/g)).toHaveLength(1);
    expect(conf).toContain("lxc.apparmor.profile: unconfined\n");
    expect(conf).not.toContain("devices.allow");
    expect(conf).not.toContain("net_admin");
    expect(conf).toContain("lxc.mount.entry: /dev/fuse dev/fuse none bind,create=file\n");
    ok(s.run(render().deleteScript!, render().params));
    expect(s.read("etc/pve/lxc/210.conf")).toBe(CONF);
  });

  it("loads the profile when the kernel has AppArmor, and a profile apparmor_parser rejects fails", () => {
    const s = sandbox();
    s.write("etc/pve/lxc/210.conf", CONF);
    s.write("sys/module/apparmor/parameters/enabled", "Y\n");
    s.write("sys/kernel/security/apparmor/profiles", "");
    const r = ok(runFeature(s, render()));
    expect(named(r, /^apparmor_parser -r/)).toHaveLength(1);
    expect(ok(check(s, render())).stdout).toContain("profile lxc-phoenix-gpu: loaded");
    const bad = runFeature(s, render({ profileText: "profile x { SYNTAX-ERROR }" }));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`apparmor_parser rejects ${s.file("etc/apparmor.d/lxc-phoenix-gpu")}`);
  });
});

describe("health checks", () => {
  it("retries a failing check at its interval and fails with its name and output; passing checks are reported", () => {
    const s = sandbox();
    const f = renderHealthChecks([
      { name: "up", command: "echo fine", retries: 3, interval: 5 },
      { name: "models", command: "echo 'no model loaded' >&2; exit 4", retries: 3, interval: 7 },
    ]);
    const r = s.run(f.script, f.params);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("health check up: ok\n");
    expect(r.stdout).toContain(
      "health check models: FAILED (exit 4 after 3 attempt(s)) running: echo 'no model loaded' >&2; exit 4\n  | no model loaded\n",
    );
    expect(r.stderr).toContain("1 of 2 health check(s) failed");
    expect(named(r, /^sleep/)).toEqual(["sleep 7", "sleep 7"]);
    const refresh = s.run(f.checkScript!, f.params);
    expect(refresh.code).toBe(1);
    expect(named(refresh, /^sleep/)).toEqual([]);
  });
});

describe("custom script", () => {
  it("runs the file as written with its env as params; an edit changes the hash (in-place re-run), no edit changes nothing", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "phx-def-"));
    try {
      fs.writeFileSync(path.join(dir, "setup-210.sh"), "echo hello $GREETING\n");
      const f = renderCustomScript({ path: "setup-210.sh", env: { GREETING: "world" } }, dir);
      expect(f).toEqual({
        script: "echo hello $GREETING\n",
        params: { GREETING: "world" },
        secretRefs: {},
        timeout: { seconds: 1800, key: "script" },
      });
      expect(
        diffScript(stateOf(f), inputsOf(renderCustomScript({ path: "setup-210.sh", env: { GREETING: "world" } }, dir))),
      ).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
      fs.writeFileSync(path.join(dir, "setup-210.sh"), "echo hello again $GREETING\n");
      expect(
        diffScript(stateOf(f), inputsOf(renderCustomScript({ path: "setup-210.sh", env: { GREETING: "world" } }, dir))),
      ).toMatchObject({ changes: true, replaces: [] });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("diff semantics", () => {
  const cases: [string, RenderedFeature, RenderedFeature][] = [
    [
      "docker daemon settings",
      renderDocker({ source: "debian", daemon: {} }, { nvidiaRuntime: false }),
      renderDocker({ source: "debian", daemon: { debug: true } }, { nvidiaRuntime: false }),
    ],
    [
      "docker source",
      renderDocker({ source: "debian", daemon: {} }, { nvidiaRuntime: false }),
      renderDocker({ source: "docker", daemon: {} }, { nvidiaRuntime: false }),
    ],
    [
      "CUDA version",
      renderNvidia({ source: "nvidia", driverVersion: "580.76.05", cudaVersion: "12.8" }),
      renderNvidia({ source: "nvidia", driverVersion: "580.76.05", cudaVersion: "12.9" }),
    ],
    ["vllm engine args", renderVllm(VLLM), renderVllm({ ...VLLM, gpuMemoryUtilization: 0.8 })],
    ["portainer image", renderPortainer({ role: "agent" }), renderPortainer({ role: "agent", image: "portainer/agent:2.27.0" })],
    [
      "lxc options",
      renderAppArmor({ vmid: 210, lxcOptions: [] }),
      renderAppArmor({ vmid: 210, lxcOptions: ["lxc.cap.keep=sys_admin"] }),
    ],
    ["health checks", renderHealthChecks([]), renderHealthChecks([{ name: "a", command: "true", retries: 1, interval: 1 }])],
  ];
  it.each(cases)("a change of %s updates in place, never replaces", (_n, before, after) => {
    expect(diffScript(stateOf(before), inputsOf(after))).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(diffScript(stateOf(before), inputsOf(before))).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });

  it("a changed secret updates in place; another container replaces", () => {
    const f = renderVllm(VLLM);
    expect(diffScript(stateOf(f, { secrets: { HF_TOKEN: "a" } }), inputsOf(f, { secrets: { HF_TOKEN: "b" } }))).toMatchObject({
      changes: true,
      replaces: [],
    });
    expect(diffScript(stateOf(f), inputsOf(f, { inContainer: 211 }))).toMatchObject({ changes: true, replaces: ["inContainer"] });
    expect(diffScript(stateOf(f), inputsOf(f, { inContainer: undefined }))).toMatchObject({ replaces: ["inContainer"] });
  });

  it("no secret value is ever part of the params or the script text", () => {
    for (const f of [
      renderVllm(VLLM),
      renderPortainer({ role: "server", adminPassword: { secret: "portainerAdminPassword" } }),
    ]) {
      expect(Object.keys(f.secretRefs)).toHaveLength(1);
      for (const v of Object.values(f.params)) expect(v).not.toMatch(/hfToken|portainerAdminPassword/);
      expect(f.script).not.toMatch(/hfToken|portainerAdminPassword/);
    }
  });
});
