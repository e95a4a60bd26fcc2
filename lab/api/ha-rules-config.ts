// /etc/pve/ha/rules.cfg as pve-ha-manager's SectionConfig writes it ("node-affinity: <rule>" then tab-indented
// "key value" lines, a blank line after each section), read and written whole, its digest the SHA-1 of the text.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { decodeText, encodeText, splitList } from "../pve/pve-config";

/** One rule as pve-ha-manager holds it decoded: resources a set, nodes with their priorities (0 when not given). */
export interface HaRule {
  type: string;
  rule: string;
  resources: string[];
  nodes?: Record<string, number>;
  /** 0 or 1, as written (`strict 0` included); absent when never set. */
  strict?: number;
  affinity?: string;
  comment?: string;
  /** Present (whatever its value) means disabled, as the rules' checks read it. */
  disable?: number;
}

/** Each rule type's options (PVE::HA::Rules::NodeAffinity / ResourceAffinity options()): true = required. */
export const RULE_OPTIONS: Record<string, Record<string, boolean>> = {
  "node-affinity": { resources: true, nodes: true, strict: false, disable: false, comment: false },
  "resource-affinity": { resources: true, affinity: true, disable: false, comment: false },
};

const HA_RESOURCE_ID = /^[a-z]+:\S+$/;
const NODE_PRIORITY = /^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)(?::(\d+))?$/;
const CONFIG_ID = /^[a-z][a-z_\-0-9]*[a-z0-9]$/i;

/** decode_value of `resources`: the list's well-formed HA resource ids, as a sorted set. */
export function decodeResources(text: string): string[] {
  return [...new Set(splitList(text).filter((s) => HA_RESOURCE_ID.test(s)))].sort();
}

/** decode_plugin_value of `nodes` (parse_node_priority): node → priority, entries that do not parse dropped. */
export function decodeNodes(text: string): Record<string, number> {
  const nodes: Record<string, number> = {};
  for (const entry of splitList(text)) {
    const m = NODE_PRIORITY.exec(entry);
    if (m) nodes[m[1]!] = Number(m[3] ?? 0);
  }
  return nodes;
}

/** encode_plugin_value of `nodes`: sorted names, `name:prio` when the priority is not 0. */
export function encodeNodes(nodes: Record<string, number>): string {
  return Object.keys(nodes)
    .sort()
    .map((n) => (nodes[n] ? `${n}:${nodes[n]}` : n))
    .join(",");
}

function booleanValue(v: string | undefined): number | undefined {
  if (v === undefined) return 1; // a bare `disable` line
  if (/^(1|true|yes|on)$/i.test(v)) return 1;
  if (/^(0|false|no|off)$/i.test(v)) return 0;
  return undefined;
}

/** Sets one option from a file line; a value Proxmox would not accept is left out, as its parser warns and skips it. */
function setOption(rule: HaRule, key: string, value: string | undefined): void {
  if (!Object.hasOwn(RULE_OPTIONS[rule.type]!, key)) return;
  if (key === "resources") rule.resources = decodeResources(value ?? "");
  else if (key === "nodes") rule.nodes = decodeNodes(value ?? "");
  else if (key === "affinity" && (value === "positive" || value === "negative")) rule.affinity = value;
  else if (key === "comment" && value !== undefined) rule.comment = decodeText(value);
  else if (key === "strict" || key === "disable") {
    const b = booleanValue(value);
    if (b !== undefined) rule[key] = b;
  }
}

/**
 * The rules in file order (their `order` is their position, from 1). Sections Proxmox skips are skipped: an unknown
 * type, an id that is no configuration id, a required option missing.
 */
export function parseHaRules(text: string): HaRule[] {
  const rules: HaRule[] = [];
  let current: HaRule | undefined;
  let inSection = false;
  const close = () => {
    if (current && Object.entries(RULE_OPTIONS[current.type]!).every(([k, req]) => !req || k in current!)) rules.push(current);
    current = undefined;
    inSection = false;
  };
  for (const line of text.split("\n")) {
    if (/^\s*#/.test(line)) continue;
    if (line === "") {
      close();
      continue;
    }
    const head = inSection ? null : /^(\S+):\s*(\S+)\s*$/.exec(line);
    if (head) {
      inSection = true;
      const type = head[1]!.toLowerCase();
      if (RULE_OPTIONS[type] && CONFIG_ID.test(head[2]!)) current = { type, rule: head[2]! } as HaRule;
      continue;
    }
    const opt = /^\s+(\S+)(?:\s+(.*\S))?\s*$/.exec(line);
    if (opt && current && !(opt[1]! in current)) setOption(current, opt[1]!, opt[2]);
  }
  close();
  return rules;
}

/** write_config: header, comment, disable, the required options sorted, then the optional ones sorted. */
export function printHaRules(rules: HaRule[]): string {
  return rules
    .map((r) => {
      const options = RULE_OPTIONS[r.type]!;
      const keys = Object.keys(options).filter((k) => k !== "comment" && k !== "disable");
      const ordered = [...keys.filter((k) => options[k]).sort(), ...keys.filter((k) => !options[k]).sort()];
      let out = `${r.type}: ${r.rule}\n`;
      // Perl's truth: a comment "0" is not written
      if (r.comment && r.comment !== "0") out += `\tcomment ${encodeText(r.comment)}\n`;
      if (r.disable) out += "\tdisable\n";
      for (const k of ordered) {
        const v = k === "resources" ? r.resources.join(",") : k === "nodes" ? encodeNodes(r.nodes ?? {}) : r[k as "strict"];
        if (v === undefined || v === "") continue;
        out += `\t${k} ${k === "strict" ? (v ? 1 : 0) : v}\n`;
      }
      return `${out}\n`;
    })
    .join("");
}

export class HaRuleStore {
  constructor(private readonly file: string) {}

  read(): { rules: HaRule[]; digest: string } {
    const text = existsSync(this.file) ? readFileSync(this.file, "utf8") : "";
    return { rules: parseHaRules(text), digest: createHash("sha1").update(text).digest("hex") };
  }

  /** A deleted HA resource taken out of every rule; rules left without resources go (the file is written anyway). */
  purgeResource(sid: string): void {
    const rules = this.read().rules.map((r) => ({ ...r, resources: r.resources.filter((x) => x !== sid) }));
    this.write(rules.filter((r) => r.resources.length));
  }

  /** Written whole and atomically, as pmxcfs replaces a file. */
  write(rules: HaRule[]): void {
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(`${this.file}.tmp`, printHaRules(rules));
    renameSync(`${this.file}.tmp`, this.file);
  }
}
