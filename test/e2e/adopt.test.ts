// End to end, day two: a host built the old way (no Pulumi) taken over by `phoenix adopt`, with the real engine and
// provider on the lab. The test builds it as the original scripts did, through the lab's Proxmox API and the node's
// shell: a golden Docker template created from the template file, Docker installed by a plain apt script, frozen with
// `pct template`; a guest that is a FULL clone of it, then `pct set`; a guest created from the template file with a
// dataset made by `zfs create` bind-mounted, Docker installed by a plain script and a bigger disk than the definition
// says; and one guest the definition does not name. Then: adopt → preview (0 creates, 0 replacements for adopted
// guests, updates only where the definition differs) → up (the features' checks ran, their installs did not) →
// a second up and a second adopt change nothing → protection refuses a replacement and a destroy, changing nothing.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { LabClient } from "../../lab/pve/client";
import { Lxc } from "../../lab/host/lxc";
import { run } from "../../lab/host/run";
import type { PulumiProject } from "../support/pulumi-project";
import { isolatedDevDefinition } from "../support/lab-definition";
import { labStack } from "../support/lab-stack";
import { buildTheOldWay, oldWayDefinition } from "../support/old-way-host";
import { ROOT } from "../support/toolchain";

const dir = mkdtempSync(join(tmpdir(), "phoenix-e2e-adopt-"));
const state = join(dir, "state");
const iso = isolatedDevDefinition(dir);
const lxc = new Lxc(join(state, "lxc"));
const shared = `${iso.pool}/shared-data`;
let project: PulumiProject;
let api: LabClient;
let teardown: () => Promise<void>;

const CT = "proxmoxve:index/containerLegacy:ContainerLegacy";
/** Fields the provider keeps for itself (its timeouts, the vmid the import id holds): recorded, nothing on the host. */
const BOOKKEEPING = /^(timeout[A-Z]\w*|vmId)$/;
const inCt = (vmid: number, command: string) => lxc.exec(vmid, ["bash", "-c", command]);
const changes = (c: Record<string, number> | undefined) =>
  Object.fromEntries(Object.entries(c ?? {}).filter(([op]) => op !== "same" && op !== "read"));
const ctConfig = (vmid: number) => api.data<Record<string, unknown>>("GET", `nodes/lab/lxc/${vmid}/config`);
const auditLines = () =>
  readFileSync(join(state, "api", "audit.jsonl"), "utf8")
    .trim()
    .split("\n").length;
/** What the API was asked to change since line `from` of its audit log (logins aside). */
const writesSince = (from: number) =>
  readFileSync(join(state, "api", "audit.jsonl"), "utf8")
    .trim()
    .split("\n")
    .slice(from)
    .map((l) => JSON.parse(l) as { method: string; path: string })
    .filter((r) => r.method !== "GET" && r.path !== "/access/ticket");
const stepLog = (resource: string) => readFileSync(join(project.dir, "logs", "adopt", `${resource}.log`), "utf8");
/** The docker.io installs dpkg recorded in a container. */
const dockerInstalls = (vmid: number) => inCt(vmid, "grep -c ' install docker.io' /var/log/dpkg.log || true").stdout.trim();

/** `phoenix …` run as a user runs it: in the project directory, with the stack's backend and toolchain. */
function phoenix(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, "scripts", "phoenix.cjs"), ...args], {
    cwd: project.dir,
    env: project.env,
    encoding: "utf8",
    timeout: 15 * 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  oldWayDefinition(iso);
  const made = await labStack({ dir, iso, stackName: "adopt" });
  ({ project, teardown } = made);
  ({ api } = await buildTheOldWay(made.lab, iso, lxc));
}, 40 * 60_000);

afterAll(() => teardown?.(), 300_000);

