// Writes to /etc/pve/lxc/<vmid>.conf from the node side (the apparmor feature's lxc lines) take Proxmox's config
// lock, refuse a locked container and replace the file whole; the lab's API takes the same lock, so neither loses
// the other's change. The real apparmor.sh runs against a sandboxed root whose /etc/pve is the lab's config store,
// while the lab API (real HostBackend, real HTTP) changes the same container's memory.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { renderAppArmor } from "../../provisioners/apparmor/apparmor";
import type { RenderedFeature } from "../../provisioners/engine/feature";
import { type LabApi, startLabApi } from "../../lab/api/server";
import { withFileLock } from "../../lab/host/flock";
import { HostBackend } from "../../lab/node/host-backend";
import { KeyedMutex, lxcConfigLockFile } from "../../lab/pve/config-lock";
import { LabClient } from "../../lab/pve/client";
import { GuestSandbox, ok } from "../support/guest-sandbox";

const VMID = 210;
const CONF = "arch: amd64\ncores: 2\nhostname: llm\nmemory: 512\nostype: debian\n";
const TOKEN_ID = "root@pam!phoenix";
const SECRET = "5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A sandboxed node: its /etc/pve is the config store of a lab API running on a real HostBackend. */
async function node(): Promise<{ s: GuestSandbox; api: LabApi; backend: HostBackend; pve: LabClient; lockFile: string }> {
  const s = new GuestSandbox();
  cleanups.push(() => s.dispose());
  const stateDir = path.join(s.dir, "lab");
  const lockDir = s.file("run/lock/lxc");
  const backend = new HostBackend({ stateDir, storages: [], lockDir });
  fs.mkdirSync(s.file("etc"), { recursive: true });
  fs.symlinkSync(path.join(stateDir, "pve"), s.file("etc/pve"));
  s.write(`etc/pve/lxc/${VMID}.conf`, CONF);
  const api = await startLabApi({
    stateDir,
    port: 0,
    node: "pve",
    tokens: [{ id: TOKEN_ID, secret: SECRET }],
    backend,
    unauthorizedDelayMs: 0,
  });
  cleanups.push(() => api.close());
  const pve = new LabClient({ url: api.url, token: `${TOKEN_ID}=${SECRET}` });
  return { s, api, backend, pve, lockFile: lxcConfigLockFile(lockDir, VMID) };
}

const feature = (): RenderedFeature =>
  renderAppArmor({ vmid: VMID, profile: "unconfined", lxcOptions: ["lxc.cap.keep=sys_admin"] });
const LINES = "lxc.apparmor.profile: unconfined\nlxc.cap.keep: sys_admin\n";

describe("the node's writer of lxc lines", () => {
  it("refuses a container whose config holds a lock, in Proxmox's words, with the way out, and leaves it as it was", () => {
    const s = new GuestSandbox();
    cleanups.push(() => s.dispose());
    const locked = CONF.replace("hostname: llm\n", "hostname: llm\nlock: backup\n");
    s.write(`etc/pve/lxc/${VMID}.conf`, locked);
    const f = feature();
    const r = s.run(f.script, f.params);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `CT is locked (backup): CT ${VMID}'s config has 'lock: backup', so its lxc lines were not written. ` +
        `Run pulumi up again once the backup is over; if no backup is running (a lock left behind), 'pct unlock ${VMID}' on the node removes it first.`,
    );
    expect(s.read(`etc/pve/lxc/${VMID}.conf`)).toBe(locked);
    // A lock in a snapshot section is that snapshot's, not the container's.
    s.write(`etc/pve/lxc/${VMID}.conf`, `${CONF}\n[before]\nlock: snapshot\n`);
    ok(s.run(f.script, f.params));
    expect(s.read(`etc/pve/lxc/${VMID}.conf`)).toBe(`${CONF}${LINES}\n[before]\nlock: snapshot\n`);
  });

  it("replaces the config whole (a new file renamed over it), never rewriting it in place", () => {
    const s = new GuestSandbox();
    cleanups.push(() => s.dispose());
    s.write(`etc/pve/lxc/${VMID}.conf`, CONF);
    const before = fs.statSync(s.file(`etc/pve/lxc/${VMID}.conf`)).ino;
    const f = feature();
    ok(s.run(f.script, f.params));
    expect(s.read(`etc/pve/lxc/${VMID}.conf`)).toBe(CONF + LINES);
    expect(fs.statSync(s.file(`etc/pve/lxc/${VMID}.conf`)).ino).not.toBe(before);
    expect(fs.readdirSync(s.file("etc/pve/lxc"))).toEqual([`${VMID}.conf`]);
  });

  it("gives up after Proxmox's timeout (10 s; 1 s here) when another writer keeps the lock", async () => {
    const s = new GuestSandbox();
    cleanups.push(() => s.dispose());
    s.write(`etc/pve/lxc/${VMID}.conf`, CONF);
    const f = feature();
    const lockFile = s.file(`run/lock/lxc/pve-config-${VMID}.lock`);
    const r = await withFileLock(lockFile, 5000, () => s.runAsync(f.script, { ...f.params, PHX_CONFIG_LOCK_TIMEOUT: "1" }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`can't lock file '${lockFile}' - got timeout`);
    expect(s.read(`etc/pve/lxc/${VMID}.conf`)).toBe(CONF);
  }, 20_000);
});

