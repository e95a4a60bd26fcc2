// The cluster's PCI hardware mappings (/etc/pve/mapping/pci.cfg, kept as <stateDir>/pve/mapping/pci.json), in a
// module of their own because /cluster/mapping/pci edits them and a VM's migration preconditions read them.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface PciMapping {
  description?: string;
  map: string[];
  mdev?: string;
  "live-migration-capable"?: string;
}

export class MappingStore {
  private data: Record<string, PciMapping>;
  constructor(private readonly file: string) {
    // No prototype: a mapping id such as constructor or toString is a name like any other.
    this.data = Object.assign(
      Object.create(null) as Record<string, PciMapping>,
      existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, PciMapping>) : {},
    );
  }
  all(): Record<string, PciMapping> {
    return this.data;
  }
  save(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(this.file, JSON.stringify(this.data, null, 2));
  }
}

/**
 * PVE::Mapping::PCI::get_node_mapping: the map entries of mapping `id` for a node (`node=<name>` in the entry);
 * undefined when there is no such mapping.
 */
export function nodeMapping(mappings: Record<string, PciMapping>, id: string, node: string): string[] | undefined {
  if (!Object.hasOwn(mappings, id)) return undefined;
  return mappings[id]!.map.filter((entry) => entry.split(",").includes(`node=${node}`));
}
