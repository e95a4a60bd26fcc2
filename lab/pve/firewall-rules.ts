// pve-firewall's checks of a rule (verify_rule in PVE/Firewall.pm): types, actions, macros, protocols, port lists
// and ranges, addresses, aliases, IP sets and security groups, with its messages; and the macros the lab knows.
import { existsSync, readFileSync } from "node:fs";
import type { Errors } from "./schema";
import { isIPv4, isIPv6 } from "./schema";
import type { FwFile, FwRule } from "./firewall-config";

const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9\-_]+$/;
/** Where a rule lives: decides whether groups and interfaces may be used. */
export type RuleEnv = "cluster" | "host" | "vm" | "ct" | "group";

/** A macro's expansion: each entry a rule template (action from the rule). */
export interface MacroRule {
  proto: string;
  dport?: string;
  sport?: string;
}
export const MACROS: Record<string, MacroRule[]> = {
  SSH: [{ proto: "tcp", dport: "22" }],
  HTTP: [{ proto: "tcp", dport: "80" }],
  HTTPS: [{ proto: "tcp", dport: "443" }],
  Web: [
    { proto: "tcp", dport: "80" },
    { proto: "tcp", dport: "443" },
  ],
  DNS: [
    { proto: "udp", dport: "53" },
    { proto: "tcp", dport: "53" },
  ],
  Ping: [{ proto: "icmp", dport: "echo-request" }],
  SMTP: [{ proto: "tcp", dport: "25" }],
  NTP: [{ proto: "udp", dport: "123" }],
  DHCPfwd: [{ proto: "udp", dport: "67:68", sport: "67:68" }],
};
const PREFERRED_MACRO = Object.fromEntries(Object.keys(MACROS).map((m) => [m.toLowerCase(), m]));

export function macroName(name: string): string | undefined {
  return PREFERRED_MACRO[name.toLowerCase()];
}

const PROTOCOLS: Record<string, number> = {
  icmp: 1,
  igmp: 2,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  icmpv6: 58,
  "ipv6-icmp": 58,
  sctp: 132,
  udplite: 136,
};
export const ICMP_TYPES = [
  "echo-reply",
  "destination-unreachable",
  "source-quench",
  "redirect",
  "echo-request",
  "time-exceeded",
  "parameter-problem",
];

let services: Record<string, number> | undefined;
/** /etc/services by name (tcp/udp), as pve-firewall reads it for port names. */
function serviceNames(): Record<string, number> {
  if (services) return services;
  services = { ssh: 22, http: 80, https: 443, domain: 53, smtp: 25, ntp: 123 };
  if (existsSync("/etc/services"))
    for (const line of readFileSync("/etc/services", "utf8").split("\n")) {
      const m = /^([\w-]+)\s+(\d+)\/(tcp|udp)\s*([^#]*)/.exec(line);
      if (!m) continue;
      for (const n of [m[1]!, ...m[4]!.trim().split(/\s+/).filter(Boolean)]) services[n] ??= Number(m[2]);
    }
  return services;
}

/** parse_port_name_number_or_range: a comma list of ports, `a:b` ranges and service names; throws its messages. */
export function parsePorts(text: string, dport: boolean): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  let count = 0;
  for (const item of text.split(",")) {
    const range = /^(\d+):(\d+)$/.exec(item);
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (a > 65535) throw new Error(`invalid port '${a}'`);
      if (b > 65535) throw new Error(`invalid port '${b}'`);
      if (a > b) throw new Error(`backwards range '${a}:${b}' not allowed, did you mean '${b}:${a}'?`);
      out.push({ from: a, to: b });
      count += 2;
    } else if (/^\d+$/.test(item)) {
      if (Number(item) > 65535) throw new Error(`invalid port '${item}'`);
      out.push({ from: Number(item), to: Number(item) });
      count += 1;
    } else {
      if (dport && ICMP_TYPES.includes(item)) continue;
      const n = serviceNames()[item];
      if (n === undefined) throw new Error(`invalid port '${item}'`);
      out.push({ from: n, to: n });
      count += 1;
    }
  }
  if (count > 15) throw new Error("too many entries in port list (> 15 numbers)");
  return out;
}

function protocolNumber(proto: string): number | undefined {
  if (/^\d+$/.test(proto)) return Number(proto) <= 255 ? Number(proto) : undefined;
  return PROTOCOLS[proto];
}

