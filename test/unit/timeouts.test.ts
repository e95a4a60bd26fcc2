// Time limits of provisioning steps: each feature's declared default, the definition's override, the health checks'
// overall limit as their script enforces it (run by bash against the recording doubles), and the graph's wiring.
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it } from "vitest";
import { renderAppArmor } from "../../provisioners/apparmor/apparmor";
import { renderDocker } from "../../provisioners/docker/docker";
import { timeoutOf } from "../../provisioners/engine/feature";
import { renderHealthChecks } from "../../provisioners/health-check/health-check";
import { renderNvidia } from "../../provisioners/nvidia/nvidia";
import { renderNvidiaContainerToolkit } from "../../provisioners/nvidia-container-toolkit/nvidia-container-toolkit";
import { renderNvidiaHost } from "../../provisioners/nvidia/nvidia-host";
import { renderGpuInit } from "../../provisioners/nvidia/nvidia-gpu-init";
import { renderOllama } from "../../provisioners/ollama/ollama";
import { renderVfio } from "../../provisioners/vfio/vfio";
import { renderPortainer } from "../../provisioners/portainer/portainer";
import { renderVllm } from "../../provisioners/vllm/vllm";
import { buildPlan } from "../../plan/plan";
import { loadDefinition } from "../../validate";
import { GuestSandbox } from "../support/guest-sandbox";
import { installRecordingMocks, settle } from "../support/pulumi-mocks";

const sandboxes: GuestSandbox[] = [];
afterEach(() => sandboxes.splice(0).forEach((s) => s.dispose()));

describe("declared defaults and the definition's overrides", () => {
  const target = { connection: { host: "10.0.0.2" } };
  const vllm = { model: "m", servedModelName: "m", port: 8000, host: "0.0.0.0", tensorParallelSize: 1, args: {} } as const;

  it("every feature declares its own limit, under its key in timeouts", () => {
    expect(
      [
        renderDocker({ source: "debian", daemon: {} }, { nvidiaRuntime: false }),
        renderNvidia({ source: "nvidia", driverVersion: "580.76.05" }),
        renderNvidiaContainerToolkit({}),
        renderVllm({ ...vllm, install: "venv" }),
        renderVllm({ ...vllm, install: "venv" }, { startTimeoutSeconds: 60 }),
        renderPortainer({ role: "agent" }),
        renderAppArmor({ vmid: 200, lxcOptions: [] }),
        renderHealthChecks([]),
        renderOllama({ host: "0.0.0.0", port: 11434, models: [], prune: false, env: {}, insecure: false }),
        renderGpuInit({ gpus: [{ index: 0 }], persistence: "all" }),
        renderVfio({ devices: [], hostDeviceIds: [] }),
      ].map((f) => f.timeout),
    ).toEqual([
      { seconds: 1200, key: "docker" },
      { seconds: 3600, key: "nvidia" },
      { seconds: 900, key: "nvidia-container-toolkit" },
      { seconds: 4500, key: "vllm" },
      { seconds: 3660, key: "vllm" },
      { seconds: 900, key: "portainer" },
      { seconds: 300, key: "apparmor" },
      { seconds: 900, key: "healthChecks", grace: 60 },
      { seconds: 3600, key: "ollama" },
      { seconds: 300 },
      { seconds: 1800 },
    ]);
    expect(renderNvidiaHost({ version: "580.76.05", runfileSha256: "0".repeat(64), timeout: 7200 }).timeout).toEqual({
      seconds: 7200,
      setting: "nodes[].nvidia.timeout",
    });
  });

  it("a machine's timeouts override the default, and the message names the setting", () => {
    const docker = renderDocker({ source: "debian", daemon: {} }, { nvidiaRuntime: false });
    expect(timeoutOf(target, docker)).toEqual({ seconds: 1200, setting: "timeouts.docker" });
    const web = { ...target, timeouts: { values: { docker: 60 }, where: "guest 'web'" } };
    expect(timeoutOf(web, docker)).toEqual({ seconds: 60, setting: "timeouts.docker of guest 'web'" });
    // The health checks' own limit is HC_LIMIT; the engine stops the step a minute after it.
    const health = renderHealthChecks([], 300);
    expect(health.params["HC_LIMIT"]).toBe("300");
    expect(timeoutOf({ ...target, timeouts: { values: { healthChecks: 300 }, where: "guest 'web'" } }, health)).toEqual({
      seconds: 360,
      setting: "timeouts.healthChecks of guest 'web'",
    });
  });

  it("the definition's timeouts reach each step's RemoteScript", async () => {
    const records = await installRecordingMocks("timeouts");
    const { GuestProvisioning } = await import("../../components/guest-provisioning");
    const dir = join(__dirname, "..", "..", "stacks");
    const def = loadDefinition(join(dir, "ai-host.yaml")).definition!;
    const raw = JSON.parse(JSON.stringify(def));
    const g = raw.guests.find((x: { name: string }) => x.name === "vllm-gpu0");
    g.timeouts = { vllm: 7200, healthChecks: 120 };
    const plan = buildPlan(raw);
    const container = new (class extends pulumi.CustomResource {})("test:index:Container", "ct", {});
    new GuestProvisioning("vllm-gpu0", {
      machine: plan.machines.find((m) => m.name === "vllm-gpu0")!,
      node: { host: "10.0.0.2" },
      secrets: { hfToken: pulumi.secret("t"), portainerAdminPassword: pulumi.secret("p") },
      definitionDir: dir,
      dependsOn: [container],
      apparmorProfiles: plan.nodes[0]!.apparmorProfiles,
    });
    await settle(records);
    const timeout = (n: string) => records.find((r) => r.name === n)!.inputs["timeout"];
    expect(timeout("vllm-gpu0-vllm")).toEqual({ seconds: 7200, setting: "timeouts.vllm of guest 'vllm-gpu0'" });
    expect(timeout("vllm-gpu0-portainer")).toEqual({ seconds: 900, setting: "timeouts.portainer of guest 'vllm-gpu0'" });
    expect(timeout("vllm-gpu0-apparmor")).toEqual({ seconds: 300, setting: "timeouts.apparmor of guest 'vllm-gpu0'" });
    expect(timeout("vllm-gpu0-health")).toEqual({ seconds: 180, setting: "timeouts.healthChecks of guest 'vllm-gpu0'" });
    expect(records.find((r) => r.name === "vllm-gpu0-health")!.inputs["params"]["HC_LIMIT"]).toBe("120");
  });
});

