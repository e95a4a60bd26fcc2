// Checks of one firewall rule list (the datacenter's, a group's, a guest's, an app's): what pve-firewall would refuse
// or store differently, and names that point at nothing.
import { type Problem, error, warning } from "../definition/problems";
import { type AnyFirewallRule, type FirewallRule, isGroupRule } from "../definition/network-services-schema";
import { PORT_PROTOCOLS, proxmoxMacro } from "../definition/firewall-macros";
import { endpointItems, validAddress } from "../definition/firewall-endpoints";
import type { Machine } from "../definition/resolve";

/** What a rule's names may point at. */
export interface RuleContext {
  groups: ReadonlySet<string>;
  aliases: ReadonlySet<string>;
  ipsets: ReadonlySet<string>;
  machines: ReadonlyMap<string, Machine>;
}

/** The guests a list's rules apply to (their interfaces), when it is a guest's or an app's list. */
export type RuleTargets = readonly Machine[];

/** A rule's identity for "the same rule twice": everything but its comment. */
export function ruleKey(r: AnyFirewallRule): string {
  const { comment: _comment, ...rest } = r;
  return JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)));
}

export function checkRuleList(
  rules: readonly AnyFirewallRule[],
  path: string,
  ctx: RuleContext,
  targets: RuleTargets = [],
): Problem[] {
  const out: Problem[] = [];
  const seen = new Map<string, number>();
  rules.forEach((r, i) => {
    const at = `${path}[${i}]`;
    const key = ruleKey(r);
    const first = seen.get(key);
    if (first !== undefined) out.push(error(at, `the same rule as ${path}[${first}]`, "remove one of them"));
    else seen.set(key, i);
    if (r.iface) out.push(...checkIface(r.iface, `${at}.iface`, targets));
    if (isGroupRule(r)) {
      if (!ctx.groups.has(r.group))
        out.push(
          error(`${at}.group`, `no security group '${r.group}'`, "declare it in firewall.groups, or name one that is there"),
        );
      return;
    }
    out.push(...checkRule(r, at, ctx));
  });
  return out;
}

function checkRule(r: FirewallRule, at: string, ctx: RuleContext): Problem[] {
  const out: Problem[] = [];
  if (r.macro !== undefined) {
    const spelled = proxmoxMacro(r.macro);
    if (!spelled)
      out.push(
        error(
          `${at}.macro`,
          `Proxmox has no macro '${r.macro}'`,
          "use one of pve-firewall's macros (SSH, HTTP, HTTPS, DNS …) or proto and dport",
        ),
      );
    else if (spelled !== r.macro)
      out.push(
        error(`${at}.macro`, `Proxmox stores this macro as '${spelled}' (a diff on every refresh)`, `write macro: ${spelled}`),
      );
  }
  for (const field of ["dport", "sport"] as const) {
    const value = r[field];
    if (value === undefined) continue;
    out.push(...checkPorts(value, `${at}.${field}`));
    if (r.macro === undefined && (r.proto === undefined || !PORT_PROTOCOLS.includes(r.proto)))
      out.push(
        error(
          `${at}.${field}`,
          `ports need a protocol that has them (${r.proto === undefined ? "no proto is set" : `proto is ${r.proto}`})`,
          "set proto: tcp or udp (or sctp, udplite, dccp), or use a macro",
        ),
      );
  }
  for (const field of ["source", "dest"] as const) {
    const value = r[field];
    if (value !== undefined) out.push(...checkEndpoint(value, `${at}.${field}`, ctx));
  }
  return out;
}

/** Ports 1-65535; a range a:b with a <= b. */
export function checkPorts(value: string, path: string): Problem[] {
  for (const part of value.split(",")) {
    const [a, b = a] = part.split(":").map(Number) as [number, number?];
    if (a < 1 || a > 65535 || b! < 1 || b! > 65535)
      return [error(path, `port ${part} is outside 1-65535`, "use ports from 1 to 65535")];
    if (a > b!) return [error(path, `range ${part} runs backwards`, `write it low:high (${b}:${a})`)];
  }
  return [];
}

function checkEndpoint(value: string, path: string, ctx: RuleContext): Problem[] {
  const items = endpointItems(value);
  const out: Problem[] = [];
  for (const item of items) {
    if (item.kind === "address") {
      if (!validAddress(item.text))
        out.push(
          error(
            path,
            `'${item.text}' is not an IPv4 address, CIDR or range`,
            "write e.g. 10.0.0.5, 10.0.0.0/24 or 10.0.0.5-10.0.0.9",
          ),
        );
      continue;
    }
    if (item.kind === "ipset") {
      if (!ctx.ipsets.has(item.name))
        out.push(error(path, `no IP set '${item.name}'`, "declare it in firewall.ipsets, or name one that is there"));
      else if (items.length > 1)
        out.push(error(path, `an IP set stands alone in Proxmox, not in a list`, "use one rule per IP set"));
      continue;
    }
    const alias = ctx.aliases.has(item.name);
    const machine = ctx.machines.get(item.name);
    if (alias && machine)
      out.push(error(path, `'${item.name}' is both an alias and a guest`, "rename the alias so the rule says which it means"));
    else if (alias) {
      if (items.length > 1) out.push(error(path, `an alias stands alone in Proxmox, not in a list`, "use one rule per alias"));
    } else if (!machine)
      out.push(
        error(path, `'${item.name}' is no alias, IP set or guest`, "declare the alias in firewall.aliases, or name a guest"),
      );
    else out.push(...checkGuestAddress(machine, path));
  }
  return out;
}

/** A guest named in a rule stands for its first interface's planned address: it needs one. */
function checkGuestAddress(m: Machine, path: string): Problem[] {
  if (m.kind === "template")
    return [error(path, `'${m.name}' is a template: it runs nowhere, it has no address`, "name a guest")];
  const ip = m.def.network[0]?.ip;
  if (ip === undefined || ip === "dhcp")
    return [
      error(
        path,
        `guest '${m.name}' has no planned address (its first interface uses ${ip ?? "nothing"})`,
        `give ${m.path}.network[0] a static ip or "auto", or write the address`,
      ),
    ];
  return [];
}

/** iface netN: the guests' Nth interface, which must exist (and be firewalled, else the rule never matches). */
function checkIface(iface: string, path: string, targets: RuleTargets): Problem[] {
  const n = Number(iface.slice(3));
  const out: Problem[] = [];
  for (const m of targets) {
    const nic = m.def.network[n];
    if (!nic)
      out.push(
        error(
          path,
          `guest '${m.name}' has no ${iface} (it has ${m.def.network.length} interface(s))`,
          `name net0 … net${m.def.network.length - 1}, or drop iface`,
        ),
      );
    else if (nic.firewall !== true)
      out.push(
        warning(
          path,
          `${iface} of guest '${m.name}' has no firewall: the rule never matches`,
          `set ${m.path}.network[${n}].firewall: true`,
        ),
      );
  }
  return out;
}
