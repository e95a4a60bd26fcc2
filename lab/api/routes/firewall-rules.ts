// …/firewall/rules and /cluster/firewall/groups/{group}: list, create (always first, disabled unless `enable`), read, change, move (`moveto`) and delete rules by position, as pve-firewall's Rules.pm does.
import { type FwFile, type FwRule, fwDigest } from "../../pve/firewall-config";
import { verifyRule, type RuleEnv } from "../../pve/firewall-rules";
import type { ParamSchema } from "../../pve/schema";
import { type ApiContext } from "../context";
import { fail, paramError } from "../errors";
import { DIGEST, type FwLevel, assertDigest, changeFw, readFw } from "../firewall-level";
import type { Route } from "../router";

const LOG = {
  type: "string",
  enum: ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "nolog"],
  optional: true,
} as const;

/** add_rule_properties: what a rule is made of. */
const RULE_PROPERTIES: ParamSchema = {
  action: { type: "string", pattern: "[A-Za-z][A-Za-z0-9\\-\\_]+", maxLength: 20, minLength: 2, optional: true },
  type: { type: "string", enum: ["in", "out", "forward", "group"], optional: true },
  comment: { type: "string", optional: true },
  dest: { type: "string", maxLength: 512, optional: true },
  digest: DIGEST,
  dport: { type: "string", optional: true },
  enable: { type: "integer", minimum: 0, optional: true },
  "icmp-type": { type: "string", optional: true },
  iface: { type: "string", minLength: 2, maxLength: 20, optional: true },
  log: LOG,
  macro: { type: "string", maxLength: 128, optional: true },
  pos: { type: "integer", minimum: 0, optional: true },
  proto: { type: "string", optional: true },
  source: { type: "string", maxLength: 512, optional: true },
  sport: { type: "string", optional: true },
};
const RULE_FIELDS = [
  "type",
  "action",
  "enable",
  "macro",
  "iface",
  "source",
  "dest",
  "proto",
  "dport",
  "sport",
  "log",
  "icmp-type",
  "comment",
] as const;

/** copy_rule_data: given fields set, '' or '-' removes one. */
function copyRuleData(rule: FwRule, p: Record<string, string>): void {
  const r = rule as unknown as Record<string, string | number | undefined>;
  for (const k of RULE_FIELDS) {
    const v = p[k];
    if (v === undefined) continue;
    if (v === "" || v === "-") delete r[k];
    else r[k] = k === "enable" ? Number(v) : v;
  }
}

function checked(rule: FwRule, env: RuleEnv, cluster: FwFile, own: FwFile | undefined): FwRule {
  const r = { ...rule } as FwRule & { ipversion?: number };
  const errors = verifyRule(r, env, cluster, own);
  if (Object.keys(errors).length) throw paramError(errors);
  delete r.ipversion;
  return r;
}

/** A rule as GET answers it: its fields, ipversion when its addresses say, and pos. */
function ruleJson(rule: FwRule, env: RuleEnv, cluster: FwFile, own: FwFile | undefined): Record<string, unknown> {
  const r = { ...rule } as FwRule & { ipversion?: number };
  verifyRule(r, env, cluster, own);
  return r as unknown as Record<string, unknown>;
}

export interface RuleList {
  /** The list path, e.g. /cluster/firewall/rules. */
  path: string;
  env: RuleEnv;
  pathSchema: ParamSchema;
  file(params: Record<string, string>): Promise<string>;
  /** The rule list in the file (created when `create`); throws when there is none. */
  rules(fw: FwFile, params: Record<string, string>): FwRule[];
}

export function levelRules(level: FwLevel): RuleList {
  return { path: `${level.base}/rules`, env: level.env, pathSchema: level.pathSchema, file: level.file, rules: (fw) => fw.rules };
}

const own = (path: string, fw: FwFile) => (path.startsWith("firewall/cluster") ? undefined : fw);
const atPos = (rules: FwRule[], pos: number) => {
  if (pos >= rules.length) throw fail(`no rule at position ${pos}`);
  return rules[pos]!;
};

export function ruleRoutes(ctx: ApiContext, list: RuleList): Route[] {
  return [...ruleReadRoutes(ctx, list), ...ruleWriteRoutes(ctx, list)];
}

