// Cross-field checks of the definition's firewall (issue 17): names that point at nothing, rules Proxmox would refuse
// or never apply, and firewalls that would protect nothing although the definition says they do.
import { type Problem, error, warning } from "../definition/problems";
import type { Index, Machine } from "../definition/resolve";
import { type RuleContext, checkRuleList, ruleKey } from "./firewall-rules";

export function checkFirewall(ix: Index): Problem[] {
  const def = ix.def;
  const dc = def.firewall;
  const ctx: RuleContext = {
    groups: new Set(dc?.groups.map((g) => g.name)),
    aliases: new Set(dc?.aliases.map((a) => a.name)),
    ipsets: new Set(dc?.ipsets.map((s) => s.name)),
    machines: ix.byName,
  };
  const out: Problem[] = [];
  if (dc) {
    out.push(...uniqueNames(dc.groups, "firewall.groups", "security group"));
    out.push(...uniqueNames(dc.aliases, "firewall.aliases", "alias"));
    out.push(...uniqueNames(dc.ipsets, "firewall.ipsets", "IP set"));
    out.push(...checkRuleList(dc.rules, "firewall.rules", ctx));
    dc.groups.forEach((g, i) => out.push(...checkRuleList(g.rules, `firewall.groups[${i}].rules`, ctx)));
  }
  const guests = ix.machines.filter((m) => m.kind === "guest");
  for (const m of guests) out.push(...checkGuest(m, ctx));
  def.apps.forEach((a, i) => {
    if (a.firewall.length === 0) return;
    const path = `apps[${i}].firewall`;
    const on = a.guests.flatMap((g) => (ix.byName.get(g) ? [ix.byName.get(g)!] : []));
    const firewalled = on.filter((m) => firewallOf(m)?.enable);
    if (firewalled.length === 0)
      out.push(
        error(
          path,
          `none of the app's guests (${a.guests.join(", ")}) has a firewall: its rules would apply nowhere`,
          `add firewall: {} to ${on[0]?.path ?? "its guest"}, or remove these rules`,
        ),
      );
    for (const m of on)
      if (!firewallOf(m)?.enable && firewalled.length > 0)
        out.push(
          warning(path, `guest '${m.name}' has no firewall: the app's rules do not apply there`, `add firewall: {} to ${m.path}`),
        );
    out.push(...checkRuleList(a.firewall, path, ctx, firewalled));
    for (const m of firewalled) out.push(...alsoOnGuest(a.firewall, path, m));
  });
  const anyGuestFirewall = guests.some((m) => firewallOf(m)?.enable);
  if (anyGuestFirewall && !dc?.enable)
    out.push(
      warning(
        dc ? "firewall.enable" : "firewall",
        dc
          ? "the datacenter's firewall is off: Proxmox applies no guest's firewall then"
          : "the datacenter's firewall is not declared: guests' firewalls apply only if it is on in Proxmox",
        "declare firewall: { enable: true } (with rules that keep your own access to the nodes)",
      ),
    );
  return out;
}

const firewallOf = (m: Machine) => (m.kind === "guest" && "firewall" in m.def ? m.def.firewall : undefined);

function checkGuest(m: Machine, ctx: RuleContext): Problem[] {
  const fw = firewallOf(m);
  if (!fw) return [];
  const out = checkRuleList(fw.rules, `${m.path}.firewall.rules`, ctx, [m]);
  if (fw.enable && !m.def.network.some((n) => n.firewall === true))
    out.push(
      // An error, not a warning: the definition says the guest is protected, and Proxmox would filter none of its traffic.
      error(
        `${m.path}.firewall`,
        `no interface of guest '${m.name}' has firewall: true: Proxmox would apply none of this firewall`,
        `set ${m.path}.network[0].firewall: true (Proxmox filters only interfaces with firewall=1)`,
      ),
    );
  return out;
}

/** An app's rule that the guest already has is added twice: harmless, but surely not meant. */
function alsoOnGuest(rules: readonly Parameters<typeof ruleKey>[0][], path: string, m: Machine): Problem[] {
  const own = new Set((firewallOf(m)?.rules ?? []).map(ruleKey));
  return rules.flatMap((r, i) =>
    own.has(ruleKey(r)) ? [warning(`${path}[${i}]`, `guest '${m.name}' has this rule already`, "keep it in one place")] : [],
  );
}

function uniqueNames(items: readonly { name: string }[], path: string, what: string): Problem[] {
  const seen = new Set<string>();
  return items.flatMap((x, i) => {
    const key = x.name;
    if (seen.has(key)) return [error(`${path}[${i}].name`, `a second ${what} '${x.name}'`, "give each a different name")];
    seen.add(key);
    return [];
  });
}
