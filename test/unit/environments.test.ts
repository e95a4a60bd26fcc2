// Environments side by side: every definition has its stack, deploy settings and agent policy; sibling definitions
// on a shared node may not share vmids, addresses or pools; `env new --from` moves a copy off all of them; the stack
// history says when an environment last updated and whether it drifted.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { checkShape } from "../../definition/load";
import { errorsOf, warningsOf } from "../../definition/problems";
import { deriveDefinition } from "../../cli/env/derive";
import { type HistoryEntry, changesText, summarize } from "../../cli/env/history";
import { environments } from "../../cli/env/project";
import { loadDefinition, validate } from "../../validate";
import { type Sibling, checkSiblings, isDefinitionFile } from "../../validate/siblings";

const ROOT = join(__dirname, "..", "..");
const DEV = readFileSync(join(ROOT, "stacks", "dev.yaml"), "utf8");
const sib = (env: string, text: string): Sibling => ({
  env,
  file: `stacks/${env}.yaml`,
  def: checkShape(parse(text)).definition!,
});

describe("the project's environments", () => {
  it("every definition under stacks/ has its Pulumi.<env>.yaml naming it, a deploy file and an agent policy", () => {
    const defs = readdirSync(join(ROOT, "stacks")).filter(isDefinitionFile).sort();
    expect(defs).toEqual(["ai-host.yaml", "cluster.yaml", "dev.yaml"]);
    const envs = environments(ROOT);
    for (const f of defs) {
      const env = f.replace(/\.yaml$/, "");
      const e = envs.find((x) => x.name === env)!;
      expect(e.stackFile).toBe(join(ROOT, `Pulumi.${env}.yaml`));
      expect(e.definition).toBe(`stacks/${f}`);
      expect(e.deployFile).toBe(join(ROOT, `Pulumi.${env}.deploy.yaml`));
      expect(existsSync(join(ROOT, "stacks", `${env}.agent.yaml`))).toBe(true);
    }
    expect(envs.map((e) => e.name)).toEqual(["ai-host", "cluster", "dev"]);
  });
});

