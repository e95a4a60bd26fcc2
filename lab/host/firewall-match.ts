// pve-firewall's rules as nftables match expressions, shared by the guests' chains and the node's own: an address
// (alias, IP set or CIDR list) resolved, ports and ICMP types, security groups expanded in place and macros applied.
// Pure text.
import type { FwFile, FwRule } from "../pve/firewall-config";
import { ICMP_TYPES, MACROS, ipVersion, macroName, parsePorts, reference } from "../pve/firewall-rules";

export type Direction = "in" | "out";

/** An address (`source`/`dest`) as an nft expression's right-hand side, or undefined when it cannot be rendered. */
export function addresses(
  value: string,
  cluster: FwFile,
  own: FwFile,
): { family: 4 | 6; match: string; except?: string } | undefined {
  const ref = reference(value);
  if (ref && (ref.kind === "ipset" || ipVersion(value) === undefined)) {
    if (ref.kind === "alias") {
      const key = ref.name.toLowerCase();
      const alias = (ref.scope !== "dc" && own.aliases[key]) || (ref.scope !== "guest" && cluster.aliases[key]);
      return alias ? addresses(alias.cidr, cluster, own) : undefined;
    }
    const set = (ref.scope !== "dc" && own.ipset[ref.name]) || (ref.scope !== "guest" && cluster.ipset[ref.name]);
    if (!set) return undefined;
    const resolve = (e: string) => addresses(e, cluster, own);
    const yes = set
      .filter((e) => !e.nomatch)
      .map((e) => resolve(e.cidr))
      .filter((x) => x !== undefined);
    const no = set
      .filter((e) => e.nomatch)
      .map((e) => resolve(e.cidr))
      .filter((x) => x !== undefined);
    const family = yes[0]?.family ?? 4;
    const list = (xs: typeof yes) => xs.filter((x) => x.family === family).map((x) => x.match.replace(/^\{ | \}$/g, ""));
    // an empty set matches nothing: an address no packet has
    const match = list(yes).length ? `{ ${list(yes).join(", ")} }` : family === 4 ? "255.255.255.255" : "::ffff:255.255.255.255";
    return { family, match, ...(list(no).length ? { except: `{ ${list(no).join(", ")} }` } : {}) };
  }
  const items = value.split(",");
  const family = ipVersion(items[0]!);
  if (!family || items.some((i) => ipVersion(i) !== family)) return undefined;
  return { family, match: items.length > 1 ? `{ ${items.join(", ")} }` : items[0]! };
}

function ports(text: string): string {
  const list = parsePorts(text, true).map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`));
  return list.length > 1 ? `{ ${list.join(", ")} }` : list[0]!;
}

/** One rule (macro already applied) as nft match expressions; undefined when it cannot match (say so in comments). */
export function matches(rule: FwRule, cluster: FwFile, own: FwFile): string[] | undefined {
  const out: string[] = [];
  let family: 4 | 6 | undefined;
  for (const [field, dir] of [
    ["source", "saddr"],
    ["dest", "daddr"],
  ] as const) {
    const v = rule[field];
    if (!v) continue;
    const a = addresses(v, cluster, own);
    if (!a || (family && a.family !== family)) return undefined;
    family = a.family;
    const key = a.family === 4 ? "ip" : "ip6";
    if (a.except) out.push(`${key} ${dir} != ${a.except}`);
    out.push(`${key} ${dir} ${a.match}`);
  }
  const proto = rule.proto;
  if (proto === "icmp" || proto === "icmpv6" || proto === "ipv6-icmp") {
    const key = proto === "icmp" ? "icmp" : "icmpv6";
    const type = rule["icmp-type"] ?? rule.dport;
    out.push(type && ICMP_TYPES.includes(type) ? `${key} type ${type}` : `meta l4proto ${key === "icmp" ? "icmp" : "ipv6-icmp"}`);
  } else if (proto) {
    const portable = ["tcp", "udp", "sctp", "udplite"].includes(proto);
    if (portable && (rule.dport || rule.sport)) {
      if (rule.sport) out.push(`${proto} sport ${ports(rule.sport)}`);
      if (rule.dport) out.push(`${proto} dport ${ports(rule.dport)}`);
    } else out.push(`meta l4proto ${/^\d+$/.test(proto) ? proto : proto}`);
  }
  return out;
}

/** A rule after expansion: `group` names the security group it came from (its log names the group's chain). */
export type ExpandedRule = FwRule & { group?: string };

/** The guest's rules of one direction, groups expanded in place and macros applied, enabled ones only. */
export function expand(rules: FwRule[], dir: Direction, cluster: FwFile): ExpandedRule[] {
  const out: ExpandedRule[] = [];
  for (const r of rules) {
    if (r.enable === 0) continue;
    if (r.type === "group") {
      out.push(
        ...expand(cluster.groups[r.action] ?? [], dir, cluster).map((g) => ({
          ...g,
          group: r.action,
          ...(r.iface ? { iface: r.iface } : {}),
        })),
      );
      continue;
    }
    if (r.type !== dir) continue;
    const macro = r.macro ? macroName(r.macro) : undefined;
    if (!macro) out.push(r);
    else
      for (const m of MACROS[macro]!) {
        const { macro: _m, ...rest } = r;
        void _m;
        const comment = r.comment ?? `${r.type} ${macro} ${r.action}`;
        out.push({
          ...rest,
          comment,
          proto: r.proto ?? m.proto,
          ...((r.dport ?? m.dport) ? { dport: r.dport ?? m.dport } : {}),
          ...((r.sport ?? m.sport) ? { sport: r.sport ?? m.sport } : {}),
        });
      }
  }
  return out;
}

/**
 * A rule's action as an nft verdict. ACCEPT ends the packet's way in; on the way out it hands the packet back (a
 * guest's or the node's OUT chain), so the receiving guest's IN chain still sees it.
 */
export const VERDICT: Record<Direction, Record<string, string>> = {
  out: { ACCEPT: "return", DROP: "drop", REJECT: "reject" },
  in: { ACCEPT: "accept", DROP: "drop", REJECT: "reject" },
};

/** A rule's comment as nft takes it (its own, else its type and action): quotes and backslashes out, 100 characters. */
export function ruleComment(r: FwRule): string {
  return `comment "${(r.comment ?? `${r.type} ${r.action}`).replace(/["\\]/g, "").replace(/\s+/g, " ").slice(0, 100)}"`;
}
