// /cluster/ha/rules: HA rules kept in /etc/pve/ha/rules.cfg with pve-ha-manager's checks and words (PVE 9's API).
// The lab runs no HA manager: rules are stored, listed and checked, never enforced (lab/README.md).
import { type ApiContext, clusterNodes } from "../context";
import { fail, modifiedConfig } from "../errors";
import type { HaResourceStore } from "../ha-config";
import type { HaStack } from "../ha-stack";
import { type RuleErrors, checkFeasibility } from "../ha-rules-check";
import { type HaRule, type HaRuleStore, RULE_OPTIONS, decodeNodes, decodeResources, encodeNodes } from "../ha-rules-config";
import type { Route } from "../router";
import type { ParamSchema } from "../../pve/schema";
import { splitList } from "../../pve/pve-config";

const RULE_ID = { type: "string", format: "pve-configid" } as const;
const TYPE = { type: "string", enum: ["node-affinity", "resource-affinity"] } as const;
/** The rule properties (every type's; which apply to a type is checked after the schema, as check_config does). */
const PROPERTIES: ParamSchema = {
  resources: { type: "string", format: "pve-ha-resource-id-list", optional: true },
  nodes: { type: "string", format: "pve-ha-node-list", optional: true },
  strict: { type: "boolean", optional: true },
  affinity: { type: "string", enum: ["positive", "negative"], optional: true },
  comment: { type: "string", maxLength: 4096, optional: true },
  disable: { type: "boolean", optional: true },
};

type Options = Partial<Pick<HaRule, "resources" | "nodes" | "strict" | "affinity" | "comment" | "disable">>;

/**
 * The plugin's check_config: every given property must be one of the rule type's options ("unexpected property"),
 * and on create every required one given; values decoded (resources a sorted set, nodes with priorities).
 */
function checkConfig(type: string, params: Record<string, string>, create: boolean): Options {
  const options = RULE_OPTIONS[type]!;
  const opts: Options = {};
  for (const [k, v] of Object.entries(params)) {
    if (k === "type" && v === type) continue;
    if (!Object.hasOwn(options, k)) throw fail(`unexpected property '${k}'`);
    if (k === "resources") opts.resources = decodeResources(v);
    else if (k === "nodes") opts.nodes = decodeNodes(v);
    else if (k === "strict" || k === "disable") opts[k] = Number(v);
    else opts[k as "affinity" | "comment"] = v;
  }
  if (create)
    for (const [k, required] of Object.entries(options))
      if (required && params[k] === undefined) throw fail(`missing value for required option '${k}'`);
  return opts;
}

/** Rule properties of a request: what is left once the route's own parameters are taken out; a false `disable` dropped. */
function ruleParams(params: Record<string, string>, own: string[]): Record<string, string> {
  const out = Object.fromEntries(Object.entries(params).filter(([k]) => !own.includes(k)));
  if (out.disable === "0") delete out.disable;
  return out;
}

/** cfs_lock_domain + lock_ha_domain: a failure inside is reported behind the call's own words. */
function locked<T>(errmsg: string, work: () => T): T {
  try {
    return work();
  } catch (e) {
    throw fail(`${errmsg}: ${(e as Error).message}`);
  }
}

/** What the handlers work on: the answering node, rules.cfg and resources.cfg. */
interface Stores {
  ctx: ApiContext;
  rules: HaRuleStore;
  resources: HaResourceStore;
}

/** Proxmox checks feasibility against the HA manager's node list; the lab, which runs no manager, its cluster's nodes. */
const nodeNames = (ctx: ApiContext) => clusterNodes(ctx).map((n) => n.node);

/** The rule's resources must be configured HA resources (in resources.cfg, whatever their state). */
function assertResources(s: Stores, sids: string[]): void {
  if (!sids.length) throw fail("no resources were specified");
  const configured = new Set(s.resources.read().resources.map((r) => `${r.type}:${r.name}`));
  const unmanaged = sids.filter((sid) => !configured.has(sid));
  if (unmanaged.length) throw fail(`cannot use unmanaged resource(s) ${unmanaged.join(", ")}.`);
}

/** The rule's nodes must be cluster members (the answering node always counts). */
function assertNodes(s: Stores, nodes: Record<string, number>): void {
  const names = Object.keys(nodes).sort();
  if (!names.length) throw fail("no nodes were specified");
  const missing = names.filter((n) => n !== s.ctx.node && !nodeNames(s.ctx).includes(n));
  if (missing.length) throw fail(`cannot use non-existent node(s) ${missing.join(", ")}.`);
}

/** Only the changed rule's own findings refuse the change (other rules' are shown by GET). */
function assertFeasible(s: Stores, rules: HaRule[], id: string): void {
  const found = checkFeasibility(rules, nodeNames(s.ctx))[id];
  if (!found) return;
  const lines = Object.entries(found).map(([opt, msgs]) => `${opt}: ${msgs.join(", ")}`);
  throw fail(`400 Rule '${id}' is invalid.\n${lines.join("\n")}`);
}