describe("the node's script and the lab API change one config at the same time", () => {
  it("an API memory change made while the script holds the lock waits for it, and both changes are kept", async () => {
    const { s, pve } = await node();
    // cmp runs between reading the config and writing it back: slow it down and say when it starts.
    const started = path.join(s.dir, "cmp-started");
    s.addCommand("cmp", `#!/bin/bash\n: > ${started}\n/bin/sleep 1\nexec ${s.toolPath("cmp")} "$@"\n`);
    const f = feature();
    const script = s.runAsync(f.script, f.params);
    for (let i = 0; i < 200 && !fs.existsSync(started); i++) await sleep(25);
    expect(fs.existsSync(started)).toBe(true);
    const t0 = Date.now();
    const put = await pve.call("PUT", `nodes/pve/lxc/${VMID}/config`, { memory: 2048 });
    expect(put.status).toBe(200);
    // It waited for the script's lock (most of cmp's second).
    expect(Date.now() - t0).toBeGreaterThan(500);
    ok(await script);
    const conf = s.read(`etc/pve/lxc/${VMID}.conf`);
    expect(conf).toContain("memory: 2048\n");
    expect(conf).toContain(LINES);
    expect((await pve.data<Record<string, unknown>>("GET", `nodes/pve/lxc/${VMID}/config`)).memory).toBe(2048);
  }, 20_000);

  it("the script waits for a lab writer holding the lock, then writes on top of its change", async () => {
    const { s, backend } = await node();
    const f = feature();
    let scriptStarted = 0;
    let script: Promise<Awaited<ReturnType<GuestSandbox["runAsync"]>>> | undefined;
    await backend.lockConfig("lxc", VMID, async () => {
      const file = (await backend.readConfig("lxc", VMID))!;
      scriptStarted = Date.now();
      script = s.runAsync(f.script, f.params);
      await sleep(700);
      file.config.memory = "3072";
      await backend.writeConfig("lxc", VMID, file);
    });
    const r = ok(await script!);
    expect(Date.now() - scriptStarted).toBeGreaterThan(600);
    expect(r.stdout).toContain(`updated lxc lines in ${s.file(`etc/pve/lxc/${VMID}.conf`)}`);
    const conf = s.read(`etc/pve/lxc/${VMID}.conf`);
    expect(conf).toContain("memory: 3072\n");
    expect(conf).toContain(LINES);
  }, 20_000);

  it("the API refuses to change a container whose config holds a lock: 500 'CT is locked (backup)'", async () => {
    const { s, pve } = await node();
    s.write(`etc/pve/lxc/${VMID}.conf`, CONF.replace("hostname: llm\n", "hostname: llm\nlock: backup\n"));
    const r = await pve.call("PUT", `nodes/pve/lxc/${VMID}/config`, { memory: 1024 });
    expect(r.status).toBe(500);
    expect(r.statusText).toBe("CT is locked (backup)");
    expect(s.read(`etc/pve/lxc/${VMID}.conf`)).toContain("memory: 512\n");
  });
});

describe("KeyedMutex", () => {
  it("runs holders of one key one after another, others side by side, and survives a failing holder", async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const hold = (key: string, name: string, ms: number, fail = false) =>
      m.run(key, async () => {
        log.push(`${name}+`);
        await sleep(ms);
        log.push(`${name}-`);
        if (fail) throw new Error(name);
      });
    await Promise.allSettled([hold("a", "a1", 50, true), hold("a", "a2", 10), hold("b", "b1", 20)]);
    expect(log.indexOf("a2+")).toBeGreaterThan(log.indexOf("a1-"));
    expect(log.indexOf("b1+")).toBeLessThan(log.indexOf("a1-"));
  });
});