describe("health checks' time limits", () => {
  const run = (checks: Parameters<typeof renderHealthChecks>[0], limit: number) => {
    const s = new GuestSandbox();
    sandboxes.push(s);
    const f = renderHealthChecks(checks, limit);
    const started = Date.now();
    return { ...s.run(f.script, f.params), ms: Date.now() - started };
  };

  it("an attempt that hangs is stopped at its own limit and counts as failed", () => {
    const r = run([{ name: "stuck", command: "echo waiting; exec tail -f /dev/null", retries: 2, interval: 1, timeout: 1 }], 60);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "health check stuck: FAILED (exit 124 after 2 attempt(s)) running: echo waiting; exec tail -f /dev/null\n",
    );
    expect(r.stdout).toContain("  | (attempt stopped after 1s)\n");
    expect(r.ms).toBeLessThan(10_000);
  });

  // bash's SECONDS counts whole seconds: the limit holds to within one.
  it("the overall limit stops the retries with the check's name and the time taken; later checks are not run", () => {
    const r = run(
      [
        { name: "ok", command: "true", retries: 1, interval: 1 },
        { name: "models", command: "exec tail -f /dev/null", retries: 50, interval: 1, timeout: 1 },
        { name: "after", command: "true", retries: 1, interval: 1 },
      ],
      3,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("health check ok: ok\n");
    expect(r.stdout).toMatch(
      /health check models: FAILED: gave up after [1-3]s at attempt [1-3] of 50 \(exit 124\), the health checks' overall limit is 3s \(timeouts\.healthChecks\) running: exec tail -f \/dev\/null\n/,
    );
    expect(r.stdout).toContain("health check after: not run: the overall limit of 3s ran out during 'models'\n");
    expect(r.stderr).toMatch(
      /health check 'models' ran out of time after [1-3]s \(overall limit 3s\); 2 of 3 health check\(s\) failed/,
    );
    expect(r.ms).toBeLessThan(8_000);
  });
});
