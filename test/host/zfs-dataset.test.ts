// ZfsDataset: the pure parts, then the provider against real ZFS (zfs-fuse on a sparse file) over a real sshd.
import { destroyPool, ensureZfsDaemon, stopZfsDaemon, zfsReady } from "../../lab/host/zfs";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ABSENT,
  CLAIM_PROPERTY,
  type ZfsDatasetInputs,
  type ZfsDatasetOutputs,
  type ZfsRun,
  createRun,
  deleteOutcome,
  destroyRun,
  diffDataset,
  diffProperties,
  normalizeValue,
  parseSize,
  parseZfsGet,
  protectedMessage,
  readRun,
  reconcile,
  updateRun,
  zfsDatasetProvider,
} from "../../provisioners/zfs-dataset/zfs-dataset";
import { buildScriptStdin } from "../../provisioners/engine/run-script";
import { TestSshd, freePort } from "../support/sshd";
import { installRecordingMocks, settle } from "../support/pulumi-mocks";

const ROOT = path.resolve(__dirname, "..", "..");

// The dynamic provider host sends outputs through protobuf's Struct.fromJavaScript, which rejects undefined.
const Struct = createRequire(require.resolve("@pulumi/pulumi"))("google-protobuf/google/protobuf/struct_pb").Struct;
const sendable = (outs: unknown) => expect(() => Struct.fromJavaScript(outs)).not.toThrow();

describe("sizes", () => {
  it("parses ZFS sizes to bytes, units in powers of 1024", () => {
    expect(parseSize("1G")).toBe(1073741824n);
    expect(parseSize("128K")).toBe(131072n);
    expect(parseSize("128k")).toBe(131072n);
    expect(parseSize("1.5T")).toBe(1649267441664n);
    expect(parseSize("512")).toBe(512n);
    expect(parseSize("512B")).toBe(512n);
    expect(parseSize("10GB")).toBe(10737418240n);
    expect(parseSize("2GiB")).toBe(2147483648n);
    expect(parseSize("16E")).toBe(18446744073709551616n);
    expect(parseSize("0.5K")).toBe(512n);
    for (const bad of ["", "G", "1X", "1.2.3G", "-1G", "1 iB", "abc"]) expect(parseSize(bad)).toBeUndefined();
  });

  it("n<unit> is n·1024^k for any n", () => {
    fc.assert(
      fc.property(fc.nat({ max: 1_000_000 }), fc.integer({ min: 0, max: 6 }), (n, k) => {
        const unit = ["", "K", "M", "G", "T", "P", "E"][k]!;
        return parseSize(`${n}${unit}`) === BigInt(n) * 1024n ** BigInt(k);
      }),
    );
  });

  it("normalizes values so the declared form and `zfs get -p` compare equal", () => {
    expect(normalizeValue("quota", "1G")).toBe(normalizeValue("quota", "1073741824"));
    expect(normalizeValue("quota", 1073741824)).toBe("1073741824");
    expect(normalizeValue("recordsize", "128K")).toBe("131072");
    expect(normalizeValue("refquota", "none")).toBe("0");
    expect(normalizeValue("userquota@alice", "1M")).toBe("1048576");
    expect(normalizeValue("mountpoint", "/srv/models/")).toBe("/srv/models");
    expect(normalizeValue("mountpoint", "/")).toBe("/");
    expect(normalizeValue("compression", "lz4")).toBe("lz4");
    // Not a size property: 1G stays text.
    expect(normalizeValue("user:note", "1G")).toBe("1G");
  });
});

