// End to end on the lab, for what can run without a GPU: the nvidia feature installs Debian's NVIDIA userland
// (non-free, through the lab's apt proxy) at exactly the node's driver version and its check reports "installed,
// no GPU visible"; the vllm feature runs its systemd unit around a TEST DOUBLE of vLLM's server (a few lines of
// Python answering /v1/models, put at /opt/vllm/bin/vllm by the golden template's custom script, because vLLM
// itself needs a GPU and PyPI), with the Hugging Face token as a root-only file, the health check on
// /v1/models, and a restart when the engine args change; and vllm's container install: the lab registry's
// stand-in for vllm/vllm-openai (a TEST DOUBLE of `vllm serve`) run by the unit with `--gpus all`, which
// dockerd accepts because a TEST DOUBLE of the NVIDIA Container Toolkit's hook is on its PATH (the toolkit
// itself comes from NVIDIA's repository: no internet here). What needs a GPU (nvidia-smi listing devices,
// CUDA, devices in the container, a real model) is not exercised here.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lxc } from "../../lab/host/lxc";
import type { PulumiProject } from "../support/pulumi-project";
import { isolatedDevDefinition } from "../support/lab-definition";
import { labStack } from "../support/lab-stack";
import { containerHostUids } from "../support/lab-ps";

const DRIVER = "535.261.03"; // Debian bookworm's non-free nvidia-graphics-drivers
const HF_TOKEN = `hf_${Math.random().toString(36).slice(2, 14)}`;
const dir = mkdtempSync(join(tmpdir(), "phoenix-e2e-gpu-"));
const state = join(dir, "state");
const iso = isolatedDevDefinition(dir);
let project: PulumiProject;
let teardown: () => Promise<void>;
const lxc = new Lxc(join(state, "lxc"));
const inCt = (vmid: number, command: string) => lxc.exec(vmid, ["bash", "-c", command]);
const changes = (c: Record<string, number> | undefined) =>
  Object.fromEntries(Object.entries(c ?? {}).filter(([op]) => op !== "same" && op !== "read"));

/** The test double: an OpenAI-compatible /v1/models for the served model name vllm's unit passes it. */
const STAND_IN_SCRIPT = `set -euo pipefail
command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends python3; }
mkdir -p /opt/vllm/bin
cat > /opt/vllm/bin/vllm <<'PY'
#!/usr/bin/python3
# TEST DOUBLE of \`vllm serve\` (phoenix lab): answers /v1/models with --served-model-name on --port. Not vLLM.
import http.server, json, sys
args = sys.argv[1:]
def opt(name, default):
    return args[args.index(name) + 1] if name in args else default
model = opt("--served-model-name", args[1] if len(args) > 1 else "model")
port = int(opt("--port", "8000"))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": model, "object": "model", "owned_by": "test-double"}]}).encode()
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("0.0.0.0", port), H).serve_forever()
PY
chmod 755 /opt/vllm/bin/vllm
`;

/** The NVIDIA hook's double: with it on dockerd's PATH, `docker run --gpus all` starts (and gets no device). */
const GPU_HOOK_SCRIPT = `set -euo pipefail
cat > /usr/bin/nvidia-container-runtime-hook <<'SH'
#!/bin/sh
# TEST DOUBLE of the NVIDIA Container Toolkit's OCI prestart hook (phoenix lab: no GPU, no NVIDIA repository).
# dockerd offers --gpus only when this binary is on its PATH, and runc runs it before such a container starts.
# It reads the state runc sends and passes no device: nothing here has a GPU.
cat >/dev/null
SH
chmod 755 /usr/bin/nvidia-container-runtime-hook
systemctl restart docker
`;

