// The app's file step run for real in a sandbox (recording doubles for docker): a declared file where Docker left an
// empty directory (it makes one when a container starts with its bind-mounted file missing, as after a guest was put
// back to an earlier state) is written as a file; a directory with content there stops the step, nothing moved into it.
import { existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FILES_SCRIPTS } from "../../provisioners/app/app";
import { GuestSandbox } from "../support/guest-sandbox";

const sandboxes: GuestSandbox[] = [];
afterEach(() => sandboxes.splice(0).forEach((s) => s.dispose()));

const APP_DIR = "/opt/phoenix/apps/hello";
const params = {
  APP_NAME: "hello",
  APP_DIR,
  APP_FILES: "0\t0644\tplain\tweb\thtml/index.html",
  APP_FILE_0: "<h1>hello</h1>\n",
  APP_SERVICES: "web run nginx:1.27",
};

function sandbox() {
  const s = new GuestSandbox();
  s.addTool("install");
  s.addTool("rmdir");
  sandboxes.push(s);
  return s;
}

describe("the app's files where Docker left a directory", () => {
  it("an empty directory at a declared file's path is replaced by the file", () => {
    const s = sandbox();
    mkdirSync(s.file(`${APP_DIR}/html/index.html`), { recursive: true });
    const r = s.run(FILES_SCRIPTS.script, params);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("removed the empty directory ./html/index.html (Docker made it for the missing file)");
    expect(lstatSync(s.file(`${APP_DIR}/html/index.html`)).isFile()).toBe(true);
    expect(s.read(`${APP_DIR}/html/index.html`)).toBe("<h1>hello</h1>\n");
  });

  it("a directory with content there stops the step with the path, and nothing is moved into it", () => {
    const s = sandbox();
    const dir = s.file(`${APP_DIR}/html/index.html`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "keep.txt"), "mine\n");
    const r = s.run(FILES_SCRIPTS.script, params);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toContain(
      `${APP_DIR}/html/index.html is a directory with content where app hello declares a file: move it away`,
    );
    expect(readdirSync(dir)).toEqual(["keep.txt"]);
  });

  it("a file already there is left as it is when its content matches (no directory handling)", () => {
    const s = sandbox();
    s.write(`${APP_DIR}/html/index.html`, "<h1>hello</h1>\n");
    const r = s.run(FILES_SCRIPTS.script, params);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain("removed the empty directory");
    expect(existsSync(s.file(`${APP_DIR}/html/index.html`))).toBe(true);
  });
});