describe("property diff", () => {
  it("reports changed, added and removed properties, comparing parsed values", () => {
    expect(
      diffProperties(
        { quota: "1G", compression: "lz4", atime: "off" },
        { quota: "1073741824", compression: "zstd", recordsize: "1M" },
      ),
    ).toEqual({
      changed: ["compression"],
      added: ["recordsize"],
      removed: ["atime"],
    });
    expect(diffProperties({ quota: "1G" }, { quota: 1073741824 })).toEqual({ changed: [], added: [], removed: [] });
  });

  const base: ZfsDatasetOutputs = {
    connection: { host: "10.0.0.1", port: 22, user: "root" },
    credentials: { privateKey: "k" },
    hostKey: "ssh-ed25519 AAAA",
    name: "tank/models",
    properties: { quota: "1G" },
    protect: true,
  };
  const inputs = (over: Partial<ZfsDatasetInputs> = {}): ZfsDatasetInputs => ({
    connection: { host: "10.0.0.1", port: 22, user: "root", privateKey: "k" },
    name: "tank/models",
    properties: { quota: "1G" },
    protect: true,
    ...over,
  });

  it("name change → replace; properties, protect or how the node is reached → in-place update; nothing → no change", () => {
    expect(diffDataset(base, inputs())).toMatchObject({ changes: false, replaces: [] });
    expect(diffDataset(base, inputs({ properties: { quota: "1073741824" } }))).toMatchObject({ changes: false });
    expect(diffDataset(base, inputs({ properties: { quota: "2G" } }))).toMatchObject({
      changes: true,
      replaces: [],
      properties: { changed: ["quota"], added: [], removed: [] },
    });
    expect(diffDataset(base, inputs({ properties: {} }))).toMatchObject({
      changes: true,
      replaces: [],
      properties: { removed: ["quota"] },
    });
    expect(diffDataset(base, inputs({ protect: false }))).toMatchObject({ changes: true, replaces: [] });
    expect(diffDataset(base, inputs({ name: "tank/llm" }))).toMatchObject({ changes: true, replaces: ["name"] });
    // Connection details are not identity: a new address, port, user or key of the same node updates in place.
    const conn = inputs().connection;
    for (const c of [
      { ...conn, host: "10.0.0.2" },
      { ...conn, port: 2222 },
      { ...conn, user: "admin" },
      { ...conn, privateKey: "another key" },
    ])
      expect(diffDataset(base, inputs({ connection: c }))).toEqual({
        changes: true,
        replaces: [],
        deleteBeforeReplace: false,
        properties: { changed: [], added: [], removed: [] },
      });
    // The host key is the node's pin, its own input: a re-pin updates in place too (unit/connection-identity has more).
    const pinned = { ...base, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnAxQKWnTj0PHJBc5D5ynHTrl7u1dDRT6Tgl9j7UyQ1" };
    expect(
      diffDataset(pinned, {
        ...inputs(),
        hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GNCG",
      }),
    ).toMatchObject({ changes: true, replaces: [] });
  });
});

describe("zfs get parsing", () => {
  it("parses -Hp output, values with spaces included", () => {
    const out =
      "quota\t1073741824\tlocal\ncompression\tlz4\tinherited from tank\nuser:note\ta b c\tlocal\nmountpoint\t/tank/models\tdefault\n";
    expect(parseZfsGet(out)).toEqual({
      quota: { value: "1073741824", source: "local" },
      compression: { value: "lz4", source: "inherited from tank" },
      "user:note": { value: "a b c", source: "local" },
      mountpoint: { value: "/tank/models", source: "default" },
    });
    expect(() => parseZfsGet("garbage\n")).toThrow(/unexpected zfs get line/);
  });

  it("keeps the declared form where the host agrees and shows what the host has where it does not", () => {
    const found = parseZfsGet("quota\t1073741824\tlocal\ncompression\toff\tlocal\n");
    expect(reconcile({ quota: "1G", compression: "lz4", recordsize: "1M" }, found)).toEqual({
      quota: "1G",
      compression: "off",
      recordsize: "-",
    });
  });
});

describe("commands", () => {
  // Runs a script with its env as runScript sends them (`bash -s`, same stdin), with a fake `zfs` that records each
  // call's argv, one word per line.
  function runWithFakeZfs(
    run: ZfsRun | undefined,
    listOutput = "cannot open 'x': dataset does not exist",
    listCode = 1,
    /** What `zfs get … -s local phoenix:owner` prints: the claim set on the dataset ("" when none). */
    owner = "",
  ): { calls: string[][]; stdout: string; code: number } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "phx-fakezfs-"));
    try {
      const calls = path.join(dir, "calls");
      fs.writeFileSync(
        path.join(dir, "zfs"),
        `#!/bin/bash\n{ for a in "$@"; do printf '%s\\0' "$a"; done; printf '\\n'; } >> ${calls}\n` +
          `if [ "$1" = list ]; then echo ${JSON.stringify(listOutput)} >&2; exit ${listCode}; fi\n` +
          `if [ "$1" = get ] && [ "\${*: -2:1}" = phoenix:owner ]; then ${owner ? `echo ${JSON.stringify(owner)}` : "true"}; exit 0; fi\n` +
          `if [ "$1" = get ]; then echo no; fi\n`,
        { mode: 0o755 },
      );
      if (run === undefined) throw new Error("nothing to run");
      const r = spawnSync("bash", ["-s"], {
        input: buildScriptStdin(run.script, run.env),
        env: { PATH: `${dir}:/usr/bin:/bin` },
        encoding: "utf8",
      });
      const recorded = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8") : "";
      return {
        calls: recorded
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => l.split("\0").slice(0, -1)),
        stdout: r.stdout,
        code: r.status ?? -1,
      };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  // Leading and trailing blanks and a backslash too: the .sh files must pass values on byte for byte.
  const nasty = ` it's "a" $(touch /tmp/phx-zfs-pwned) \`id\` ; x \\t  `;

  const CLAIM = "dev/models-llm@2025-01-01T00:00:00.000Z#0123456789ab";

  it("create: zfs create -p with one -o per property, every word quoted, and the resource's claim", () => {
    const r = runWithFakeZfs(createRun("tank/models/a", { quota: "1G", "user:note": nasty, compression: "lz4" }, CLAIM));
    expect(r.code).toBe(0);
    expect(r.calls).toEqual([
      ["list", "-H", "-o", "name", "tank/models/a"],
      [
        "create",
        "-p",
        "-o",
        "compression=lz4",
        "-o",
        "quota=1G",
        "-o",
        `user:note=${nasty}`,
        "-o",
        `phoenix:owner=${CLAIM}`,
        "tank/models/a",
      ],
    ]);
    expect(fs.existsSync("/tmp/phx-zfs-pwned")).toBe(false);
    expect(runWithFakeZfs(createRun("tank/models/a", {}, CLAIM)).calls.slice(1)).toEqual([
      ["create", "-p", "-o", `phoenix:owner=${CLAIM}`, "tank/models/a"],
    ]);
  });

  it("scripts are the .sh files as written: names and values only ever reach them through env", () => {
    const dir = path.join(ROOT, "provisioners", "zfs-dataset");
    const sh = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
    const withLib = (f: string) => `${sh("zfs-lib.sh")}\n${sh(f)}`;
    expect(createRun("tank/a", { quota: "1G", "user:note": nasty }, CLAIM)).toEqual({
      script: withLib("create.sh"),
      env: { ZFS_DATASET: "tank/a", ZFS_PROPERTIES: `quota=1G\nuser:note=${nasty}\n`, ZFS_CLAIM: CLAIM },
    });
    expect(createRun("tank/b", {}, CLAIM).script).toBe(withLib("create.sh"));
    expect(updateRun("tank/a", { changed: ["quota"], added: [], removed: ["atime"] }, { quota: "2G" })).toEqual({
      script: sh("update.sh"),
      env: { ZFS_DATASET: "tank/a", ZFS_CHANGES: "set quota=2G\ninherit atime\n" },
    });
    expect(readRun("tank/a", ["quota", "compression"])).toEqual({
      script: withLib("read.sh"),
      env: { ZFS_DATASET: "tank/a", ZFS_GET_PROPERTIES: "compression,quota" },
    });
    expect(destroyRun("tank/a", CLAIM, true)).toEqual({
      script: withLib("delete.sh"),
      env: { ZFS_DATASET: "tank/a", ZFS_CLAIM: CLAIM, ZFS_PROTECT: "1" },
    });
    for (const f of ["zfs-lib.sh", "create.sh", "update.sh", "read.sh", "delete.sh"]) expect(sh(f)).toMatch(/^# \S/);
  });

  it("create on an existing dataset sets its properties instead, and claims it (saying whose claim it takes over)", () => {
    const r = runWithFakeZfs(createRun("tank/models", { quota: "1G", "user:note": nasty }, CLAIM), "tank/models", 0);
    expect(r.calls.slice(1)).toEqual([
      ["get", "-H", "-o", "value", "-s", "local", "phoenix:owner", "tank/models"],
      ["set", "quota=1G", "tank/models"],
      ["set", `user:note=${nasty}`, "tank/models"],
      ["set", `phoenix:owner=${CLAIM}`, "tank/models"],
    ]);
    expect(r.stdout).toBe("tank/models exists already: setting its properties\n");
    const adopted = runWithFakeZfs(createRun("tank/models", {}, CLAIM), "tank/models", 0, "dev/old@x#1");
    expect(adopted.stdout).toBe("tank/models exists already (claimed by dev/old@x#1): adopting it, setting its properties\n");
    expect(adopted.calls.slice(-1)).toEqual([["set", `phoenix:owner=${CLAIM}`, "tank/models"]]);
  });

  it("create stops on an error other than a missing dataset", () => {
    const r = runWithFakeZfs(
      createRun("tank/models", { quota: "1G" }, CLAIM),
      "cannot open 'tank': pool I/O is currently suspended",
      1,
    );
    expect(r.code).toBe(1);
    expect(r.calls).toHaveLength(1);
  });

  it("update: set changed and added, inherit removed, none for quotas that cannot be inherited", () => {
    const news = { quota: "2G", recordsize: "1M", "user:note": nasty };
    const run = updateRun("tank/m", diffProperties({ quota: "1G", compression: "lz4", refquota: "5G" }, news), news);
    expect(runWithFakeZfs(run).calls).toEqual([
      ["set", "quota=2G", "tank/m"],
      ["set", "recordsize=1M", "tank/m"],
      ["set", `user:note=${nasty}`, "tank/m"],
      ["inherit", "compression", "tank/m"],
      ["set", "refquota=none", "tank/m"],
    ]);
    expect(updateRun("tank/m", { changed: [], added: [], removed: [] }, {})).toBeUndefined();
  });

  it("read: zfs get -Hp of the declared properties, or the absent marker", () => {
    expect(runWithFakeZfs(readRun("tank/m", ["quota", "compression"]), "tank/m", 0).calls[1]).toEqual([
      "get",
      "-Hp",
      "-o",
      "property,value,source",
      "compression,quota",
      "tank/m",
    ]);
    expect(runWithFakeZfs(readRun("tank/m", ["quota"])).stdout.trim()).toBe(ABSENT);
    expect(runWithFakeZfs(readRun("tank/m", []), "tank/m", 0).calls).toHaveLength(1);
  });

  it("destroy: zfs destroy, no -r, only while the claim is its own and it is not protected; nothing when already gone", () => {
    const destroyed = runWithFakeZfs(destroyRun("tank/m", CLAIM, false), "tank/m", 0, CLAIM);
    expect(destroyed.calls.slice(-1)).toEqual([["destroy", "tank/m"]]);
    expect(destroyed.stdout).toBe("destroyed tank/m\n");
    expect(deleteOutcome(destroyed.stdout)).toEqual({ kept: false });
    // A state from before claims, on a dataset nobody claimed: destroyed as before.
    expect(runWithFakeZfs(destroyRun("tank/m", "", false), "tank/m", 0).calls.slice(-1)).toEqual([["destroy", "tank/m"]]);
    const gone = runWithFakeZfs(destroyRun("tank/m", CLAIM, false));
    expect(gone.code).toBe(0);
    expect(gone.calls).toHaveLength(1);
    expect(gone.stdout).toBe("tank/m is already gone\n");
  });

  it("destroy keeps a dataset another resource claims (a replacement adopted it), protected or not", () => {
    for (const [claim, protect] of [
      [CLAIM, false],
      [CLAIM, true],
      ["", false],
    ] as const) {
      const r = runWithFakeZfs(destroyRun("tank/m", claim, protect), "tank/m", 0, "dev/models-llm@later#ffff");
      expect(r.code).toBe(0);
      expect(r.calls.map((c) => c[0])).not.toContain("destroy");
      expect(deleteOutcome(r.stdout)).toEqual({ kept: "claimed", owner: "dev/models-llm@later#ffff" });
    }
  });

  it("destroy of a protected dataset with its own claim destroys nothing and says so", () => {
    const r = runWithFakeZfs(destroyRun("tank/m", CLAIM, true), "tank/m", 0, CLAIM);
    expect(r.code).toBe(0);
    expect(r.calls.map((c) => c[0])).toEqual(["list", "get"]);
    expect(deleteOutcome(r.stdout)).toEqual({ kept: "protected" });
  });

  it("rejects names and property names that are not ZFS's", () => {
    for (const bad of ["tank", "tank/a b", "-o/x", "tank/$(id)", "tank/a;rm", "/tank/a"])
      expect(() => createRun(bad, {}, CLAIM)).toThrow(/invalid ZFS dataset name/);
    expect(() => createRun("tank/a", { "bad prop": "1" }, CLAIM)).toThrow(/invalid ZFS property name/);
    expect(() => createRun("tank/a", { "x=y": "1" }, CLAIM)).toThrow(/invalid ZFS property name/);
    expect(() => createRun("tank/a", { "user:note": "a\nb" }, CLAIM)).toThrow(/newlines/);
    expect(() => createRun("tank/a", { "phoenix:owner": "me" }, CLAIM)).toThrow(/Phoenix's own property/);
    expect(() => createRun("tank/a", {}, "a claim\nwith a newline")).toThrow(/not a dataset claim/);
  });
});

describe("provider without a host", () => {
  it("the message for a protected dataset says it was kept, why, and the ways out that keep its data", () => {
    const m = protectedMessage("tank/models", "10.0.0.1:22", "models");
    expect(m).toMatch(/^ZFS dataset tank\/models on 10\.0\.0\.1:22 was kept: /);
    expect(m).toContain("Nothing was destroyed; its data is intact.");
    expect(m).toContain("Pulumi asked to delete resource models (pulumi destroy, or the dataset left the definition");
    expect(m).toContain("pulumi state delete");
    expect(m).not.toMatch(/protect: false|protect to false|unprotect/i);
  });

  it("a delete that cannot reach the node fails and destroys nothing", async () => {
    const port = await freePort();
    const props: ZfsDatasetOutputs = {
      connection: { host: "127.0.0.1", port, dialErrorLimit: 1 },
      credentials: {},
      hostKey: "",
      name: "tank/models",
      properties: {},
      protect: false,
    };
    await expect(zfsDatasetProvider.delete!("tank/models", props)).rejects.toThrow(/cannot reach .*127\.0\.0\.1:\d+ over SSH/);
  });

  it("check flags a bad name or property", async () => {
    const r = await zfsDatasetProvider.check!({} as ZfsDatasetInputs, {
      connection: { host: "h" },
      name: "tank",
      properties: { "a b": "1" },
    });
    expect(r.failures!.map((f) => f.property)).toEqual(["name", "properties"]);
    const claimed = await zfsDatasetProvider.check!({} as ZfsDatasetInputs, {
      connection: { host: "h" },
      name: "tank/a",
      properties: { "phoenix:owner": "me" },
    });
    expect(claimed.failures).toEqual([
      {
        property: "properties",
        reason: "phoenix:owner is the claim Phoenix keeps on the dataset: remove it from the dataset's properties",
      },
    ]);
  });

  it("serializes with Pulumi's closure serializer and works once deserialized", async () => {
    const sf = await pulumi.runtime.serializeFunction(() => zfsDatasetProvider, {
      allowSecrets: true,
    } as pulumi.runtime.SerializeFunctionArgs);
    const mod = { exports: {} as Record<string, () => typeof zfsDatasetProvider> };
    new Function("exports", "require", "module", sf.text)(mod.exports, createRequire(path.join(ROOT, "index.js")), mod);
    const revived = mod.exports[sf.exportName]!();
    // The .sh files travel inside the serialized provider, as strings read at module load.
    for (const f of ["zfs-lib.sh", "create.sh", "update.sh", "read.sh", "delete.sh"])
      expect(sf.text).toContain(
        JSON.stringify(fs.readFileSync(path.join(ROOT, "provisioners", "zfs-dataset", f), "utf8")).slice(1, 60),
      );
    const olds: ZfsDatasetOutputs = {
      connection: { host: "h" },
      credentials: {},
      hostKey: "",
      name: "tank/a",
      properties: { quota: "1G" },
      protect: true,
    };
    expect(
      await revived.diff!("tank/a", olds, {
        connection: { host: "h" },
        name: "tank/a",
        properties: { quota: 1073741824 },
        protect: true,
      }),
    ).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
    expect(
      (await revived.diff!("tank/a", olds, { connection: { host: "h" }, name: "tank/b", properties: {}, protect: true }))
        .replaces,
    ).toEqual(["name"]);
  });

  it("registers as phoenix:ZfsDataset with its name, protect default and log target", async () => {
    const records = await installRecordingMocks("dev");
    const { ZfsDatasetResource } = await import("../../provisioners/zfs-dataset/zfs-dataset");
    new ZfsDatasetResource("tank-models", {
      connection: { host: "10.0.0.1", privateKey: pulumi.secret("PRIVATE") },
      name: "tank/models",
      properties: { quota: "1G" },
    });
    await settle(records);
    const r = records.find((x) => x.name === "tank-models")!;
    expect(r.type).toBe("pulumi-nodejs:dynamic/phoenix:ZfsDataset");
    expect(r.inputs["name"]).toBe("tank/models");
    expect(r.inputs["protect"]).toBe(true);
    expect(r.inputs["log"]).toEqual({ stack: "dev", resource: "tank-models" });
    expect(r.inputs["connection"].host).toBe("10.0.0.1");
  });
});

// ---- Integration: real ZFS through zfs-fuse, driven over a real sshd. ----

/**
 * Why the integration tests cannot run here, or undefined when they can. Real ZFS here means zfs-fuse (the kernel
 * module cannot be loaded in a sandbox, FUSE can), which needs root and /dev/fuse. Decided at collection time
 * because skipIf needs it then; the daemon itself is started in beforeAll by the lab's own zfs module.
 */
function zfsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "zfs-fuse and zpool need root";
  if (!fs.existsSync("/dev/fuse")) return "no /dev/fuse: zfs-fuse cannot mount anything";
  try {
    execFileSync("bash", [path.join(ROOT, "scripts/ensure-apt.sh"), "zfs-fuse", "openssh-server"], {
      stdio: "ignore",
      timeout: 300_000,
    });
  } catch (e) {
    return `installing zfs-fuse failed: ${(e as Error).message}`;
  }
  return undefined;
}

