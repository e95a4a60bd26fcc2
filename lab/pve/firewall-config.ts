// pve-firewall's own file format (/etc/pve/firewall/cluster.fw, <vmid>.fw, nodes/<node>/host.fw): [OPTIONS],
// [ALIASES], [IPSET name], [RULES] and [group name] sections, parsed and printed as pve-firewall does. Pure.
import { createHash } from "node:crypto";

/** A rule as the API shows it: type in|out|group (a group rule's action is the group's name). */
export interface FwRule {
  type: string;
  action: string;
  enable?: number;
  macro?: string;
  iface?: string;
  source?: string;
  dest?: string;
  proto?: string;
  dport?: string;
  sport?: string;
  log?: string;
  "icmp-type"?: string;
  comment?: string;
}

export interface FwAlias {
  name: string;
  cidr: string;
  comment?: string;
}

export interface FwIpsetEntry {
  cidr: string;
  nomatch?: boolean;
  comment?: string;
}

export interface FwFile {
  options: Record<string, string>;
  /** Keyed by the lower-cased name, as pve-firewall keys them. */
  aliases: Record<string, FwAlias>;
  ipset: Record<string, FwIpsetEntry[]>;
  ipsetComments: Record<string, string>;
  rules: FwRule[];
  groups: Record<string, FwRule[]>;
  groupComments: Record<string, string>;
}

export function emptyFwFile(): FwFile {
  const o = () => Object.create(null) as Record<string, never>;
  return { options: o(), aliases: o(), ipset: o(), ipsetComments: o(), rules: [], groups: o(), groupComments: o() };
}

/** The rule fields printed as `-<flag> value`, in pve-firewall's order. */
const RULE_FLAGS: [keyof FwRule, string][] = [
  ["iface", "-i"],
  ["source", "-source"],
  ["dest", "-dest"],
  ["proto", "-p"],
  ["dport", "-dport"],
  ["sport", "-sport"],
  ["log", "-log"],
  ["icmp-type", "-icmp-type"],
];

function splitComment(line: string): [string, string | undefined] {
  const i = line.indexOf("#");
  if (i < 0) return [line.trim(), undefined];
  const comment = line.slice(i + 1).trim();
  return [line.slice(0, i).trim(), comment === "" ? undefined : comment];
}

function parseRuleLine(line: string): FwRule {
  const [body, comment] = splitComment(line);
  const m = /^(\|)?(IN|OUT|GROUP)\s+(\S+)\s*(.*)$/i.exec(body);
  if (!m) throw new Error(`unable to parse rule: ${line}`);
  const rule: FwRule = { type: m[2]!.toLowerCase(), action: m[3]!, enable: m[1] ? 0 : 1 };
  const macro = /^(\w+)\((ACCEPT|DROP|REJECT)\)$/.exec(rule.action);
  if (macro && rule.type !== "group") {
    rule.macro = macro[1]!;
    rule.action = macro[2]!;
  }
  const words = m[4]!.split(/\s+/).filter(Boolean);
  for (let i = 0; i < words.length; i += 2) {
    const field = RULE_FLAGS.find(([, flag]) => flag === words[i])?.[0];
    if (!field || words[i + 1] === undefined) throw new Error(`unable to parse rule option '${words[i]}': ${line}`);
    (rule as unknown as Record<string, string>)[field] = words[i + 1]!;
  }
  if (comment !== undefined) rule.comment = decodeURIComponent(comment);
  return rule;
}

function printRuleLine(rule: FwRule): string {
  const head =
    rule.type === "group"
      ? `GROUP ${rule.action}`
      : `${rule.type.toUpperCase()} ${rule.macro ? `${rule.macro}(${rule.action})` : rule.action}`;
  const parts = [`${rule.enable === 0 || rule.enable === undefined ? "|" : ""}${head}`];
  for (const [field, flag] of RULE_FLAGS) if (rule[field] !== undefined) parts.push(flag, String(rule[field]));
  // pve-firewall encodes a rule's comment so a '#' or newline in it cannot end the line early
  if (rule.comment) parts.push(`# ${encodeURIComponent(rule.comment).replace(/%20/g, " ")}`);
  return parts.join(" ");
}