function definition() {
  const d = iso.raw;
  d.nodes[0].zfs.datasets = d.nodes[0].zfs.datasets.map((x: any) => ({ ...x, protect: false }));
  d.nodes[0].gpus = [{ index: 0 }];
  d.nodes[0].nvidia = { driverVersion: DRIVER };
  d.templates.push({
    name: "llm-golden",
    vmid: 902,
    parent: "debian-12-base",
    memory: 1024,
    gpus: [0],
    disk: { storage: "tank-lxc", size: 4 },
    network: [{ name: "eth0", bridge: iso.bridge, ip: `${iso.net}.92/24` }],
    features: { nvidia: { source: "debian" }, script: { path: "scripts/vllm-stand-in.sh" } },
  });
  const docker = d.templates.find((t: any) => t.name === "docker-golden").features.docker;
  d.templates.push({
    name: "llm-docker-golden",
    vmid: 903,
    parent: "llm-golden",
    memory: 1024,
    nesting: true,
    disk: { storage: "tank-lxc", size: 4 },
    network: [{ name: "eth0", bridge: iso.bridge, ip: `${iso.net}.93/24` }],
    features: { docker, script: { path: "scripts/gpu-hook-double.sh" } },
  });
  d.apps = []; // dev.yaml's demo app runs on a guest this test leaves out
  d.guests = [
    {
      vmid: 240,
      name: "llm",
      template: "llm-golden",
      memory: 1024,
      disk: { storage: "tank-lxc", size: 4 },
      network: [{ name: "eth0", bridge: iso.bridge, ip: "auto" }],
      features: {
        // Two servers on GPU 0: each declares its share (0.9 each, vLLM's default, is refused as over-committed).
        vllm: {
          model: "stand-in/tiny-model",
          servedModelName: "tiny",
          maxModelLen: 4096,
          gpuMemoryUtilization: 0.45,
          hfToken: { secret: "hfToken" },
        },
      },
    },
    {
      vmid: 241,
      name: "llm-ct",
      template: "llm-docker-golden",
      memory: 1024,
      disk: { storage: "tank-lxc", size: 4 },
      network: [{ name: "eth0", bridge: iso.bridge, ip: "auto" }],
      features: {
        vllm: {
          model: "stand-in/tiny-model",
          servedModelName: "tiny-ct",
          maxModelLen: 2048,
          gpuMemoryUtilization: 0.45,
          install: "container",
          hfToken: { secret: "hfToken" },
        },
      },
    },
  ];
  return d;
}

beforeAll(async () => {
  definition();
  ({ project, teardown } = await labStack({
    dir,
    iso,
    stackName: "gpu",
    secrets: { hfToken: HF_TOKEN },
    files: { "scripts/vllm-stand-in.sh": STAND_IN_SCRIPT, "scripts/gpu-hook-double.sh": GPU_HOOK_SCRIPT },
  }));
}, 30 * 60_000);

afterAll(() => teardown?.(), 300_000);