describe("phoenix adopt on a host built the old way", () => {
  let legacyConfig: string;
  let adoptedRecord: string;

  it(
    "reads the node and says per guest what the next up does; the unmanaged guest is left alone",
    async () => {
      legacyConfig = readFileSync(join(state, "pve", "lxc", "250.conf"), "utf8");
      const r = phoenix("adopt", "--stack", "adopt");
      console.log(`phoenix adopt (first run):\n${r.out}${r.err}`);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/template docker-golden \(CT 901 on lab\): adopted as is/);
      expect(r.out).toMatch(/app \(CT 200 on lab\): adopted; will be updated: memory\.dedicated/);
      expect(r.out).toMatch(/data \(CT 210 on lab\): adopted as is\n(.*\n)*?\s+would be replaced because disk\.size differs/);
      expect(r.out).toMatch(/legacy \(CT 250 on lab\): unmanaged, left alone/);
      expect(r.out).toContain(`${shared} on lab: exists: adopted`);
      expect(r.out).toMatch(/--rebuild app/);
      const took = /adopt took ([\d.]+) s/.exec(r.out);
      expect(took).not.toBeNull();
      console.log(`FIGURE adopt time (dev-derived stack, 3 guests + 1 unmanaged, first run): ${took![1]} s`);
      adoptedRecord = readFileSync(project.definition.replace(/\.yaml$/, ".adopted.json"), "utf8");
      const record = JSON.parse(adoptedRecord);
      expect(Object.keys(record.guests).sort()).toEqual(["app", "data", "docker-golden"]);
      expect(record.guests.data.keep).toEqual(["disk.size"]);
      expect(record.guests.data.observed).toMatchObject({ unprivileged: false, diskStorage: "tank-lxc", diskSize: 3 });
    },
    20 * 60_000,
  );

  it(
    "pulumi preview: no create and no replacement for the adopted guests, an update only where the definition differs",
    async () => {
      const events: EngineEvent[] = [];
      const p = await project.stack.preview({ onEvent: (e) => events.push(e) });
      const steps = events.flatMap((e) => (e.resourcePreEvent ? [e.resourcePreEvent.metadata] : []));
      const containers = steps.filter((s) => s.type === CT);
      const opsOf = (name: string) => containers.filter((s) => s.urn.endsWith(`::${name}`)).map((s) => s.op);
      for (const name of ["docker-golden", "app", "data"]) {
        expect(opsOf(name)).toContain("import");
        expect(opsOf(name).filter((op) => /create|replace|delete/.test(op))).toEqual([]);
      }
      // What the provider keeps for itself (its timeouts, the vmid) is recorded too, and so is what the import left out
      // because it held Proxmox's default (cpu: cores 1): the same values as run. The one real difference: app's memory.
      const updated = containers.filter((s) => s.op === "update");
      const real: [string, string, unknown, unknown][] = [];
      for (const u of updated) {
        const name = u.urn.split("::").pop()!;
        for (const key of Object.keys(u.detailedDiff ?? {}).filter((k) => !BOOKKEEPING.test(k))) {
          const [block, leaf] = key.split(".");
          const before = leaf ? (u.old?.inputs as any)?.[block!]?.[leaf] : (u.old?.inputs as any)?.[block!];
          const after = leaf ? (u.new?.inputs as any)?.[block!]?.[leaf] : (u.new?.inputs as any)?.[block!];
          if (key === "cpu")
            expect(after.cores).toBe((await ctConfig(name === "app" ? 200 : name === "data" ? 210 : 901)).cores ?? 1);
          else real.push([name, key, before, after]);
        }
      }
      expect(real).toEqual([["app", "memory.dedicated", 768, 1024]]);
      expect(p.changeSummary.replace ?? 0).toBe(0);
      // the datasets are adopted by their create (it sets only what differs) and the steps check first
      expect(p.stdout).not.toContain("will be REPLACED");
    },
    10 * 60_000,
  );

  it(
    "up imports and updates; the features' checks ran and their installs did not; the unmanaged guest is untouched",
    async () => {
      const installs = dockerInstalls(210);
      const configs = Object.fromEntries(await Promise.all([200, 210, 901].map(async (v) => [v, await ctConfig(v)] as const)));
      const up = await project.stack.up();
      expect(up.summary.result).toBe("succeeded");
      expect(changes(up.summary.resourceChanges)).toMatchObject({ import: 3 });
      expect(changes(up.summary.resourceChanges).replace).toBeUndefined();
      // on the node, the one value that changed is app's memory
      for (const vmid of [200, 210, 901]) {
        const { digest: _a, ...before } = configs[vmid]!;
        const { digest: _b, ...after } = await ctConfig(vmid);
        expect(after).toEqual(vmid === 200 ? { ...before, memory: 1024 } : before);
      }
      expect(String((await ctConfig(210)).rootfs)).toMatch(/size=3G/);
      // Docker in data (210): its check ran and reported converged; apt did not run again
      expect(dockerInstalls(210)).toBe(installs);
      const log = stepLog("data-docker");
      expect(log).toContain("adopt: check first");
      expect(log).toContain("adopt: converged for these settings: the script does not run");
      expect(log).not.toMatch(/==== .* create \(hash/);
      // the golden template's Docker step and its freeze: recorded as done (a template never starts)
      expect(stepLog("docker-golden-docker")).toContain("is a frozen template");
      expect(stepLog("docker-golden-freeze")).toContain("adopt: converged");
      // the dataset made by hand: adopted, only the quota set, its data kept
      expect(run("zfs", ["get", "-Hp", "-o", "value", "quota", shared]).stdout.trim()).toBe(String(2 * 1024 ** 3));
      expect(inCt(210, "cat /data/kept.txt").stdout).toBe("data\n");
      expect(readFileSync(join(state, "pve", "lxc", "250.conf"), "utf8")).toBe(legacyConfig);
      expect(lxc.state(250)).toBe("running");
    },
    20 * 60_000,
  );

  it(
    "a second up and a second adopt change nothing",
    async () => {
      const from = auditLines();
      const again = await project.stack.up();
      expect(changes(again.summary.resourceChanges)).toEqual({});
      const r = phoenix("adopt", "--stack", "adopt");
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/app \(CT 200 on lab\): in the stack already/);
      console.log(`FIGURE adopt time (second run, everything in the stack): ${/adopt took ([\d.]+) s/.exec(r.out)?.[1]} s`);
      expect(readFileSync(project.definition.replace(/\.yaml$/, ".adopted.json"), "utf8")).toBe(adoptedRecord);
      expect(changes((await project.stack.up()).summary.resourceChanges)).toEqual({});
      expect(writesSince(from)).toEqual([]);
    },
    20 * 60_000,
  );
});