export function parseFwFile(text: string): FwFile {
  const fw = emptyFwFile();
  let section: { kind: string; name?: string } | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const head = /^\[(\w+)(?:\s+(\S+))?\]\s*(?:#\s*(.*))?$/.exec(line);
    if (head) {
      const kind = head[1]!.toUpperCase();
      section = { kind, ...(head[2] ? { name: head[2] } : {}) };
      if (kind === "IPSET" && head[2]) {
        fw.ipset[head[2]] = fw.ipset[head[2]] ?? [];
        if (head[3]) fw.ipsetComments[head[2]] = head[3].trim();
      }
      if (kind === "GROUP" && head[2]) {
        fw.groups[head[2]] = fw.groups[head[2]] ?? [];
        if (head[3]) fw.groupComments[head[2]] = head[3].trim();
      }
      continue;
    }
    if (!section) continue;
    if (section.kind === "OPTIONS") {
      const m = /^(\S+?)\s*:\s*(\S+)$/.exec(line);
      if (m) fw.options[m[1]!] = m[2]!;
    } else if (section.kind === "ALIASES") {
      const [body, comment] = splitComment(line);
      const [name, cidr] = body.split(/\s+/);
      if (name && cidr) fw.aliases[name.toLowerCase()] = { name, cidr, ...(comment ? { comment } : {}) };
    } else if (section.kind === "IPSET" && section.name) {
      const [body, comment] = splitComment(line);
      const nomatch = body.startsWith("!");
      fw.ipset[section.name]!.push({
        cidr: nomatch ? body.slice(1) : body,
        ...(nomatch ? { nomatch } : {}),
        ...(comment ? { comment } : {}),
      });
    } else if (section.kind === "RULES") fw.rules.push(parseRuleLine(line));
    else if (section.kind === "GROUP" && section.name) fw.groups[section.name]!.push(parseRuleLine(line));
  }
  return fw;
}

/** The file as pve-firewall writes it: options, aliases, IP sets, rules, then security groups (cluster.fw). */
export function printFwFile(fw: FwFile): string {
  const out: string[] = [];
  const opts = Object.keys(fw.options).sort();
  if (opts.length) out.push("[OPTIONS]", "", ...opts.map((k) => `${k}: ${fw.options[k]}`), "");
  const aliases = Object.keys(fw.aliases).sort();
  if (aliases.length)
    out.push(
      "[ALIASES]",
      "",
      ...aliases.map((k) => {
        const a = fw.aliases[k]!;
        return `${a.name} ${a.cidr}${a.comment ? ` # ${a.comment}` : ""}`;
      }),
      "",
    );
  for (const name of Object.keys(fw.ipset).sort()) {
    const comment = fw.ipsetComments[name];
    out.push(`[IPSET ${name}]${comment ? ` # ${comment}` : ""}`, "");
    for (const e of fw.ipset[name]!) out.push(`${e.nomatch ? "!" : ""}${e.cidr}${e.comment ? ` # ${e.comment}` : ""}`);
    out.push("");
  }
  if (fw.rules.length) out.push("[RULES]", "", ...fw.rules.map(printRuleLine), "");
  for (const name of Object.keys(fw.groups).sort()) {
    const comment = fw.groupComments[name];
    out.push(`[group ${name}]${comment ? ` # ${comment}` : ""}`, "", ...fw.groups[name]!.map(printRuleLine), "");
  }
  return out.join("\n");
}

/** The digest the API hands out with lists and options, and checks a write's `digest` against (SHA-1). */
export function fwDigest(data: unknown): string {
  return createHash("sha1").update(JSON.stringify(data)).digest("hex");
}
