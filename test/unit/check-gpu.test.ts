// `phoenix check gpu`: the node script it runs (read-only, ok/FAIL lines) against a node tree and the recording
// doubles, and the command's usage; no GPU here, so the real run is what a user with one does.
import { afterEach, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import { checkShape } from "../../definition/load";
import { buildPlan } from "../../plan/plan";
import { validated } from "../../validate";
import { gpuCheckScript } from "../../cli/check/gpu";
import { main } from "../../cli/main";
import { GuestSandbox } from "../support/guest-sandbox";
import { base, gpuGuest, vm } from "./validate/support";

const sandboxes: GuestSandbox[] = [];
afterEach(() => sandboxes.splice(0).forEach((s) => s.dispose()));

function plan() {
  const d = base();
  d.nodes[0].vfio = true;
  d.nodes[0].nvidia = { driverVersion: "580.76.05", installOnHost: true, runfileSha256: "0".repeat(64) };
  d.nodes[0].gpus = [
    { index: 0, pci: "0000:01:00.0", deviceId: "10de:2d04" },
    { index: 1, pci: "0000:02:00.0", deviceId: "10de:2c05" },
  ];
  d.templates[2].gpus = [1];
  d.guests.push(gpuGuest({ gpus: [1], features: { ollama: {} } }), vm(300, "ws", { gpus: [0] }));
  return buildPlan(validated(checkShape(d).definition!));
}

describe("phoenix check gpu", () => {
  it("reports the driver, the boot unit, device nodes, each GPU's driver and the containers; exit 1 on a failure", () => {
    const p = plan();
    const s = new GuestSandbox();
    sandboxes.push(s);
    s.addTool("readlink");
    s.write(
      "proc/driver/nvidia/version",
      "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.76.05  Thu Jan  1 00:00:00 UTC 2026\n",
    );
    s.setState("enabled-phoenix-nvidia-init");
    s.setState("active-phoenix-nvidia-init");
    for (const n of ["nvidiactl", "nvidia-uvm", "nvidia1"]) s.write(`dev/${n}`, "");
    for (const [pci, drv] of [
      ["0000:01:00.0", "vfio-pci"],
      ["0000:02:00.0", "nvidia"],
    ]) {
      fs.mkdirSync(s.file(`sys/bus/pci/devices/${pci}`), { recursive: true });
      fs.symlinkSync(`../../../../bus/pci/drivers/${drv}`, s.file(`sys/bus/pci/devices/${pci}/driver`));
    }
    const r = s.run(gpuCheckScript(p, p.nodes[0]!), {});
    expect(r.code).toBe(1);
    expect(r.stdout.split("\n")).toEqual([
      "ok   NVIDIA driver 580.76.05 loaded",
      "ok   phoenix-nvidia-init.service enabled (active)",
      "ok   /dev/nvidiactl",
      "ok   /dev/nvidia-uvm",
      "FAIL /dev/nvidia-uvm-tools missing",
      "ok   /dev/nvidia1",
      "ok   GPU 0 (0000:01:00.0) on vfio-pci",
      "ok   GPU 1 (0000:02:00.0) on nvidia",
      "ok   VFIO: no reboot pending",
      "FAIL CT 220 llm is not running",
      "2 check(s) failed",
      "",
    ]);
    // Read-only: nothing but queries ran.
    expect(r.calls.filter((c) => !/^(systemctl (--quiet )?is-(enabled|active)|pct status|nvidia-smi)/.test(c))).toEqual([]);
  });

  it("prints the script for a stack (--script), and refuses what it cannot check", async () => {
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s) };
    expect(await main(["check", "gpu", "--stack", "ai-host", "--script"], io)).toBe(0);
    expect(out.join("\n")).toContain('fail "GPU 0 (0000:01:00.0) on ${drv:-no driver}, nvidia expected"');
    expect(await main(["check", "gpu", "--stack", "dev"], io)).toBe(2);
    expect(out.join("\n")).toContain("no node of this definition has GPUs");
    expect(await main(["check", "cpu"], io)).toBe(2);
  });
});
