// /etc/pve/jobs.cfg as Proxmox's SectionConfig writes it (pve-common PVE/Job/Registry.pm, PVE/SectionConfig.pm):
// a `vzdump: <id>` header, TAB-indented `key value` lines — comment first, then the required keys (schedule), then
// the rest sorted, booleans as 0/1 — and a blank line after each section. Pure.

export interface JobSection {
  type: string;
  id: string;
  /** Stored values as strings (property strings such as prune-backups kept as written). */
  props: Record<string, string>;
}

const REQUIRED: Record<string, string[]> = { vzdump: ["schedule"] };

export function parseJobsConfig(text: string): JobSection[] {
  const out: JobSection[] = [];
  let current: JobSection | undefined;
  for (const [n, line] of text.split("\n").entries()) {
    if (line.trim() === "" || line.startsWith("#")) {
      if (line.trim() === "") current = undefined;
      continue;
    }
    const header = /^(\S+):\s*(\S+)\s*$/.exec(line);
    if (header && !/^\s/.test(line)) {
      current = { type: header[1]!, id: header[2]!, props: {} };
      out.push(current);
      continue;
    }
    const prop = /^\s+(\S+)(?:\s+(.*\S))?\s*$/.exec(line);
    if (!prop || !current) throw new Error(`jobs.cfg line ${n + 1}: unable to parse '${line}'`);
    current.props[prop[1]!] = prop[2] ?? "";
  }
  return out;
}

export function printJobsConfig(sections: readonly JobSection[]): string {
  let out = "";
  for (const s of sections) {
    out += `${s.type}: ${s.id}\n`;
    const required = REQUIRED[s.type] ?? [];
    const keys = [
      ...(s.props.comment !== undefined ? ["comment"] : []),
      ...required.filter((k) => s.props[k] !== undefined),
      ...Object.keys(s.props)
        .filter((k) => k !== "comment" && !required.includes(k))
        .sort(),
    ];
    for (const k of keys) {
      const v = s.props[k]!;
      if (v.includes("\n")) throw new Error(`property '${k}' of job '${s.id}' contains a newline`);
      out += `\t${k} ${v}\n`;
    }
    out += "\n";
  }
  return out;
}
