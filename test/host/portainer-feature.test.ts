// The portainer feature's scripts, run as the engine sends them in a sandbox (recording doubles of docker and
// apt), talking to the lab's Portainer API double (lab/host/stand-in-portainer-api.sh, a TEST DOUBLE of the
// calls the feature makes, not Portainer) served by busybox on loopback. What the real Portainer does with
// them is not tested here: there is no Portainer image on this machine.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { RenderedFeature } from "../../provisioners/engine/feature";
import { renderPortainer, renderPortainerEndpoints } from "../../provisioners/portainer/portainer";
import { BUSYBOX } from "../../lab/host/stand-in-images";
import { GuestSandbox, named, ok } from "../support/guest-sandbox";
import { freePort } from "../support/sshd";

const ADMIN_PASSWORD = "Portainer-Admin-Pw-4321";
const NEW_PASSWORD = 'second "Pw" \\ 8765';

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "installing busybox-static and jq needs root, as the lab does";
  try {
    execFileSync("bash", [path.join(__dirname, "..", "..", "scripts", "ensure-apt.sh"), "busybox-static", "jq"], {
      stdio: "ignore",
      timeout: 300_000,
    });
  } catch (e) {
    return `installing busybox-static jq failed: ${(e as Error).message}`;
  }
  return undefined;
}
const skipReason = unavailable();
if (skipReason) console.warn(`portainer feature tests skipped: ${skipReason}`);

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The API double on a free loopback port, with its own state; returns its /api URL. */
async function apiDouble(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "phx-portainer-api-"));
  const port = await freePort();
  const child: ChildProcess = spawn(
    BUSYBOX,
    ["nc", "-ll", "-p", String(port), "-e", path.join(__dirname, "..", "..", "lab", "host", "stand-in-portainer-api.sh")],
    {
      env: { PATH: "/usr/bin:/bin", STAND_IN_DATA: dir },
      stdio: "ignore",
    },
  );
  cleanups.push(() => {
    child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}/api`;
  for (const end = Date.now() + 5000; Date.now() < end; await new Promise((r) => setTimeout(r, 50)))
    if ((await fetch(`${url}/system/status`).catch(() => undefined))?.status === 200) return url;
  throw new Error("the Portainer API double did not start");
}

/** A loopback listener answering HTTP, as the stand-in agent does (busybox httpd); its port. Its own process:
 * the scripts run with spawnSync, which would block a listener in this one. */
async function agentListener(): Promise<number> {
  const port = await freePort();
  const www = fs.mkdtempSync(path.join(os.tmpdir(), "phx-agent-"));
  const child = spawn(BUSYBOX, ["httpd", "-f", "-p", `127.0.0.1:${port}`, "-h", www], { stdio: "ignore" });
  cleanups.push(() => {
    child.kill("SIGKILL");
    fs.rmSync(www, { recursive: true, force: true });
  });
  for (const end = Date.now() + 5000; Date.now() < end; await new Promise((r) => setTimeout(r, 50)))
    if (
      await fetch(`http://127.0.0.1:${port}/`).then(
        () => true,
        () => false,
      )
    )
      return port;
  throw new Error("the agent listener did not start");
}

const post = (url: string, body: unknown, jwt?: string, method = "POST") =>
  fetch(url, {
    method,
    body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", ...(jwt ? { Authorization: `Bearer ${jwt}` } : {}) },
  });
const loginStatus = async (api: string, Password: string) => (await post(`${api}/auth`, { Username: "admin", Password })).status;
async function jwtOf(api: string, Password: string): Promise<string> {
  return ((await (await post(`${api}/auth`, { Username: "admin", Password })).json()) as { jwt: string }).jwt;
}
async function environments(api: string, Password: string): Promise<{ Id: number; Name: string; URL: string }[]> {
  return (
    await fetch(`${api}/endpoints`, { headers: { Authorization: `Bearer ${await jwtOf(api, Password)}` } })
  ).json() as never;
}

function guest(): GuestSandbox {
  const s = new GuestSandbox();
  cleanups.push(() => s.dispose());
  s.addTool("jq");
  s.setState("docker-installed");
  s.setState("active-docker");
  return s;
}
const run = (s: GuestSandbox, f: RenderedFeature, api: string, password?: string) =>
  s.run(
    f.script,
    { ...f.params, PHX_PORTAINER_API: api, PHX_PORTAINER_WAIT: "3" },
    password === undefined ? {} : { PORTAINER_ADMIN_PASSWORD: password },
  );
const check = (s: GuestSandbox, f: RenderedFeature, api: string) =>
  s.run(f.checkScript!, { ...f.params, PHX_PORTAINER_API: api, PHX_PORTAINER_WAIT: "3" });
/** No password and no token ever on a command line the doubles saw. */
const argvClean = (calls: string[], ...secrets: string[]) => {
  for (const secret of secrets) expect(calls.join("\n")).not.toContain(secret);
  expect(calls.join("\n")).not.toMatch(/Bearer/);
};

