// The build hash of golden templates, as plain data: what changes it, and what does not.
import * as fs from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { templateBuilds } from "../../components/args/template-build";
import { type Plan, buildPlan } from "../../plan/plan";
import { loadDefinition } from "../../validate";

const AI_HOST = join(__dirname, "..", "..", "stacks", "ai-host.yaml");

function plan(edit: (raw: any) => void = () => {}): Plan {
  const raw = JSON.parse(JSON.stringify(loadDefinition(AI_HOST).definition));
  edit(raw);
  return buildPlan(raw);
}
const scripts = (content: string) => (path: string) => `${path}:${content}`;
const template = (raw: any, name: string) => raw.templates.find((t: any) => t.name === name);

describe("golden template builds", () => {
  const before = templateBuilds(plan(), scripts("v1"));

  it("one per golden template, the same for the same definition", () => {
    expect([...before.keys()].sort()).toEqual(["docker-golden", "nvidia-docker-golden", "nvidia-golden", "vllm-golden"]);
    expect(templateBuilds(plan(), scripts("v1"))).toEqual(before);
  });

  it("a changed feature setting changes that template's build and its descendants', not the others'", () => {
    const after = templateBuilds(
      plan(
        (raw) =>
          (template(raw, "nvidia-docker-golden").features.docker = {
            ...template(raw, "nvidia-docker-golden").features.docker,
            daemon: { "log-driver": "local" },
          }),
      ),
      scripts("v1"),
    );
    const changed = [...after.keys()].filter((k) => after.get(k) !== before.get(k)).sort();
    expect(changed).toEqual(["nvidia-docker-golden", "vllm-golden"]);
  });

  it("a guest's own features do not rebuild its template", () => {
    const after = templateBuilds(
      plan((raw) => (raw.guests.find((g: any) => g.name === "vllm-dual").memory = 4096)),
      scripts("v1"),
    );
    expect(after).toEqual(before);
  });

  it("a custom script's content counts, for a template that runs one", () => {
    const withScript = (content: string) =>
      templateBuilds(
        plan((raw) => (template(raw, "docker-golden").features.script = { path: "scripts/golden.sh" })),
        scripts(content),
      );
    expect(withScript("v2").get("docker-golden")).not.toBe(withScript("v1").get("docker-golden"));
    expect(withScript("v2").get("nvidia-golden")).toBe(withScript("v1").get("nvidia-golden"));
  });

  it("the AppArmor profile's text counts: editing the profile file rebuilds the templates that use it, and only those", () => {
    const dir = fs.mkdtempSync(join(os.tmpdir(), "phx-build-"));
    try {
      const source = join(__dirname, "..", "..", "stacks");
      fs.cpSync(join(source, "apparmor"), join(dir, "apparmor"), { recursive: true });
      const read = (path: string) => fs.readFileSync(join(dir, path), "utf8");
      const p = plan();
      const file = p.nodes[0]!.apparmorProfiles.find((a) => a.name === "lxc-phoenix-gpu")!.file;
      const first = templateBuilds(p, read);
      fs.appendFileSync(join(dir, file), "# one more rule\n");
      const edited = templateBuilds(p, read);
      const changed = [...edited.keys()].filter((k) => edited.get(k) !== first.get(k)).sort();
      // nvidia-docker-golden uses the profile; vllm-golden is cloned from it.
      expect(changed).toEqual(["nvidia-docker-golden", "vllm-golden"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