/** A rule as GET returns it: lists encoded, booleans as numbers, the file's digest, its order, its findings. */
const ruleJson = (r: HaRule, order: number, digest: string, errors?: RuleErrors[string]) => ({
  rule: r.rule,
  type: r.type,
  resources: r.resources.join(","),
  ...(r.nodes ? { nodes: encodeNodes(r.nodes) } : {}),
  ...(r.strict !== undefined ? { strict: r.strict } : {}),
  ...(r.affinity !== undefined ? { affinity: r.affinity } : {}),
  ...(r.comment !== undefined ? { comment: r.comment } : {}),
  ...(r.disable !== undefined ? { disable: r.disable } : {}),
  digest,
  order,
  ...(errors ? { errors } : {}),
});

function list(s: Stores, params: Record<string, string>) {
  const { rules, digest } = s.rules.read();
  const errors = checkFeasibility(rules, nodeNames(s.ctx));
  return rules
    .map((rule, i) => ruleJson(rule, i + 1, digest, errors[rule.rule]))
    .filter(
      (x, i) => (!params.type || x.type === params.type) && (!params.resource || rules[i]!.resources.includes(params.resource)),
    );
}

function create(s: Stores, params: Record<string, string>): null {
  const { rule: id, type } = params as { rule: string; type: string };
  const opts = checkConfig(type, ruleParams(params, ["rule", "type"]), true);
  locked("create ha rule failed", () => {
    const { rules } = s.rules.read();
    if (rules.some((r) => r.rule === id)) throw fail(`HA rule '${id}' already defined`);
    assertResources(s, opts.resources!);
    if (opts.nodes) assertNodes(s, opts.nodes);
    // get_next_ordinal gives the lowest ordinal + 1, so a new rule sorts second (on Proxmox, with three rules or
    // more, second or third as Perl's hash order falls); the lab puts it second
    const next = [...rules];
    next.splice(Math.min(1, rules.length), 0, { type, rule: id, resources: [], ...opts });
    assertFeasible(s, next, id);
    s.rules.write(next);
  });
  return null;
}

function update(s: Stores, params: Record<string, string>): null {
  const id = params.rule!;
  const toDelete = splitList(params.delete);
  locked("update HA rules failed", () => {
    const { rules, digest } = s.rules.read();
    if (params.digest && params.digest !== digest) throw modifiedConfig();
    const rule = rules.find((r) => r.rule === id);
    if (!rule) throw fail(`HA rule '${id}' does not exist`);
    const opts = checkConfig(rule.type, ruleParams(params, ["rule", "digest", "delete"]), false);
    if (opts.resources) assertResources(s, opts.resources);
    if (opts.nodes) assertNodes(s, opts.nodes);
    const options = RULE_OPTIONS[rule.type]!;
    for (const k of toDelete) {
      if (!Object.hasOwn(options, k)) throw fail(`no such option '${k}'`);
      if (options[k]) throw fail(`unable to delete required option '${k}'`);
      if (opts[k as keyof Options] !== undefined) throw fail(`cannot set and delete property '${k}' at the same time!`);
      delete rule[k as keyof Options];
    }
    Object.assign(rule, opts);
    assertFeasible(s, rules, id);
    s.rules.write(rules);
  });
  return null;
}

/** The HA rule routes over the cluster's HA configuration (`ha`: the stores the rest of the API consults too). */
export function haRulesRoutes(ctx: ApiContext, ha: HaStack): Route[] {
  const s: Stores = { ctx, rules: ha.rules, resources: ha.resources };
  return [
    {
      method: "GET",
      path: "/cluster/ha/rules",
      schema: { type: { ...TYPE, optional: true }, resource: { type: "string", optional: true } },
      handler: (r) => list(s, r.params),
    },
    {
      method: "POST",
      path: "/cluster/ha/rules",
      schema: { rule: RULE_ID, type: TYPE, ...PROPERTIES, resources: { ...PROPERTIES.resources!, optional: false } },
      handler: (r) => create(s, r.params),
    },
    {
      method: "GET",
      path: "/cluster/ha/rules/{rule}",
      schema: { rule: RULE_ID },
      handler: (r) => {
        const { rules, digest } = s.rules.read();
        const i = rules.findIndex((x) => x.rule === r.params.rule);
        if (i < 0) throw fail(`no such ha rule '${r.params.rule}'`);
        return ruleJson(rules[i]!, i + 1, digest, checkFeasibility(rules, nodeNames(ctx))[r.params.rule!]);
      },
    },
    {
      method: "PUT",
      path: "/cluster/ha/rules/{rule}",
      schema: {
        rule: RULE_ID,
        type: TYPE,
        ...PROPERTIES,
        delete: { type: "string", format: "pve-configid-list", maxLength: 4096, optional: true },
        digest: { type: "string", maxLength: 64, optional: true },
      },
      handler: (r) => update(s, r.params),
    },
    {
      method: "DELETE",
      path: "/cluster/ha/rules/{rule}",
      schema: { rule: RULE_ID },
      // an unknown rule is no error: Proxmox deletes nothing and writes the file again
      handler: (r) =>
        locked("delete ha rule failed", () => {
          s.rules.write(s.rules.read().rules.filter((x) => x.rule !== r.params.rule));
          return null;
        }),
    },
  ];
}
