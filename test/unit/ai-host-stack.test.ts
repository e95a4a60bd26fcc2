// stacks/ai-host.yaml is valid on the hardware it declares, and the over-committed version it replaced is refused
// naming GPU 0, both vLLM servers and their shares.
import { readFileSync, writeFileSync, mkdtempSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadDefinition } from "../../validate";

const STACK = join(__dirname, "..", "..", "stacks", "ai-host.yaml");

describe("stacks/ai-host.yaml", () => {
  it("validates, without a warning", () => {
    const { definition, problems } = loadDefinition(STACK);
    expect(problems).toEqual([]);
    expect(definition).toBeDefined();
  });

  it("with vllm-gpu0 back at 0.9 of GPU 0 (as it was), is refused naming GPU 0, both services and their shares", () => {
    const dir = mkdtempSync(join(tmpdir(), "phx-ai-host-"));
    cpSync(join(STACK, "..", "apparmor"), join(dir, "apparmor"), { recursive: true });
    cpSync(join(STACK, "..", "apps"), join(dir, "apps"), { recursive: true });
    const text = readFileSync(STACK, "utf8").replace(
      "maxModelLen: 8192\n        gpuMemoryUtilization: 0.5",
      "maxModelLen: 8192\n        gpuMemoryUtilization: 0.9",
    );
    writeFileSync(join(dir, "ai-host.yaml"), text);
    const { definition, problems } = loadDefinition(join(dir, "ai-host.yaml"));
    expect(definition).toBeUndefined();
    expect(problems.filter((p) => p.severity === "error")).toEqual([
      expect.objectContaining({
        path: "nodes[0].gpus[0]",
        message:
          "GPU 0 of node 'pve' (RTX 5060 Ti 16GB, 16 GiB) is over-committed: its services reserve 1.35 of its memory (vllm-gpu0: vllm 0.90 (14.4 GiB); vllm-dual: vllm 0.45 (7.2 GiB)), more than 0.95 (5% stays free for CUDA contexts and the driver)",
      }),
    ]);
  });
});