/** An IP, CIDR or a-b range; 4 or 6, or undefined when it is none. */
export function ipVersion(s: string): 4 | 6 | undefined {
  const range = /^([^-]+)-([^-]+)$/.exec(s);
  if (range) {
    const [a, b] = [ipVersion(range[1]!), ipVersion(range[2]!)];
    return a && a === b ? a : undefined;
  }
  const m = /^([^/]+)(?:\/(\d+))?$/.exec(s);
  if (!m) return undefined;
  if (isIPv4(m[1]!) && (m[2] === undefined || Number(m[2]) <= 32)) return 4;
  if (isIPv6(m[1]!) && (m[2] === undefined || Number(m[2]) <= 128)) return 6;
  return undefined;
}

/** An alias or IP set reference (`name`, `dc/name`, `guest/name`, `+name`, `+dc/name`): its kind and bare name. */
export function reference(value: string): { kind: "ipset" | "alias"; name: string; scope?: string } | undefined {
  const m = /^(\+)?(?:(dc|guest)\/)?([A-Za-z][A-Za-z0-9\-_]+)$/.exec(value);
  if (!m) return undefined;
  return { kind: m[1] ? "ipset" : "alias", name: m[3]!, ...(m[2] ? { scope: m[2] } : {}) };
}

/** Checks a rule in its place; fills in ipversion and the macro's preferred name. Errors by parameter. */
export function verifyRule(rule: FwRule & { ipversion?: number }, env: RuleEnv, cluster: FwFile, own?: FwFile): Errors {
  const errors: Errors = Object.create(null) as Errors;
  const add = (p: string, msg: string) => (errors[p] ??= msg);
  if (!rule.type) add("type", "missing property");
  if (!rule.action) add("action", "missing property");
  if (rule.type === "in" || rule.type === "out") {
    if (rule.action && !/^(ACCEPT|DROP|REJECT)$/.test(rule.action)) add("action", `unknown action '${rule.action}'`);
  } else if (rule.type === "group") {
    if (env === "group") add("type", "security groups not allowed");
    if (rule.action && !NAME_PATTERN.test(rule.action)) add("action", "invalid characters in security group name");
    else if (rule.action && !cluster.groups[rule.action]) add("action", `no such security group '${rule.action}'`);
  } else if (rule.type) add("type", `unknown rule type '${rule.type}'`);
  if (rule.iface) {
    if (env === "group") add("type", "parameter -i not allowed for this rule type");
    if (!/^[a-zA-Z][a-zA-Z0-9_.]{1,20}$/.test(rule.iface)) add("iface", `invalid network interface name '${rule.iface}'`);
    else if ((env === "vm" || env === "ct") && !/^net\d+$/.test(rule.iface))
      add("iface", "value does not match the regex pattern 'net\\d+'");
  }
  if (rule.macro) {
    const name = macroName(rule.macro);
    if (name) rule.macro = name;
    else add("macro", `unknown macro '${rule.macro}'`);
  }
  if (rule.proto && protocolNumber(rule.proto) === undefined) add("proto", `unknown protocol '${rule.proto}'`);
  let ipversion: number | undefined = rule.proto === "icmp" ? 4 : rule.proto === "icmpv6" ? 6 : undefined;
  for (const field of ["dport", "sport"] as const) {
    const v = rule[field];
    if (!v) continue;
    try {
      parsePorts(v, field === "dport");
    } catch (e) {
      add(field, (e as Error).message);
    }
    if (!rule.proto && !rule.macro) add("proto", `missing property - '${field}' requires this property`);
  }
  for (const field of ["source", "dest"] as const) {
    const v = rule[field];
    if (!v) continue;
    const ref = reference(v);
    if (ref?.kind === "ipset") {
      const found = (ref.scope !== "guest" && cluster.ipset[ref.name]) || (ref.scope !== "dc" && own?.ipset[ref.name]);
      if (!found) add(field, `no such ipset '${ref.name}'`);
      continue;
    }
    if (ref && ipVersion(v) === undefined) {
      const key = ref.name.toLowerCase();
      const found = (ref.scope !== "guest" && cluster.aliases[key]) || (ref.scope !== "dc" && own?.aliases[key]);
      if (!found) add(field, `no such alias '${v}'`);
      continue;
    }
    if (v.startsWith("+")) {
      add(field, `invalid ipset name '${v}'`);
      continue;
    }
    for (const el of v.split(",")) {
      const ver = ipVersion(el);
      if (!ver) add(field, `invalid IP address '${el}'`);
      else if (ipversion && ipversion !== ver) add(field, "detected mixed ipv4/ipv6 adresses in rule");
      else ipversion = ver;
    }
  }
  if (rule.macro && !Object.keys(errors).length) {
    for (const m of MACROS[rule.macro]!)
      for (const k of ["proto", "dport", "sport"] as const)
        if (m[k] !== undefined && rule[k] !== undefined && rule[k] !== m[k])
          add(k, `parameter '${k}' already define in macro (value = '${m[k]}')`);
  }
  if (ipversion) rule.ipversion = ipversion;
  return errors;
}