describe("definitions sharing a node", () => {
  const moved = (text: string) =>
    text
      .replace(/vmid: (\d+)/g, (_, v) => `vmid: ${Number(v) + 1000}`)
      .replace(/10\.100\.0\./g, "10.100.1.")
      .replace("10.100.1.0/24", "10.100.0.0/16");

  it("a copy with the same vmids and addresses collides: each one named with the sibling's file, path and a fix", () => {
    const problems = checkSiblings(checkShape(parse(DEV)).definition!, [sib("staging", DEV)]);
    const errs = errorsOf(problems);
    expect(errs.map((p) => p.path)).toEqual(
      expect.arrayContaining([
        "templates[1].vmid",
        "guests[0].vmid",
        "guests[1].vmid",
        "templates[1].network[0].ip",
        "guests[0].network[0].ip",
        "network.bridges[0].pools[0].range",
      ]),
    );
    const vmid = errs.find((p) => p.path === "guests[0].vmid")!;
    expect(vmid.message).toBe(
      "vmid 200 (portainer) is also used by environment 'staging' on the same node (127.0.0.1:8006): stacks/staging.yaml guests[0].vmid (portainer)",
    );
    expect(vmid.fix).toMatch(/^give it a vmid no environment on this node uses, e\.g\. \d+$/);
    expect(warningsOf(problems).map((p) => p.path)).toEqual(["nodes[0].zfs.datasets[0]", "nodes[0].zfs.datasets[1]"]);
  });

  it("a static address inside the sibling's pool, and overlapping pools, collide too", () => {
    const other = DEV.replace(/vmid: (\d+)/g, (_, v) => `vmid: ${Number(v) + 1000}`).replace(
      "ip: 10.100.0.10/24",
      "ip: 10.100.0.150/24",
    );
    const errs = errorsOf(checkSiblings(checkShape(parse(other)).definition!, [sib("dev", DEV)]));
    expect(errs.find((p) => p.path === "guests[0].network[0].ip")!.message).toMatch(
      /^address 10\.100\.0\.150 \(portainer\) lies in environment 'dev''s pool 10\.100\.0\.100-10\.100\.0\.199/,
    );
    expect(
      errs.some((p) => p.path === "network.bridges[0].pools[0].range" && /overlaps environment 'dev''s pool/.test(p.message)),
    ).toBe(true);
  });

  it("nothing collides when the nodes differ, or when vmids and addresses are apart", () => {
    const elsewhere = DEV.replace("https://127.0.0.1:8006/", "https://10.0.0.50:8006/");
    expect(checkSiblings(checkShape(parse(elsewhere)).definition!, [sib("dev", DEV)])).toEqual([]);
    const apart = moved(DEV).replace(/range: 10\.100\.1\.100-10\.100\.1\.199/, "range: 10.100.2.100-10.100.2.199");
    expect(errorsOf(checkSiblings(checkShape(parse(apart)).definition!, [sib("dev", DEV)]))).toEqual([]);
  });

  it("loadDefinition with siblings reads the other definitions of the directory (lock files and policies are not definitions)", () => {
    const dir = mkdtempSync(join(tmpdir(), "phoenix-siblings-"));
    try {
      writeFileSync(join(dir, "dev.yaml"), DEV);
      // the files dev.yaml refers to (its app's compose file and template), beside it as in stacks/
      cpSync(join(ROOT, "stacks", "apps"), join(dir, "apps"), { recursive: true });
      writeFileSync(join(dir, "copy.yaml"), DEV);
      writeFileSync(join(dir, "dev.agent.yaml"), "heal: auto\n");
      writeFileSync(join(dir, "dev.lock.json"), "{}");
      expect(loadDefinition(join(dir, "dev.yaml")).definition).toBeDefined();
      const r = loadDefinition(join(dir, "dev.yaml"), { siblings: true });
      expect(r.definition).toBeUndefined();
      expect(errorsOf(r.problems)[0]!.message).toContain(`environment 'copy' on the same node`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("env new --from: the copy moves off every sibling's vmids, addresses and pools", () => {
  it("dev copied beside dev: valid on its own and against dev; comments and layout kept", () => {
    const d = deriveDefinition(DEV, [sib("dev", DEV)]);
    const def = checkShape(parse(d.text)).definition!;
    expect(errorsOf(validate(def))).toEqual([]);
    expect(errorsOf(checkSiblings(def, [sib("dev", DEV)]))).toEqual([]);
    expect(d.moves).toContain("portainer: vmid 200 → 300");
    expect(d.text).toContain("# The dev stack: fits the local lab");
    expect(d.text).toContain("sshKeys: [{secret: guestSshPublicKey}]");
  });

  it("property: copies side by side, in a /24 or a /22: each one validates and collides with none, or says there is no room", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.boolean(), (copies, wide) => {
        const source = wide
          ? DEV.replace("subnet: 10.100.0.0/24", "subnet: 10.100.0.0/22").replace(/(ip: 10\.100\.0\.\d+)\/24/g, "$1/22")
          : DEV;
        const sibs = [sib("dev", source)];
        for (let i = 0; i < copies; i++) {
          let text: string;
          try {
            text = deriveDefinition(source, sibs).text;
          } catch (e) {
            // Only a full subnet stops a copy, and never the first.
            expect((e as Error).message).toMatch(/^no free (range|address) in 10\.100\.0\.0\/(24|22)/);
            expect(i).toBeGreaterThan(0);
            expect(wide).toBe(false);
            return;
          }
          const def = checkShape(parse(text)).definition!;
          expect(errorsOf(validate(def))).toEqual([]);
          expect(errorsOf(checkSiblings(def, sibs))).toEqual([]);
          sibs.push(sib(`copy${i}`, text));
        }
      }),
      { numRuns: 8 },
    );
  });

  it("a subnet with no room left is an error that says so", () => {
    const tight = DEV.replace("subnet: 10.100.0.0/24", "subnet: 10.100.0.0/25").replace(
      "10.100.0.100-10.100.0.199",
      "10.100.0.2-10.100.0.126",
    );
    expect(() => deriveDefinition(tight, [sib("dev", tight)])).toThrow(/no free range in 10\.100\.0\.0\/25 for pool guests/);
  });
});

describe("a stack's history: last update and drift", () => {
  const at = (m: number) => new Date(Date.UTC(2026, 0, 1, 0, m)).toISOString();
  it("drift is a successful refresh with changes after the last update; a later up clears it", () => {
    const h: HistoryEntry[] = [
      {
        version: 3,
        kind: "refresh",
        startTime: at(3),
        endTime: at(3),
        result: "succeeded",
        resourceChanges: { same: 4, update: 1 },
      },
      {
        version: 2,
        kind: "update",
        startTime: at(2),
        endTime: at(2),
        result: "succeeded",
        resourceChanges: { same: 4, update: 1 },
      },
      { version: 1, kind: "update", startTime: at(1), endTime: at(1), result: "succeeded", resourceChanges: { create: 5 } },
    ];
    expect(summarize(h)).toEqual({
      drift: "yes",
      driftDetail: `refresh at ${at(3)}: update: 1`,
      lastUpdate: { kind: "update", result: "succeeded", time: at(2), changes: "update: 1" },
    });
    expect(
      summarize([{ version: 4, kind: "update", startTime: at(4), result: "succeeded", resourceChanges: { same: 5 } }, ...h])
        .drift,
    ).toBe("unknown");
    expect(summarize([{ ...h[0]!, resourceChanges: { same: 5 } }, ...h.slice(1)]).drift).toBe("no");
    expect(summarize([]).drift).toBe("unknown");
  });

  it("a read (the program's reference to its own last deployment) is no change and no drift", () => {
    const refresh: HistoryEntry = {
      version: 2,
      kind: "refresh",
      startTime: at(2),
      endTime: at(2),
      result: "succeeded",
      resourceChanges: { same: 5, read: 1 },
    };
    const up: HistoryEntry = {
      version: 1,
      kind: "update",
      startTime: at(1),
      endTime: at(1),
      result: "succeeded",
      resourceChanges: { read: 1, update: 1 },
    };
    expect(changesText({ same: 5, read: 1 })).toBe("no changes");
    expect(summarize([refresh, up])).toMatchObject({ drift: "no", lastUpdate: { changes: "update: 1" } });
  });
});

describe("phoenix env new (files only: --no-init)", () => {
  it("from dev: the moved definition, its Pulumi.<env>.yaml, deploy settings on its own paths, the agent policy", async () => {
    const { main } = await import("../../cli/main");
    const dir = mkdtempSync(join(tmpdir(), "phoenix-env-new-"));
    try {
      for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.dev.deploy.yaml", "stacks/dev.yaml", "stacks/dev.agent.yaml"])
        writeFileSync(join(dir, f.replace("stacks/", "")), readFileSync(join(ROOT, f)));
      execFileSync("mkdir", [join(dir, "stacks")]);
      for (const f of ["dev.yaml", "dev.agent.yaml"]) execFileSync("mv", [join(dir, f), join(dir, "stacks", f)]);
      cpSync(join(ROOT, "stacks", "apps"), join(dir, "stacks", "apps"), { recursive: true });
      const out: string[] = [];
      const err: string[] = [];
      const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s) };
      expect(await main(["env", "new", "staging", "--from", "dev", "--no-init", "--project", dir], io)).toBe(0);
      expect(out).toContain("  data: vmid 210 → 310");
      expect(readFileSync(join(dir, "Pulumi.staging.yaml"), "utf8")).toBe("config:\n  phoenix:definition: stacks/staging.yaml\n");
      const deploy = readFileSync(join(dir, "Pulumi.staging.deploy.yaml"), "utf8");
      expect(deploy).toContain("- stacks/staging.yaml");
      expect(deploy).not.toContain("stacks/dev.");
      expect(readFileSync(join(dir, "stacks", "staging.agent.yaml"), "utf8")).toContain("heal: auto");
      expect(loadDefinition(join(dir, "stacks", "staging.yaml"), { siblings: true }).definition).toBeDefined();
      expect(out.join("\n")).toContain(
        "pulumi config set --secret phoenix:proxmoxRootPassword --stack staging < proxmoxRootPassword.txt",
      );
      // A second time: the environment exists.
      expect(await main(["env", "new", "staging", "--no-init", "--project", dir], io)).toBe(2);
      expect(err.at(-1)).toContain("environment 'staging' exists already");
      expect(await main(["env", "new", "bad/name", "--no-init", "--project", dir], io)).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
