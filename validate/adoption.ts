// The adoption record beside a definition (definition/adoption.ts), checked against it: an entry that no longer
// matches its guest is not treated as adopted, and a rebuild that protection would refuse is said before any up.
import type { AdoptionRecord } from "../definition/adoption";
import { type Problem, error, warning } from "../definition/problems";
import type { Index } from "../definition/resolve";

/** `where` names the record file in problem paths, e.g. dev.adopted.json. */
export function checkAdoption(ix: Index, record: AdoptionRecord, where: string): Problem[] {
  const out: Problem[] = [];
  for (const [name, e] of Object.entries(record.guests)) {
    const m = ix.byName.get(name);
    const path = `${where}:guests.${name}`;
    if (!m) continue; // the up deletes it like any guest the definition dropped, and says so first
    const node = m.def.node ?? ix.effective(m).node?.name;
    if (e.vmid !== m.vmid || e.type !== m.type || (node !== undefined && e.node !== node))
      out.push(
        warning(
          path,
          `'${name}' was adopted as ${e.type} ${e.vmid} on ${e.node}, but ${m.path} makes it ${m.type} ${m.vmid} on ${node ?? "?"}: ` +
            "it is not treated as adopted",
          "run phoenix adopt again (or restore the vmid, type and node it was adopted with)",
        ),
      );
    else if (e.rebuild && m.def.protect)
      out.push(
        error(
          `${m.path}.protect`,
          `'${name}' is marked for rebuilding (${path}.rebuild), which replaces it, but it is protected`,
          `set protect: false on ${m.path} for the rebuild, or set rebuild back to false`,
        ),
      );
  }
  return out;
}
