// What a golden template is built from, as one hash per template: its own provisioning (features with their
// settings, custom scripts' contents, raw LXC options, AppArmor profile and that profile's text) and its parent
// template's build. A changed build means the frozen template must be rebuilt, and its clones with it. Pure but for
// reading files (custom scripts and profiles, relative to the definition).
import { canonicalJson, sha256Hex } from "../../definition/hash";
import { BUILTIN_APPARMOR_PROFILES } from "../../definition/schema";
import type { Plan, PlannedMachine } from "../../plan/plan";

export function templateBuilds(plan: Pick<Plan, "machines" | "nodes">, readFile: (path: string) => string): Map<string, string> {
  const builds = new Map<string, string>();
  for (const m of plan.machines) {
    if (m.kind !== "template") continue;
    const parent = m.source.kind === "clone" ? (builds.get(m.source.template) ?? null) : m.source.template;
    const scripts = m.provisioners
      .filter((p) => p.feature === "script")
      .map((p) => {
        const path = (p.settings as { path: string }).path;
        return { path, content: readFile(path) };
      });
    const own = {
      provisioners: m.provisioners.map((p) => ({ feature: p.feature, settings: p.settings })),
      scripts,
      lxcOptions: m.lxcOptions,
      apparmor: m.features.apparmor ?? null,
      // Only for a profile the definition ships: builds without one hash as they did before the text counted.
      apparmorText: profileTextOf(m, plan.nodes, readFile),
    };
    builds.set(m.name, sha256Hex(canonicalJson({ parent, own })).slice(0, 16));
  }
  return builds;
}

/** The text of the template's AppArmor profile when the node's apparmorProfiles declare it (not a built-in one). */
function profileTextOf(m: PlannedMachine, nodes: Plan["nodes"], readFile: (path: string) => string): string | undefined {
  const profile = m.type === "lxc" ? m.features.apparmor?.profile : undefined;
  if (!profile || BUILTIN_APPARMOR_PROFILES.has(profile)) return undefined;
  const declared = nodes.find((n) => n.name === m.node)?.apparmorProfiles.find((p) => p.name === profile);
  return declared ? readFile(declared.file) : undefined;
}