describe("nvidia and vllm without a GPU", () => {
  it(
    "installs Debian's NVIDIA userland at the node's driver version, and says no GPU is visible",
    async () => {
      const up = await project.stack.up();
      expect(up.summary.result).toBe("succeeded");
      // the clone carries what its golden template installed
      expect(inCt(240, "dpkg-query -W -f='${Version}' nvidia-smi").stdout).toBe(`${DRIVER}-1`);
      expect(inCt(240, "ls /usr/lib/x86_64-linux-gnu/ | grep -c '^libnvidia-ml.so.'").stdout.trim()).not.toBe("0");
      const outputs = JSON.stringify(await project.stack.exportStack());
      expect(outputs).toContain(`NVIDIA userland ${DRIVER}; CUDA none\\ninstalled, no GPU visible`);
      // Unprivileged GPU containers, as users run them: Proxmox device entries for the GPU (nodes made for the
      // container, owned by its root, mode 0666), which the lab leaves out at start (it has no /dev/nvidia*).
      for (const vmid of [240, 241]) {
        const conf = readFileSync(join(state, "pve", "lxc", `${vmid}.conf`), "utf8");
        expect(conf).toMatch(/^unprivileged: 1$/m);
        // bpg's provider writes every field of the entry (deny-write, path, uid, gid, mode), as Proxmox then stores it.
        const dev0 = Object.fromEntries(
          (/^dev0: (.*)$/m.exec(conf)?.[1] ?? "").split(",").map((kv) => (kv.includes("=") ? kv.split("=", 2) : ["path", kv])),
        );
        expect(dev0).toMatchObject({ path: "/dev/nvidia0", mode: "0666" });
        expect(dev0.uid ?? "0").toBe("0");
        expect(Math.min(...containerHostUids(lxc.lxcPath, vmid))).toBeGreaterThanOrEqual(100000);
        expect(inCt(vmid, "test -e /dev/nvidia0 && echo present || echo absent").stdout.trim()).toBe("absent");
      }
    },
    30 * 60_000,
  );

  it("serves the declared model through vllm.service (test double), the token in a root-only file", async () => {
    expect(inCt(240, "systemctl is-active vllm").stdout.trim()).toBe("active");
    expect(inCt(240, "curl -s http://127.0.0.1:8000/v1/models").stdout).toContain('"id": "tiny"');
    const cmdline = inCt(240, "tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value vllm)/cmdline").stdout;
    expect(cmdline).toContain("serve stand-in/tiny-model");
    expect(cmdline).toContain("--max-model-len 4096");
    expect(cmdline).not.toContain(HF_TOKEN);
    expect(inCt(240, "stat -c '%a %U' /etc/vllm/hf-token; cat /etc/vllm/hf-token").stdout.trim().split("\n")).toEqual([
      "600 root",
      HF_TOKEN,
    ]);
  }, 60_000);

  it("install: container runs the registry's vllm-openai (test double) with --gpus all, the token mounted read-only", async () => {
    expect(inCt(241, "systemctl is-active vllm").stdout.trim()).toBe("active");
    expect(inCt(241, "docker inspect -f '{{.State.Running}} {{.Config.Image}}' vllm").stdout.trim()).toBe(
      "true vllm/vllm-openai:latest",
    );
    // dockerd took --gpus all as a request for every GPU (and its hook, a double here, ran without finding one).
    expect(JSON.parse(inCt(241, "docker inspect -f '{{json .HostConfig.DeviceRequests}}' vllm").stdout)).toEqual([
      expect.objectContaining({ Count: -1, Capabilities: [["gpu"]] }),
    ]);
    expect(inCt(241, "curl -s http://127.0.0.1:8000/v1/models").stdout).toContain('"id":"tiny-ct"');
    const args = inCt(241, "docker inspect -f '{{json .Args}}' vllm").stdout;
    expect(JSON.parse(args)).toEqual(expect.arrayContaining(["serve", "stand-in/tiny-model", "--max-model-len", "2048"]));
    expect(args).not.toContain(HF_TOKEN);
    expect(inCt(241, "docker exec vllm cat /etc/vllm/hf-token").stdout).toBe(HF_TOKEN);
    expect(inCt(241, "docker inspect -f '{{json .Config.Env}}' vllm").stdout).not.toContain(HF_TOKEN);
  }, 60_000);

  it(
    "a changed engine arg rewrites the unit and restarts the server, in place",
    async () => {
      const pid = inCt(240, "systemctl show -p MainPID --value vllm").stdout.trim();
      writeFileSync(project.definition, iso.text().replace("maxModelLen: 4096", "maxModelLen: 8192"));
      const r = await project.stack.up();
      expect(changes(r.summary.resourceChanges)).toEqual({ update: 1 });
      const after = inCt(240, "systemctl show -p MainPID --value vllm").stdout.trim();
      expect(after).not.toBe(pid);
      expect(inCt(240, `tr '\\0' ' ' < /proc/${after}/cmdline`).stdout).toContain("--max-model-len 8192");
      const again = await project.stack.up();
      expect(changes(again.summary.resourceChanges)).toEqual({});
    },
    10 * 60_000,
  );

  it(
    "in a container too: a changed engine arg makes a new container with it",
    async () => {
      const id = inCt(241, "docker inspect -f '{{.Id}}' vllm").stdout.trim();
      writeFileSync(
        project.definition,
        iso.text().replace("maxModelLen: 4096", "maxModelLen: 8192").replace("maxModelLen: 2048", "maxModelLen: 3072"),
      );
      const r = await project.stack.up();
      expect(changes(r.summary.resourceChanges)).toEqual({ update: 1 });
      expect(inCt(241, "docker inspect -f '{{.Id}}' vllm").stdout.trim()).not.toBe(id);
      expect(JSON.parse(inCt(241, "docker inspect -f '{{json .Args}}' vllm").stdout)).toEqual(
        expect.arrayContaining(["--max-model-len", "3072"]),
      );
      expect(inCt(241, "curl -s http://127.0.0.1:8000/v1/models").stdout).toContain('"id":"tiny-ct"');
    },
    10 * 60_000,
  );
});