// Skipped only where the lab itself could not run: not root, or busybox-static/jq not installable (see
// unavailable() above); the reason is printed. The same holds for the two suites below.
describe.skipIf(skipReason !== undefined)("portainer server", () => {
  const server = renderPortainer({ role: "server", adminPassword: { secret: "portainerAdminPassword" } });

  it("initialises the admin, keeps its password in a root-only file, and leaves a converged server alone", async () => {
    expect(server.secretRefs).toEqual({ PORTAINER_ADMIN_PASSWORD: "portainerAdminPassword" });
    const api = await apiDouble();
    const s = guest();
    const r1 = ok(run(s, server, api, ADMIN_PASSWORD));
    const started = named(r1, /^docker run/);
    expect(started).toHaveLength(1);
    expect(started[0]).toContain("-p 9443:9443 -p 8000:8000");
    expect(started[0]).toMatch(/portainer\/portainer-ce:lts --admin-password-file \/run\/secrets\/portainer-admin$/);
    // The double, unlike a real server, did not read the file: the script finds no admin and initialises it.
    expect(r1.stdout).toContain("initialised the Portainer admin");
    expect(await loginStatus(api, ADMIN_PASSWORD)).toBe(200);
    expect(s.read("etc/portainer/admin-password")).toBe(ADMIN_PASSWORD);
    expect(fs.statSync(s.file("etc/portainer/admin-password")).mode & 0o777).toBe(0o600);
    argvClean(r1.calls, ADMIN_PASSWORD);
    expect(r1.stdout + r1.stderr).not.toContain(ADMIN_PASSWORD);

    const r2 = ok(run(s, server, api, ADMIN_PASSWORD));
    expect(named(r2, /^docker (run|rm|pull|start)/)).toEqual([]);
    expect(r2.stdout).not.toMatch(/initialised|changed/);
  });

  it("moves the server to a changed password through the API, from the one it had", async () => {
    const api = await apiDouble();
    const s = guest();
    ok(run(s, server, api, ADMIN_PASSWORD));
    const r = ok(run(s, server, api, NEW_PASSWORD));
    expect(r.stdout).toContain("changed the Portainer admin password");
    expect(named(r, /^docker (run|rm)/)).toEqual([]);
    expect(await loginStatus(api, NEW_PASSWORD)).toBe(200);
    expect(await loginStatus(api, ADMIN_PASSWORD)).toBe(422);
    expect(s.read("etc/portainer/admin-password")).toBe(NEW_PASSWORD);
    argvClean(r.calls, ADMIN_PASSWORD, NEW_PASSWORD);
  });

  it("a password changed in Portainer behind its back stops the run with the way out, and the file keeps the last known one", async () => {
    const api = await apiDouble();
    const s = guest();
    ok(run(s, server, api, ADMIN_PASSWORD));
    expect(
      (
        await post(
          `${api}/users/1/passwd`,
          { Password: ADMIN_PASSWORD, NewPassword: "set-in-the-ui" },
          await jwtOf(api, ADMIN_PASSWORD),
          "PUT",
        )
      ).status,
    ).toBe(204);
    const r = run(s, server, api, NEW_PASSWORD);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("neither the declared one nor the one this feature set before");
    expect(r.stderr).toContain("set the secret to the current password");
    expect(s.read("etc/portainer/admin-password")).toBe(ADMIN_PASSWORD);
  });

  it("a new port recreates the container; its data volume stays", async () => {
    const api = await apiDouble();
    const s = guest();
    ok(run(s, server, api, ADMIN_PASSWORD));
    const moved = ok(
      run(s, renderPortainer({ role: "server", port: 9444, adminPassword: { secret: "p" } }), api, ADMIN_PASSWORD),
    );
    expect(named(moved, /^docker (run|rm)/).map((c) => c.split(" ").slice(0, 3).join(" "))).toEqual([
      "docker rm -f",
      "docker run -d",
    ]);
    expect(named(moved, /^docker run/)[0]).toContain("-v portainer_data:/data");
  });

  it("a plaintext password in the settings is refused, not sent", () => {
    expect(() => renderPortainer({ role: "server", adminPassword: "hunter2" })).toThrow(
      "portainer.adminPassword holds a plaintext value",
    );
    expect(() => renderPortainerEndpoints(undefined, [])).toThrow("its portainer.adminPassword must reference a secret");
  });
});

describe.skipIf(skipReason !== undefined)("portainer agent", () => {
  it("no password, port 9001, started again when stopped; its check says when it is not running", async () => {
    const f = renderPortainer({ role: "agent" });
    expect(f.secretRefs).toEqual({});
    const s = guest();
    expect(named(ok(s.run(f.script, f.params)), /^docker run/)[0]).toMatch(/-p 9001:9001 .*portainer\/agent:lts$/);
    const r1 = ok(s.run(f.script, f.params));
    expect(named(r1, /^docker run/)).toEqual([]);
    fs.writeFileSync(path.join(s.state, "containers/portainer_agent/running"), "false\n");
    expect(s.run(f.checkScript!, f.params).code).toBe(1);
    expect(named(ok(s.run(f.script, f.params)), /^docker (run|start)/)).toEqual(["docker start portainer_agent"]);
  });
});

