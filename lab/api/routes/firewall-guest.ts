// A guest's firewall API: /nodes/{node}/{lxc,qemu}/{vmid}/firewall/{options,rules,aliases,ipset}, kept in
// /etc/pve/firewall/<vmid>.fw; the guest's config must exist.
import type { ApiContext } from "../context";
import { guestLevel } from "../firewall-level";
import type { Route } from "../router";
import { firewallAliasRoutes } from "./firewall-aliases";
import { firewallIpsetRoutes } from "./firewall-ipset";
import { GUEST_OPTIONS, firewallOptionRoutes } from "./firewall-options";
import { levelRules, ruleRoutes } from "./firewall-rules";

export function firewallGuestRoutes(ctx: ApiContext): Route[] {
  return (["lxc", "qemu"] as const).flatMap((type) => {
    const level = guestLevel(ctx, type);
    return [
      ...firewallOptionRoutes(ctx, level, GUEST_OPTIONS),
      ...ruleRoutes(ctx, levelRules(level)),
      ...firewallAliasRoutes(ctx, level),
      ...firewallIpsetRoutes(ctx, level),
    ];
  });
}
