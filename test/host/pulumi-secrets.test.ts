// The test harness and the demo set the lab's root secrets (its root@pam password, the node's SSH private key) as
// Pulumi secret config. Every process's command line is sampled while they are set, and none may hold a value;
// the stack's passphrase is the project's own, random, in a 0600 file, and beats a PULUMI_CONFIG_PASSPHRASE the
// caller's environment happens to have. Needs the Pulumi toolchain (scripts/bootstrap-toolchain.sh), not root.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type PulumiProject, pulumiProject } from "../support/pulumi-project";
import { ROOT } from "../support/toolchain";

/** Every process's argv, NUL-separated words joined by spaces, read from /proc now. */
function commandLines(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const text = readFileSync(`/proc/${pid}/cmdline`, "latin1");
      if (text) out.push(text.split("\0").join(" "));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Samples every process's command line every few ms while `work` runs. */
async function sampled<T>(work: () => Promise<T>): Promise<{ result: T; lines: Set<string>; samples: number }> {
  const lines = new Set<string>();
  let samples = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      for (const l of commandLines()) lines.add(l);
      samples++;
      await new Promise((r) => setImmediate(r));
    }
  })();
  try {
    return { result: await work(), lines, samples };
  } finally {
    stop = true;
    await loop;
  }
}

const projects: PulumiProject[] = [];
const scratch = mkdtempSync(join(tmpdir(), "phoenix-secrets-test-"));
afterAll(async () => {
  for (const p of projects) await p.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

const PASSWORD = `root-pw-${randomBytes(9).toString("hex")}`;
// A key-like value: several lines and a trailing newline, which must survive exactly.
const KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${randomBytes(48).toString("base64")}\n${randomBytes(48).toString("base64")}\n-----END OPENSSH PRIVATE KEY-----\n`;
const KEY_LINE = KEY.split("\n")[1]!;

describe("secret config of the harness's Pulumi projects", () => {
  it("no process's command line ever holds a secret value while the project is set up, and the values arrive intact", async () => {
    const {
      result: project,
      lines,
      samples,
    } = await sampled(() =>
      pulumiProject({
        stackName: "secrets",
        definitionFile: join(ROOT, "stacks", "dev.yaml"),
        secrets: { proxmoxRootPassword: PASSWORD, nodeSshKey: KEY },
      }),
    );
    projects.push(project);
    // The sampler saw the pulumi processes that set the secrets (so it would have seen a value on their argv)…
    const setters = [...lines].filter((l) => /pulumi config set .*phoenix:(proxmoxRootPassword|nodeSshKey)/.test(l));
    expect(setters.length, `${samples} samples`).toBeGreaterThanOrEqual(1);
    // …and no command line, of any process, held either value.
    const leaks = [...lines].filter((l) => l.includes(PASSWORD) || l.includes(KEY_LINE));
    expect(leaks).toEqual([]);

    const get = (key: string) =>
      execFileSync("pulumi", ["config", "get", "--stack", "secrets", key], {
        cwd: project.dir,
        env: project.env,
        encoding: "utf8",
      });
    expect(get("phoenix:proxmoxRootPassword")).toBe(`${PASSWORD}\n`);
    expect(get("phoenix:nodeSshKey")).toBe(`${KEY}\n`);
    const stackFile = readFileSync(join(project.dir, "Pulumi.secrets.yaml"), "utf8");
    expect(stackFile).toMatch(/phoenix:proxmoxRootPassword:\n\s+secure: /);
    expect(stackFile).not.toContain(PASSWORD);

    // setSecret later on (a rotated password) goes the same way.
    const rotated = `rotated-${randomBytes(9).toString("hex")}`;
    const again = await sampled(() => project.setSecret("proxmoxRootPassword", rotated));
    expect([...again.lines].filter((l) => l.includes(rotated))).toEqual([]);
    expect(get("phoenix:proxmoxRootPassword")).toBe(`${rotated}\n`);
  }, 180_000);

  it("the passphrase is the project's own: random, in a 0600 file, and a PULUMI_CONFIG_PASSPHRASE around does not override it", async () => {
    const saved = process.env.PULUMI_CONFIG_PASSPHRASE;
    process.env.PULUMI_CONFIG_PASSPHRASE = "";
    try {
      const a = await pulumiProject({
        stackName: "p",
        definitionFile: join(ROOT, "stacks", "dev.yaml"),
        secrets: { proxmoxRootPassword: PASSWORD },
      });
      projects.push(a);
      const b = await pulumiProject({ stackName: "p", definitionFile: join(ROOT, "stacks", "dev.yaml") });
      projects.push(b);
      const file = a.env.PULUMI_CONFIG_PASSPHRASE_FILE!;
      expect(file.startsWith(a.dir)).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(a.dir).mode & 0o777).toBe(0o700);
      const passphrase = readFileSync(file, "utf8");
      expect(passphrase.length).toBeGreaterThanOrEqual(40);
      expect(passphrase).not.toBe(readFileSync(b.env.PULUMI_CONFIG_PASSPHRASE_FILE!, "utf8"));
      expect(a.env.PULUMI_CONFIG_PASSPHRASE).toBeUndefined();
      // The stack opens with the file alone, and not with another passphrase.
      const get = (env: NodeJS.ProcessEnv) =>
        execFileSync("pulumi", ["config", "get", "--stack", "p", "phoenix:proxmoxRootPassword"], {
          cwd: a.dir,
          env,
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
        });
      const { PULUMI_CONFIG_PASSPHRASE_FILE: _f, ...withoutFile } = a.env;
      expect(get(a.env)).toBe(`${PASSWORD}\n`);
      expect(() => get({ ...withoutFile, PULUMI_CONFIG_PASSPHRASE: "phoenix-test" })).toThrow();
      const other = join(scratch, "other-passphrase");
      writeFileSync(other, "not-it", { mode: 0o600 });
      expect(() => get({ ...withoutFile, PULUMI_CONFIG_PASSPHRASE_FILE: other })).toThrow();
    } finally {
      if (saved === undefined) delete process.env.PULUMI_CONFIG_PASSPHRASE;
      else process.env.PULUMI_CONFIG_PASSPHRASE = saved;
    }
  }, 180_000);
});
