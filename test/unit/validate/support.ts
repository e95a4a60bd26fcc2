// The bad-definition table's shared part: a valid base definition (modelled on stacks/dev.yaml plus GPUs, an
// NVIDIA golden template and a VM base template), the one path every case goes through, and the case runner
// that asserts exactly the expected problems — no error or warning at any other path, and a fix on each.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { expect, it } from "vitest";
import { checkShape } from "../../../definition/load";
import type { Problem, Severity } from "../../../definition/problems";
import { validate } from "../../../validate";

/** A pinned API certificate (any 32 bytes: nothing connects in these tests). */
export const LAB_FINGERPRINT = Array.from({ length: 32 }, (_, i) =>
  (i * 7 + 16).toString(16).toUpperCase().padStart(2, "0"),
).join(":");

// Test data is edited freely by the cases; its type is the raw input a YAML file would give.
export type Raw = any;

/**
 * Modelled on stacks/dev.yaml, plus what GPU and VM cases need: two GPUs and an NVIDIA driver on the
 * node, an NVIDIA golden template (pinning CUDA 12.8) and a VM base template.
 */
export function base(): Raw {
  return {
    version: 1,
    access: { sshKeys: [{ secret: "guestSshPublicKey" }] },
    nodes: [
      {
        name: "lab",
        cores: 8,
        memory: 8192,
        api: {
          endpoint: "https://127.0.0.1:8006/",
          fingerprint: LAB_FINGERPRINT,
          username: "root@pam",
          password: { secret: "proxmoxRootPassword" },
        },
        ssh: { host: "127.0.0.1", port: 8022, user: "root", privateKey: { secret: "nodeSshKey" } },
        storage: [
          { id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl", "iso", "backup", "snippets"] },
          { id: "tank-lxc", type: "zfspool", pool: "tank/lxc-disks", content: ["rootdir", "images"] },
        ],
        zfs: {
          pools: [{ name: "tank" }],
          datasets: [
            { name: "tank/lxc-disks", properties: { compression: "lz4", recordsize: "16K" } },
            { name: "tank/shared-data", properties: { compression: "lz4", recordsize: "128K", quota: "1G" }, protect: false },
          ],
        },
        gpus: [
          { index: 0, pci: "0000:01:00.0" },
          { index: 1, pci: "0000:02:00.0" },
        ],
        nvidia: { driverVersion: "580.76.05" },
      },
    ],
    network: {
      domain: "lab.internal",
      bridges: [
        {
          name: "vmbr0",
          subnet: "10.100.0.0/24",
          gateway: "10.100.0.1",
          dns: ["10.100.0.1"],
          pools: [{ name: "guests", range: "10.100.0.100-10.100.0.199" }],
        },
      ],
    },
    templates: [
      // templates[0]
      {
        name: "debian-12-base",
        type: "lxc",
        os: "debian-12",
        source: { storage: "local", file: "vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" },
      },
      // templates[1]
      {
        name: "docker-golden",
        vmid: 901,
        parent: "debian-12-base",
        cores: 2,
        memory: 1024,
        disk: { storage: "tank-lxc", size: 4 },
        nesting: true,
        network: [{ name: "eth0", bridge: "vmbr0", ip: "10.100.0.91/24" }],
        features: { docker: { source: "debian" } },
        snapshot: "golden",
      },
      // templates[2]
      {
        name: "nvidia-golden",
        vmid: 902,
        parent: "debian-12-base",
        gpus: [0, 1],
        network: [{ name: "eth0", bridge: "vmbr0", ip: "10.100.0.92/24" }],
        features: { nvidia: { cudaVersion: "12.8" } },
      },
      // templates[3]
      { name: "cloud-base", type: "vm", vmid: 9000, source: { storage: "local", file: "iso/noble-server-cloudimg-amd64.img" } },
    ],
    guests: [
      // guests[0]
      {
        vmid: 200,
        name: "portainer",
        template: "docker-golden",
        cores: 1,
        memory: 1024,
        disk: { storage: "tank-lxc", size: 4 },
        network: [{ name: "eth0", bridge: "vmbr0", ip: "10.100.0.10/24" }],
        features: { portainer: { role: "server", adminPassword: { secret: "portainerAdminPassword" } } },
        startAtBoot: true,
        bootOrder: 1,
      },
      // guests[1]
      {
        vmid: 210,
        name: "data",
        template: "debian-12-base",
        cores: 1,
        memory: 512,
        disk: { storage: "tank-lxc", size: 2 },
        network: [{ name: "eth0", bridge: "vmbr0", ip: "auto" }],
        mountPoints: [{ dataset: "tank/shared-data", path: "/data" }],
        dependsOn: ["portainer"],
      },
    ],
  };
}

/**
 * The definition's directory for every case: file references resolve here. It holds scripts/setup.sh, an empty
 * script, a directory named like a script, apparmor/lxc-phoenix-test, and symlinks that lead outside it (to a file
 * in OUTSIDE_DIR and to /etc).
 */
export const PROJECT_ROOT = mkdtempSync(join(tmpdir(), "phx-validate-"));
export const PROJECT_DIR = join(PROJECT_ROOT, "project");
export const OUTSIDE_DIR = join(PROJECT_ROOT, "outside");
for (const [rel, text] of Object.entries({
  "project/scripts/setup.sh": "#!/bin/bash\necho set up\n",
  "project/scripts/empty.sh": "\n",
  "project/scripts/dir.sh/placeholder": "",
  "project/apparmor/lxc-phoenix-test": "profile lxc-phoenix-test flags=(attach_disconnected) {}\n",
  "outside/secret.sh": "#!/bin/bash\necho not the project's\n",
})) {
  mkdirSync(dirname(join(PROJECT_ROOT, rel)), { recursive: true });
  writeFileSync(join(PROJECT_ROOT, rel), text);
}
symlinkSync(join(OUTSIDE_DIR, "secret.sh"), join(PROJECT_DIR, "scripts", "linked.sh"));
symlinkSync("/etc", join(PROJECT_DIR, "etc-link"));
process.once("exit", () => rmSync(PROJECT_ROOT, { recursive: true, force: true }));

/** The one path every case goes through: shape first, semantics only when the shape is right. */
export function problemsOf(raw: unknown, projectDir = PROJECT_DIR): Problem[] {
  const shaped = checkShape(raw);
  return shaped.definition ? validate(shaped.definition, { dir: projectDir }) : shaped.problems;
}

export const lxc = (vmid: number, name: string, extra: Raw = {}): Raw => ({
  vmid,
  name,
  template: "debian-12-base",
  network: [{ ip: "auto" }],
  ...extra,
});
export const vm = (vmid: number, name: string, extra: Raw = {}): Raw => ({
  vmid,
  name,
  type: "vm",
  template: "cloud-base",
  network: [{ ip: "auto" }],
  ...extra,
});
/** An LXC guest cloned from the NVIDIA golden template (so nvidia and GPUs 0,1 are inherited). */
export const gpuGuest = (extra: Raw = {}): Raw => ({
  vmid: 220,
  name: "llm",
  template: "nvidia-golden",
  network: [{ ip: "auto" }],
  ...extra,
});

export interface Expected {
  path: string;
  message: string;
  severity?: Severity;
  /** Checked when given. */
  fix?: string;
}
export interface Case {
  name: string;
  mutate: (d: Raw) => void;
  expect: Expected[];
}

export const SECRET_VALUE = "hunter2-Sup3r-s3cret";

export const errorPaths = (ps: readonly Problem[]) =>
  [...new Set(ps.filter((p) => p.severity === "error").map((p) => p.path))].sort();
export const warningPaths = (ps: readonly Problem[]) =>
  [...new Set(ps.filter((p) => p.severity === "warning").map((p) => p.path))].sort();

/** One test per case, plus a guard that no case was lost or named twice. */
export function runCases(cases: readonly Case[], atLeast: number): void {
  it(`has at least ${atLeast} cases, each with a distinct name`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(atLeast);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases)("$name", ({ mutate, expect: expected }) => {
    const raw = base();
    mutate(raw);
    const problems = problemsOf(raw);
    for (const e of expected)
      expect(problems).toContainEqual(
        expect.objectContaining({
          severity: e.severity ?? "error",
          path: e.path,
          message: e.message,
          ...(e.fix ? { fix: e.fix } : {}),
        }),
      );
    // Nothing else: no error (and no warning) at a path the case does not expect.
    expect(errorPaths(problems)).toEqual(
      [...new Set(expected.filter((e) => (e.severity ?? "error") === "error").map((e) => e.path))].sort(),
    );
    expect(warningPaths(problems)).toEqual(
      [...new Set(expected.filter((e) => e.severity === "warning").map((e) => e.path))].sort(),
    );
    // Every problem tells the user how to fix it.
    for (const p of problems) expect(p.fix, `${p.path}: ${p.message}`).toBeTruthy();
  });
}
