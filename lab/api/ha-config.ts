// /etc/pve/ha/resources.cfg as pve-ha-manager's SectionConfig writes it ("ct: 100" then tab-indented
// "key value" lines, a blank line between sections), read and written whole; pure apart from the file.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** One HA resource: its type (ct or vm), name (the vmid) and options (state, max_restart, comment, …). */
export interface HaResource {
  type: string;
  name: string;
  options: Record<string, string>;
}

function parseHaResources(text: string): HaResource[] {
  const out: HaResource[] = [];
  for (const line of text.split("\n")) {
    const head = /^(\w+):\s*(\S+)\s*$/.exec(line);
    if (head) out.push({ type: head[1]!, name: head[2]!, options: {} });
    const opt = /^\s+(\S+)\s+(.*)$/.exec(line);
    if (opt && out.length) out[out.length - 1]!.options[opt[1]!] = opt[2]!;
  }
  return out;
}

function printHaResources(resources: HaResource[]): string {
  return resources
    .map(
      (r) =>
        `${r.type}: ${r.name}\n${Object.entries(r.options)
          .map(([k, v]) => `\t${k} ${v}\n`)
          .join("")}`,
    )
    .join("\n");
}

export class HaResourceStore {
  constructor(private readonly file: string) {}

  read(): { resources: HaResource[]; digest: string } {
    const text = existsSync(this.file) ? readFileSync(this.file, "utf8") : "";
    return { resources: parseHaResources(text), digest: createHash("sha1").update(text).digest("hex") };
  }

  write(resources: HaResource[]): void {
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(`${this.file}.tmp`, printHaResources(resources));
    renameSync(`${this.file}.tmp`, this.file);
  }
}
