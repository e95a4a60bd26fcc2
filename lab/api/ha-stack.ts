// What the rest of the lab's API asks of HA (pve-ha-manager's Config.pm calls from pve-container and qemu-server):
// whether a guest is HA-managed, its removal with `purge`, and a migration request. The lab runs no CRM or LRM, so
// it carries a migration request out itself, as the LRM would on the guest's node (`motions` says which are under
// way); nothing watches or fences.
import { join } from "node:path";
import type { GuestType } from "../pve/backend";
import { HaResourceStore } from "./ha-config";
import { HaRuleStore } from "./ha-rules-config";

/** The HA resource type of a guest type (a sid is `ct:<vmid>` or `vm:<vmid>`). */
export const HA_TYPE: Record<GuestType, string> = { lxc: "ct", qemu: "vm" };

/** A migrate or relocate request the lab is carrying out: the CRM's service state while the LRM works, from where, to where. */
export interface HaMotion {
  cmd: "migrate" | "relocate";
  node: string;
  target: string;
}

export class HaStack {
  readonly resources: HaResourceStore;
  readonly rules: HaRuleStore;
  /** The requests being carried out now, by sid (`ct:100`); HA status shows them as the services' CRM state. */
  readonly motions = new Map<string, HaMotion>();

  /** `dir`: the cluster's /etc/pve/ha (resources.cfg, rules.cfg). */
  constructor(dir: string) {
    this.resources = new HaResourceStore(join(dir, "resources.cfg"));
    this.rules = new HaRuleStore(join(dir, "rules.cfg"));
  }

  /** Each HA resource's state by sid (`ct:100`), from one read of resources.cfg. */
  states(): Map<string, string> {
    return new Map(this.resources.read().resources.map((r) => [`${r.type}:${r.name}`, r.options.state ?? "started"]));
  }

  /** The guest's HA resource, whatever its state (service_is_configured). */
  configured(type: GuestType, vmid: number): { state: string } | undefined {
    const state = this.states().get(`${HA_TYPE[type]}:${vmid}`);
    return state === undefined ? undefined : { state };
  }

  /** HA-managed as vm_is_ha_managed without a state: configured and not `ignored` (ignored ones are managed directly). */
  managed(type: GuestType, vmid: number): boolean {
    const r = this.configured(type, vmid);
    return r !== undefined && r.state !== "ignored";
  }

  /**
   * delete_service_from_config: a resource out of resources.cfg and, with `purgeRules` (the API's default), out of
   * every rule (a rule left without resources goes). True when it was there.
   */
  remove(sid: string, purgeRules = true): boolean {
    const { resources } = this.resources.read();
    const rest = resources.filter((x) => `${x.type}:${x.name}` !== sid);
    if (rest.length === resources.length) return false;
    this.resources.write(rest);
    if (purgeRules) this.rules.purgeResource(sid);
    return true;
  }

  /** A removed guest's `purge`: out of HA and its rules. True when it was HA-managed. */
  purge(type: GuestType, vmid: number): boolean {
    return this.remove(`${HA_TYPE[type]}:${vmid}`);
  }
}
