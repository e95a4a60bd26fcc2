// Guest configs as files in Proxmox's layout and format, for backends that keep them on disk:
// <root>/lxc/<vmid>.conf and <root>/qemu-server/<vmid>.conf (the lab's node-side `pct` reads the same
// files under <stateDir>/pve, as /etc/pve/nodes/<node>/… on a real node).
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { GuestType } from "./backend";
import { type ConfigFile, parseConfigFile, printConfigFile } from "./pve-config";

const DIRS: Record<GuestType, string> = { lxc: "lxc", qemu: "qemu-server" };

export class ConfigStore {
  constructor(private readonly root: string) {}

  path(type: GuestType, vmid: number): string {
    return join(this.root, DIRS[type], `${vmid}.conf`);
  }

  list(): { vmid: number; type: GuestType }[] {
    const out: { vmid: number; type: GuestType }[] = [];
    for (const type of Object.keys(DIRS) as GuestType[]) {
      const dir = join(this.root, DIRS[type]);
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir)) {
        const m = /^(\d+)\.conf$/.exec(f);
        if (m) out.push({ vmid: Number(m[1]), type });
      }
    }
    return out.sort((a, b) => a.vmid - b.vmid);
  }

  read(type: GuestType, vmid: number): ConfigFile | undefined {
    const p = this.path(type, vmid);
    return existsSync(p) ? parseConfigFile(readFileSync(p, "utf8")) : undefined;
  }

  /**
   * Writes atomically, as Proxmox's file_set_contents does: a temp file in the same directory
   * (`<vmid>.conf.tmp.<pid>`), then a rename over the config, so a reader sees the old file or the new one.
   * Writers that read the config first hold its lock (LabBackend.lockConfig) around the read and this write.
   */
  write(type: GuestType, vmid: number, file: ConfigFile): void {
    const p = this.path(type, vmid);
    mkdirSync(join(this.root, DIRS[type]), { recursive: true });
    const tmp = `${p}.tmp.${process.pid}`;
    writeFileSync(tmp, printConfigFile(file));
    renameSync(tmp, p);
  }

  delete(type: GuestType, vmid: number): void {
    rmSync(this.path(type, vmid), { force: true });
  }
}
