// The deploy settings and CI workflows as files, checked by the tools that define them: every Pulumi.<env>.deploy.yaml
// decoded strictly into Pulumi's own apitype.DeploymentSettings (scripts/toolchain/deploy-settings-check, built from
// the pulumi sdk module the bootstrap pins), and the workflows linted by actionlint (built from its Go module).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..", "..");
const tool = (name: string) =>
  execFileSync("bash", [join(ROOT, "scripts", "build-go-tool.sh"), name], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
const dir = mkdtempSync(join(tmpdir(), "phoenix-ci-files-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("Pulumi.<env>.deploy.yaml against Pulumi's DeploymentSettings", () => {
  const check = (files: string[]) => spawnSync(tool("deploy-settings-check"), files, { encoding: "utf8" });
  const deployFiles = readdirSync(ROOT).filter((f) => /^Pulumi\..+\.deploy\.yaml$/.test(f));

  it("every environment has one and each decodes strictly", () => {
    const stacks = readdirSync(ROOT).filter(
      (f) => /^Pulumi\.[^.]+(\.[^.]+)*\.yaml$/.test(f) && !/\.(deploy|agent)\.yaml$/.test(f),
    );
    expect(deployFiles.sort()).toEqual(stacks.map((f) => f.replace(/\.yaml$/, ".deploy.yaml")).sort());
    const r = check(deployFiles.map((f) => join(ROOT, f)));
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(deployFiles.length);
  }, 300_000);

  const dev = readFileSync(join(ROOT, "Pulumi.dev.deploy.yaml"), "utf8");
  const wrong: [string, string, RegExp][] = [
    [
      "a misspelt key",
      dev.replace("repoDir:", "repoDirectory:"),
      /field repoDirectory not found in type apitype\.SourceContextGit/,
    ],
    [
      "GitHub's key in the wrong case",
      dev.replace("gitHub:", "github:"),
      /field github not found in type apitype\.DeploymentSettings/,
    ],
    ["the agent's policy inside the settings", dev.replace("settings:\n", "settings:\n  heal: auto\n"), /field heal not found/],
    ["a key beside settings", `${dev}heal: auto\n`, /field heal not found/],
    ["a string where Pulumi takes a boolean", dev.replace("deployCommits: true", "deployCommits: sometimes"), /cannot unmarshal/],
    ["no settings key", "sourceContext:\n  git: { repoUrl: x, branch: main }\n", /field sourceContext not found/],
    ["no git source", "settings:\n  agentPoolID: x\n", /sourceContext\.git is missing/],
  ];
  it.each(wrong)("%s fails", (_name, text, message) => {
    const f = join(dir, "Pulumi.bad.deploy.yaml");
    writeFileSync(f, text);
    const r = check([f]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(message);
  });
});

describe("the CI workflows", () => {
  const lint = (files: string[]) =>
    spawnSync(tool("actionlint"), ["-config-file", join(ROOT, ".github", "actionlint.yaml"), ...files], {
      cwd: ROOT,
      encoding: "utf8",
    });
  const workflows = [".github/workflows/pulumi.yml", ".gitea/workflows/pulumi.yml"];

  it("the GitHub workflow and its Gitea/Forgejo twin lint clean: preview on PRs, up on merge, pulumi/actions, self-hosted", () => {
    const r = lint(workflows);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    for (const w of workflows) {
      const text = readFileSync(join(ROOT, w), "utf8");
      expect(text).toContain("pull_request:");
      expect(text).toContain("push:");
      expect(text).toContain("uses: pulumi/actions@v6");
      expect(text).toContain("'preview' || 'up'");
      expect(text).toMatch(/runs-on: (\[self-hosted, phoenix\]|phoenix)/);
    }
  }, 300_000);

  it("a misspelt input, an unknown context property or an unknown runner label fails", () => {
    const text = readFileSync(join(ROOT, workflows[0]!), "utf8");
    for (const [bad, message] of [
      [text.replace("stack-name:", "stack:"), /input "stack" is not defined in action "pulumi\/actions@v6"/],
      [
        text.replace("github.event_name == 'pull_request' &&", "github.event_nam == 'pull_request' &&"),
        /property "event_nam" is not defined/,
      ],
      [text.replaceAll("[self-hosted, phoenix]", "[self-hosted, gpu-box]"), /label "gpu-box" is unknown/],
    ] as const) {
      const f = join(dir, "bad.yml");
      writeFileSync(f, bad);
      const r = lint([f]);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(message);
    }
  });
});