const skipReason = zfsUnavailable();
if (skipReason) console.warn(`ZFS integration tests skipped: ${skipReason}`);
const zfs = { available: skipReason === undefined };

// Skipped only where zfs-fuse cannot run at all (not root, or no /dev/fuse): see zfsUnavailable above.
describe("ZfsDataset on real ZFS (zfs-fuse) over SSH", () => {
  let sshd: TestSshd;
  let tmp: string;
  let logDir: string;
  const pool = `phx-test-${randomBytes(4).toString("hex")}`;
  const name = `${pool}/models/llm`;
  const zget = (prop: string, ds = name) =>
    execFileSync("zfs", ["get", "-Hp", "-o", "value,source", prop, ds], { encoding: "utf8" }).trim().split("\t");
  const exists = (ds: string) => spawnSync("zfs", ["list", "-H", "-o", "name", ds], { stdio: "ignore" }).status === 0;
  let inputs: (over?: Partial<ZfsDatasetInputs>) => ZfsDatasetInputs;
  let state: ZfsDatasetOutputs;
  const savedLogDir = process.env["PHOENIX_LOG_DIR"];
  let startedDaemon = false;

  beforeAll(async () => {
    if (!zfs.available) return;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "phx-zfs-"));
    logDir = path.join(tmp, "logs");
    process.env["PHOENIX_LOG_DIR"] = logDir;
    startedDaemon = !zfsReady();
    await ensureZfsDaemon(path.join(tmp, "zfs"));
    execFileSync("truncate", ["-s", "256M", path.join(tmp, "disk")]);
    execFileSync("zpool", ["create", "-m", path.join(tmp, "mnt"), pool, path.join(tmp, "disk")], { stdio: "ignore" });
    sshd = await TestSshd.create();
    inputs = (over = {}) => ({
      connection: sshd.connection(),
      name,
      // zfs-fuse (pool version 23) predates lz4 and zstd: gzip is what it has.
      properties: { quota: "1G", compression: "gzip", recordsize: "64K" },
      protect: true,
      log: { stack: "dev", resource: "models-llm" },
      ...over,
    });
  }, 300_000);

  afterAll(async () => {
    await sshd?.dispose();
    if (zfs.available && tmp) {
      await destroyPool(pool);
      if (startedDaemon) await stopZfsDaemon(path.join(tmp, "zfs"));
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    if (savedLogDir === undefined) delete process.env["PHOENIX_LOG_DIR"];
    else process.env["PHOENIX_LOG_DIR"] = savedLogDir;
  });

  it.skipIf(!zfs.available)("creates the dataset with its properties", async () => {
    const { id, outs } = await zfsDatasetProvider.create(inputs());
    expect(id).toBe(name);
    state = outs!;
    sendable(state);
    expect(exists(name)).toBe(true);
    expect(zget("quota")).toEqual(["1073741824", "local"]);
    expect(zget("compression")).toEqual(["gzip", "local"]);
    expect(zget("recordsize")).toEqual(["65536", "local"]);
    expect(state.hostKey).toBe(sshd.hostKey);
    expect(fs.readFileSync(path.join(logDir, "dev", "models-llm.log"), "utf8")).toContain(`create ${name}`);
  });

  it.skipIf(!zfs.available)("reads back with no diff", async () => {
    const r = await zfsDatasetProvider.read!(name, state);
    expect(r.id).toBe(name);
    expect(r.props!.properties).toEqual({ quota: "1G", compression: "gzip", recordsize: "64K" });
    sendable(r.props);
    expect(diffDataset(r.props!, inputs())).toMatchObject({ changes: false, replaces: [] });
  });

  it.skipIf(!zfs.available)("changing the quota is an in-place update", async () => {
    const news = inputs({ properties: { quota: "2G", compression: "gzip", recordsize: "64K" } });
    const d = diffDataset(state, news);
    expect(d).toMatchObject({ changes: true, replaces: [], properties: { changed: ["quota"], added: [], removed: [] } });
    state = (await zfsDatasetProvider.update!(name, state, news)).outs!;
    expect(zget("quota")).toEqual(["2147483648", "local"]);
    expect(state.properties["quota"]).toBe("2G");
    expect(fs.readFileSync(path.join(logDir, "dev", "models-llm.log"), "utf8")).toContain(`${name}: quota 1G → 2G`);
    sendable(state);
  });

  it.skipIf(!zfs.available)(
    "a new address, port spelling or key for the node is an in-place update: nothing on the node changes",
    async () => {
      const mountpoint = execFileSync("zfs", ["get", "-H", "-o", "value", "mountpoint", name], { encoding: "utf8" }).trim();
      fs.writeFileSync(path.join(mountpoint, "weights.bin"), "precious");
      const claim = zget(CLAIM_PROPERTY)[0];
      expect(claim).toBe(state.claim);
      // Same sshd, same node: reached as localhost instead of 127.0.0.1.
      const news = inputs({
        connection: sshd.connection({ host: "localhost" }),
        properties: { quota: "2G", compression: "gzip", recordsize: "64K" },
      });
      expect(diffDataset(state, news)).toMatchObject({ changes: true, replaces: [] });
      expect((await zfsDatasetProvider.diff!(name, state, news)).replaces).toEqual([]);
      const before = fs.readFileSync(path.join(logDir, "dev", "models-llm.log"), "utf8");
      state = (await zfsDatasetProvider.update!(name, state, news)).outs!;
      expect(state.connection.host).toBe("localhost");
      expect(state.claim).toBe(claim);
      expect(state.hostKey).toBe(sshd.hostKey);
      // Nothing ran on the node; the dataset, its claim and its data are as they were, and read reaches it anew.
      expect(fs.readFileSync(path.join(logDir, "dev", "models-llm.log"), "utf8")).toBe(before);
      expect(fs.readFileSync(path.join(mountpoint, "weights.bin"), "utf8")).toBe("precious");
      expect(zget(CLAIM_PROPERTY)[0]).toBe(claim);
      expect((await zfsDatasetProvider.read!(name, state)).id).toBe(name);
      sendable(state);
    },
  );

  it.skipIf(!zfs.available)("a zfs set behind its back shows as drift on read, and the next update puts it back", async () => {
    execFileSync("zfs", ["set", "compression=off", name]);
    const r = await zfsDatasetProvider.read!(name, state);
    expect(r.props!.properties["compression"]).toBe("off");
    const news = inputs({ properties: { quota: "2G", compression: "gzip", recordsize: "64K" } });
    expect(diffDataset(r.props!, news)).toMatchObject({ changes: true, replaces: [], properties: { changed: ["compression"] } });
    state = (await zfsDatasetProvider.update!(name, r.props!, news)).outs!;
    expect(zget("compression")).toEqual(["gzip", "local"]);
  });

  it.skipIf(!zfs.available)("removing a property inherits it again (quota: set to none)", async () => {
    const news = inputs({ properties: { compression: "gzip" } });
    state = (await zfsDatasetProvider.update!(name, state, news)).outs!;
    expect(zget("recordsize")[1]).not.toBe("local");
    expect(zget("quota")[0]).toBe("0");
    expect((await zfsDatasetProvider.read!(name, state)).props!.properties).toEqual({ compression: "gzip" });
  });

  it.skipIf(!zfs.available)(
    "create over a dataset made by hand (zfs create) adopts it: only the properties that differ are set, its data stays",
    async () => {
      const byHand = `${pool}/byhand`;
      execFileSync("zfs", ["create", "-o", "compression=gzip", "-o", "quota=1G", byHand]);
      const mountpoint = execFileSync("zfs", ["get", "-H", "-o", "value", "mountpoint", byHand], { encoding: "utf8" }).trim();
      fs.writeFileSync(path.join(mountpoint, "data"), "kept");
      const log = { stack: "dev", resource: "byhand" };
      const { outs } = await zfsDatasetProvider.create(
        inputs({ name: byHand, properties: { compression: "gzip", quota: "2G" }, log }),
      );
      expect(zget("quota", byHand)).toEqual(["2147483648", "local"]);
      expect(zget("compression", byHand)).toEqual(["gzip", "local"]);
      const text = fs.readFileSync(path.join(logDir, "dev", "byhand.log"), "utf8");
      expect(text).toContain(`${byHand} exists: adopted; setting quota to 2G`);
      expect(text).not.toContain(`create ${byHand}`);
      expect(fs.readFileSync(path.join(mountpoint, "data"), "utf8")).toBe("kept");
      // as declared already: nothing is set
      await zfsDatasetProvider.create(inputs({ name: byHand, properties: { compression: "gzip", quota: "2G" }, log }));
      expect(fs.readFileSync(path.join(logDir, "dev", "byhand.log"), "utf8")).toContain(
        `${byHand} exists: adopted; its properties are as declared`,
      );
      await zfsDatasetProvider.delete!(byHand, { ...outs!, protect: false });
    },
  );

  it.skipIf(!zfs.available)("refuses to destroy while protected; destroys once protect is false", async () => {
    const err = await zfsDatasetProvider.delete!(name, state).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toContain(`ZFS dataset ${name} on ${state.connection.host}:${sshd.port} was kept`);
    expect(err?.message).toContain("Nothing was destroyed; its data is intact.");
    expect(err?.message).not.toMatch(/protect: false/);
    expect(exists(name)).toBe(true);

    const unprotected = inputs({ properties: { compression: "gzip" }, protect: false });
    expect(diffDataset(state, unprotected)).toMatchObject({ changes: true, replaces: [] });
    state = (await zfsDatasetProvider.update!(name, state, unprotected)).outs!;
    expect(state.protect).toBe(false);
    await zfsDatasetProvider.delete!(name, state);
    expect(exists(name)).toBe(false);
    expect(exists(`${pool}/models`)).toBe(true);
    // Gone from the host: a refresh drops it from the state.
    expect((await zfsDatasetProvider.read!(name, state)).id).toBe("");
  });

  it.skipIf(!zfs.available)(
    "a replacement adopts the dataset and claims it; the old resource's delete then keeps it, protected or not",
    async () => {
      const shared = `${pool}/models/shared`;
      const log = { stack: "dev", resource: "models-shared" };
      const old = (await zfsDatasetProvider.create(inputs({ name: shared, protect: false, log }))).outs!;
      const mountpoint = execFileSync("zfs", ["get", "-H", "-o", "value", "mountpoint", shared], { encoding: "utf8" }).trim();
      fs.writeFileSync(path.join(mountpoint, "weights.bin"), "precious");
      // What `pulumi up` ran when a new ssh.host replaced the resource: the replacement's create (adopting the dataset)…
      const replacement = (
        await zfsDatasetProvider.create(
          inputs({ name: shared, protect: false, log, connection: sshd.connection({ host: "localhost" }) }),
        )
      ).outs!;
      expect(replacement.claim).toBeDefined();
      expect(replacement.claim).not.toBe(old.claim);
      expect(zget(CLAIM_PROPERTY, shared)).toEqual([replacement.claim, "local"]);
      // …then the old resource's delete: the dataset is the replacement's now, so it stays, data and all.
      await zfsDatasetProvider.delete!(shared, old);
      await zfsDatasetProvider.delete!(shared, { ...old, protect: true });
      const { claim: _claim, ...fromBeforeClaims } = old;
      await zfsDatasetProvider.delete!(shared, fromBeforeClaims);
      expect(exists(shared)).toBe(true);
      expect(fs.readFileSync(path.join(mountpoint, "weights.bin"), "utf8")).toBe("precious");
      expect(fs.readFileSync(path.join(logDir, "dev", "models-shared.log"), "utf8")).toContain(
        `${shared} kept: it is claimed by ${replacement.claim}`,
      );
      // The resource that claims it may still destroy it, once unprotected.
      await zfsDatasetProvider.delete!(shared, replacement);
      expect(exists(shared)).toBe(false);
    },
  );

  it.skipIf(!zfs.available)("a child dataset does not take its parent's claim as its own", async () => {
    const parent = `${pool}/models/parent`;
    const child = `${parent}/child`;
    const p = (await zfsDatasetProvider.create(inputs({ name: parent, protect: false }))).outs!;
    execFileSync("zfs", ["create", child]);
    // Inherited, not set: delete of a state from before claims destroys the child as it did before.
    expect(zget(CLAIM_PROPERTY, child)).toEqual([p.claim, `inherited from ${parent}`]);
    await zfsDatasetProvider.delete!(child, { ...p, name: child, claim: undefined });
    expect(exists(child)).toBe(false);
    await zfsDatasetProvider.delete!(parent, p);
    expect(exists(parent)).toBe(false);
  });
});