describe.skipIf(skipReason !== undefined)("portainer agents registered with the server", () => {
  async function setUp() {
    const api = await apiDouble();
    expect((await post(`${api}/users/admin/init`, { Username: "admin", Password: ADMIN_PASSWORD })).status).toBe(200);
    const s = guest();
    s.write("etc/portainer/admin-password", ADMIN_PASSWORD);
    const [a, b] = [await agentListener(), await agentListener()];
    return { api, s, a: `tcp://127.0.0.1:${a}`, b: `tcp://127.0.0.1:${b}` };
  }
  const endpoints = (agents: { name: string; url: string }[]) =>
    renderPortainerEndpoints({ secret: "portainerAdminPassword" }, agents);

  it("registers each agent under its guest's name; a second run changes nothing; the check lists them", async () => {
    const { api, s, a, b } = await setUp();
    const f = endpoints([
      { name: "worker-b", url: b },
      { name: "worker-a", url: a },
    ]);
    expect(f.params.PORTAINER_AGENTS).toBe(`worker-a ${a}\nworker-b ${b}`);
    const r1 = ok(run(s, f, api, ADMIN_PASSWORD));
    expect(r1.stdout).toContain(`registered agent worker-a at ${a}`);
    expect((await environments(api, ADMIN_PASSWORD)).map((e) => [e.Name, e.URL])).toEqual([
      ["worker-a", a],
      ["worker-b", b],
    ]);
    argvClean(r1.calls, ADMIN_PASSWORD);
    expect(ok(check(s, f, api)).stdout).toBe(`agent worker-a: registered at ${a}\nagent worker-b: registered at ${b}\n`);

    const r2 = ok(run(s, f, api, ADMIN_PASSWORD));
    expect(r2.stdout).not.toMatch(/registered|removed/);
    expect(named(r2, /^curl .* -F /)).toEqual([]);
  });

  it("an environment deleted in Portainer shows in the check and is registered again; one made by hand is left alone", async () => {
    const { api, s, a, b } = await setUp();
    const f = endpoints([{ name: "worker-a", url: a }]);
    ok(run(s, f, api, ADMIN_PASSWORD));
    const jwt = await jwtOf(api, ADMIN_PASSWORD);
    const byHand = new FormData();
    for (const [k, v] of Object.entries({ Name: "by-hand", EndpointCreationType: "2", URL: b })) byHand.set(k, v);
    expect(
      (await fetch(`${api}/endpoints`, { method: "POST", body: byHand, headers: { Authorization: `Bearer ${jwt}` } })).status,
    ).toBe(200);
    const id = (await environments(api, ADMIN_PASSWORD)).find((e) => e.Name === "worker-a")!.Id;
    expect(
      (await fetch(`${api}/endpoints/${id}`, { method: "DELETE", headers: { Authorization: `Bearer ${jwt}` } })).status,
    ).toBe(204);

    const drift = check(s, f, api);
    expect(drift.code).toBe(1);
    expect(drift.stdout).toBe(`agent worker-a: not registered at ${a}\n`);
    ok(run(s, f, api, ADMIN_PASSWORD));
    expect((await environments(api, ADMIN_PASSWORD)).map((e) => e.Name).sort()).toEqual(["by-hand", "worker-a"]);
  });

  it("an agent no longer declared is removed, one at a new address is registered there", async () => {
    const { api, s, a, b } = await setUp();
    ok(
      run(
        s,
        endpoints([
          { name: "worker-a", url: a },
          { name: "worker-b", url: b },
        ]),
        api,
        ADMIN_PASSWORD,
      ),
    );
    const r = ok(run(s, endpoints([{ name: "worker-a", url: b }]), api, ADMIN_PASSWORD));
    expect(r.stdout).toContain("removed Portainer environment worker-b (no longer declared)");
    expect(r.stdout).toContain(`removed Portainer environment worker-a (${a}, declared at ${b} now)`);
    expect((await environments(api, ADMIN_PASSWORD)).map((e) => [e.Name, e.URL])).toEqual([["worker-a", b]]);
  });

  it("an agent that does not answer fails the run, naming it; a wrong password is refused before anything changes", async () => {
    const { api, s, a } = await setUp();
    const gone = `tcp://127.0.0.1:${await freePort()}`;
    const r = run(
      s,
      endpoints([
        { name: "worker-a", url: a },
        { name: "worker-z", url: gone },
      ]),
      api,
      ADMIN_PASSWORD,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`registering agent worker-z at ${gone} failed (HTTP 500)`);
    const wrong = run(s, endpoints([{ name: "worker-a", url: a }]), api, "not-the-password");
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain("Portainer refused the declared admin password");
    expect((await environments(api, ADMIN_PASSWORD)).map((e) => e.Name)).toEqual(["worker-a"]);
  });
});
