// What a golden template is built from, as one hash per template: its own provisioning (features with their
// settings, custom scripts' contents, raw LXC options, AppArmor profile) and its parent template's build. A
// changed build means the frozen template must be rebuilt, and its clones with it. Pure but for reading scripts.
import { canonicalJson, sha256Hex } from "../../definition/hash";
import type { Plan } from "../../plan/plan";

export function templateBuilds(plan: Pick<Plan, "machines">, readScript: (path: string) => string): Map<string, string> {
  const builds = new Map<string, string>();
  for (const m of plan.machines) {
    if (m.kind !== "template") continue;
    const parent = m.source.kind === "clone" ? (builds.get(m.source.template) ?? null) : m.source.template;
    const scripts = m.provisioners
      .filter((p) => p.feature === "script")
      .map((p) => {
        const path = (p.settings as { path: string }).path;
        return { path, content: readScript(path) };
      });
    const own = {
      provisioners: m.provisioners.map((p) => ({ feature: p.feature, settings: p.settings })),
      scripts,
      lxcOptions: m.lxcOptions,
      apparmor: m.features.apparmor ?? null,
    };
    builds.set(m.name, sha256Hex(canonicalJson({ parent, own })).slice(0, 16));
  }
  return builds;
}
