// Files the definition references (custom scripts, AppArmor profiles) exist inside its directory and can be read:
// the same resolver the components read them with (definition/files.ts), so what validates is what `up` reads.
import { readProjectFile } from "../definition/files";
import { type Problem, error } from "../definition/problems";
import type { Definition } from "../definition/schema";

export function checkFiles(def: Definition, projectDir: string): Problem[] {
  const out: Problem[] = [];
  const check = (path: string, ref: string) => {
    const r = readProjectFile(projectDir, ref);
    if (!r.ok) out.push(error(path, r.message, r.fix));
  };
  def.nodes.forEach((n, i) => n.apparmorProfiles.forEach((a, k) => check(`nodes[${i}].apparmorProfiles[${k}].file`, a.file)));
  const machines = [
    ...def.templates.map((t, i) => ({ t, path: `templates[${i}]` })),
    ...def.guests.map((t, i) => ({ t, path: `guests[${i}]` })),
  ];
  for (const { t, path } of machines)
    if ("features" in t && t.features.script) check(`${path}.features.script.path`, t.features.script.path);
  return out;
}