/** List, read one, delete one. */
function ruleReadRoutes(ctx: ApiContext, list: RuleList): Route[] {
  return [
    {
      method: "GET",
      path: list.path,
      schema: { ...list.pathSchema },
      handler: async ({ params }) => {
        const path = await list.file(params);
        const fw = await readFw(ctx, path);
        const cluster = path.startsWith("firewall/cluster") ? fw : await readFw(ctx, "firewall/cluster.fw");
        const rules = list.rules(fw, params);
        const digest = fwDigest(rules);
        return rules.map((r, pos) => ({ ...ruleJson(r, list.env, cluster, own(path, fw)), pos, digest }));
      },
    },
    {
      method: "GET",
      path: `${list.path}/{pos}`,
      schema: { ...list.pathSchema, pos: { type: "integer", minimum: 0 } },
      handler: async ({ params }) => {
        const path = await list.file(params);
        const fw = await readFw(ctx, path);
        const cluster = path.startsWith("firewall/cluster") ? fw : await readFw(ctx, "firewall/cluster.fw");
        const rules = list.rules(fw, params);
        const rule = atPos(rules, Number(params.pos));
        // the position comes back as given in the path: a string, as Proxmox's does
        return { ...ruleJson(rule, list.env, cluster, own(path, fw)), pos: params.pos, digest: fwDigest(rules) };
      },
    },
    {
      method: "DELETE",
      path: `${list.path}/{pos}`,
      schema: { ...list.pathSchema, pos: { type: "integer", minimum: 0 }, digest: DIGEST },
      handler: async ({ params }) => {
        const path = await list.file(params);
        await changeFw(ctx, path, (fw) => {
          const rules = list.rules(fw, params);
          assertDigest(rules, params.digest);
          atPos(rules, Number(params.pos));
          rules.splice(Number(params.pos), 1);
        });
        return null;
      },
    },
  ];
}

/** Create, change or move. */
function ruleWriteRoutes(ctx: ApiContext, list: RuleList): Route[] {
  const { pos: _pos, ...withoutPos } = RULE_PROPERTIES;
  void _pos;
  return [
    {
      method: "POST",
      path: list.path,
      schema: {
        ...list.pathSchema,
        ...RULE_PROPERTIES,
        action: { ...RULE_PROPERTIES.action!, optional: false },
        type: { ...RULE_PROPERTIES.type!, optional: false },
      },
      handler: async ({ params }) => {
        const path = await list.file(params);
        await changeFw(ctx, path, (fw, cluster) => {
          const rules = list.rules(fw, params);
          const rule = {} as FwRule;
          copyRuleData(rule, params);
          if (params.enable === undefined) rule.enable = 0;
          const r = checked(rule, list.env, cluster, own(path, fw));
          // Proxmox puts a new rule first whatever `pos` says (bpg's provider creates a list last to first)
          rules.unshift(r);
        });
        return null;
      },
    },
    {
      method: "PUT",
      path: `${list.path}/{pos}`,
      schema: {
        ...list.pathSchema,
        ...withoutPos,
        pos: { type: "integer", minimum: 0 },
        moveto: { type: "integer", minimum: 0, optional: true },
        delete: { type: "string", format: "pve-configid-list", optional: true },
      },
      handler: async ({ params }) => {
        const path = await list.file(params);
        await changeFw(ctx, path, (fw, cluster) => {
          const rules = list.rules(fw, params);
          assertDigest(rules, params.digest);
          const pos = Number(params.pos);
          const rule = atPos(rules, pos);
          const moveto = params.moveto === undefined ? undefined : Number(params.moveto);
          if (moveto !== undefined && moveto !== pos) {
            // Proxmox's loop: the rule goes before the one that was at `moveto`, or last
            const moved: FwRule[] = [];
            rules.forEach((r, i) => {
              if (i === pos) return;
              if (i === moveto) moved.push(rule);
              moved.push(r);
            });
            if (moveto >= rules.length) moved.push(rule);
            rules.splice(0, rules.length, ...moved);
            return;
          }
          const next = { ...rule };
          copyRuleData(next, params);
          for (const k of (params.delete ?? "").split(/[,; ]+/).filter(Boolean))
            delete (next as unknown as Record<string, unknown>)[k];
          rules[pos] = checked(next, list.env, cluster, own(path, fw));
        });
        return null;
      },
    },
  ];
}
