// What the rest of the lab's API asks of HA (pve-ha-manager's Config.pm calls from pve-container and qemu-server):
// whether a guest is HA-managed, its removal with `purge`, and a migration request. The lab runs no CRM or LRM, so
// it carries a migration request out itself, as the LRM would on the guest's node; nothing watches or fences.
import { join } from "node:path";
import type { GuestType } from "../pve/backend";
import { HaResourceStore } from "./ha-config";
import { HaRuleStore } from "./ha-rules-config";

const TYPE: Record<GuestType, string> = { lxc: "ct", qemu: "vm" };

export class HaStack {
  readonly resources: HaResourceStore;
  readonly rules: HaRuleStore;

  /** `dir`: the cluster's /etc/pve/ha (resources.cfg, rules.cfg). */
  constructor(dir: string) {
    this.resources = new HaResourceStore(join(dir, "resources.cfg"));
    this.rules = new HaRuleStore(join(dir, "rules.cfg"));
  }

  /** The guest's HA resource, whatever its state (service_is_configured). */
  configured(type: GuestType, vmid: number): { state: string } | undefined {
    const r = this.resources.read().resources.find((x) => x.type === TYPE[type] && x.name === String(vmid));
    return r ? { state: r.options.state ?? "started" } : undefined;
  }

  /** HA-managed as vm_is_ha_managed without a state: configured and not `ignored` (ignored ones are managed directly). */
  managed(type: GuestType, vmid: number): boolean {
    const r = this.configured(type, vmid);
    return r !== undefined && r.state !== "ignored";
  }

  /** delete_service_from_config: out of resources.cfg and every rule. True when it was there. */
  purge(type: GuestType, vmid: number): boolean {
    const { resources } = this.resources.read();
    const rest = resources.filter((x) => !(x.type === TYPE[type] && x.name === String(vmid)));
    if (rest.length === resources.length) return false;
    this.resources.write(rest);
    this.rules.purgeResource(`${TYPE[type]}:${vmid}`);
    return true;
  }
}
