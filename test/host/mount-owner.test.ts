// The mount-owner step's scripts as the node runs them (as root: they chown), on a scratch root: the directory gets
// its host owner (made when missing), a second run changes nothing, the check reports drift. Needs root.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { renderMountOwner } from "../../provisioners/mount-owner/mount-owner";

const root = mkdtempSync(join(tmpdir(), "phoenix-mount-owner-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const run = (script: string, params: Record<string, string>) =>
  spawnSync("bash", ["-c", script], { env: { ...process.env, ...params, PHX_ROOT: root }, encoding: "utf8" });
const owner = (p: string) => `${statSync(join(root, p)).uid}:${statSync(join(root, p)).gid}`;

it("owns each directory by its shifted owner, idempotently, and reports drift", () => {
  mkdirSync(join(root, "tank/shared-data"), { recursive: true });
  const f = renderMountOwner([
    { path: "/tank/shared-data", uid: 101000, gid: 101000 },
    { path: "/tank/shared-data/www", uid: 100033, gid: 33 },
  ]);
  const first = run(f.script, f.params);
  expect(first.status, first.stderr).toBe(0);
  expect(first.stdout).toContain(`created ${root}/tank/shared-data/www`);
  expect([owner("tank/shared-data"), owner("tank/shared-data/www")]).toEqual(["101000:101000", "100033:33"]);
  const second = run(f.script, f.params);
  expect(second.stdout).toBe("");
  expect(run(f.checkScript!, f.params).status).toBe(0);
  execFileSync("chown", ["0:0", join(root, "tank/shared-data")]);
  const drift = run(f.checkScript!, f.params);
  expect(drift.status).toBe(1);
  expect(drift.stdout).toContain("/tank/shared-data: 0:0");
});