describe("protection", () => {
  const edit = (f: (d: any) => void) => {
    const d = oldWayDefinition(iso);
    f(d);
    writeFileSync(project.definition, stringify(d));
  };

  it(
    "an up that would replace a protected guest stops with its name, the field and the way out; nothing changes",
    async () => {
      edit((d) => {
        d.guests[1].protect = true;
        d.guests[1].unprivileged = true;
      });
      const plan = phoenix("plan", "--stack", "adopt");
      expect(plan.code).toBe(1);
      expect(plan.out).toMatch(/REPLACE data \(CT 210 on lab\): unprivileged changes/);
      expect(plan.out).toMatch(/its rootfs goes with it; its data on dataset .*shared-data stays/);
      expect(plan.out).toMatch(/REFUSED \(protected\): guest 'data'/);
      const from = auditLines();
      const held = async () => JSON.stringify((await project.stack.exportStack()).deployment.resources);
      const stateBefore = await held();
      const failed = await project.stack.up().then(
        () => "succeeded",
        (e: Error) => e.message,
      );
      expect(failed).toMatch(
        /guest 'data' \(CT 210 on lab\) is protected: this up would replace it because unprivileged changes from false to true\. To rebuild it anyway set protect: false on guests\[1\]/,
      );
      expect(writesSince(from)).toEqual([]);
      expect(await held()).toBe(stateBefore);
    },
    10 * 60_000,
  );

  it(
    "destroy of a stack holding a protected guest stops with its name and the way out; nothing is deleted",
    async () => {
      edit((d) => (d.guests[1].protect = true));
      const up = await project.stack.up();
      expect(up.summary.result).toBe("succeeded");
      const from = auditLines();
      const failed = await project.stack.destroy().then(
        () => "succeeded",
        (e: Error) => e.message,
      );
      expect(failed).toMatch(
        /guest 'data' \(CT 210 on lab\) is protected: destroy would delete it\. To delete it set protect: false on guests\[1\]/,
      );
      expect(writesSince(from)).toEqual([]);
      for (const vmid of [200, 210, 250]) expect(lxc.state(vmid)).toBe("running");
      expect((await ctConfig(901)).template).toBe(1);
      expect(existsSync(join(state, "pve", "lxc", "901.conf"))).toBe(true);
      // its steps are still in the state: nothing was deleted before the guard refused
      const held = ((await project.stack.exportStack()).deployment.resources as { urn: string }[]).map((r) =>
        r.urn.split("::").pop(),
      );
      expect(held).toEqual(expect.arrayContaining(["data", "data-docker", "app-health", "docker-golden-freeze"]));
      // the way out: unprotect, up; the guard then lets a destroy through
      edit((d) => (d.guests[1].protect = false));
      await project.stack.up();
      const guard = (
        (await project.stack.exportStack()).deployment.resources as { type: string; outputs?: { refusal?: string } }[]
      ).find((r) => r.type === "pulumi-nodejs:dynamic/phoenix:DestroyGuard");
      expect(guard?.outputs?.refusal).toBe("");
    },
    15 * 60_000,
  );
});
