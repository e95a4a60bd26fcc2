// pve-ha-manager's feasibility checks of HA rules (PVE::HA::Rules check_feasibility and its plugins' checks), which
// its API runs on every create and update and whose findings GET shows as `errors`; pure, in Proxmox's words.
import type { HaRule } from "./ha-rules-config";

/** Rule id → option → messages, in the order the checks found them (every check blames `resources`). */
export type RuleErrors = Record<string, Record<string, string[]>>;

type Conflict = [kind: string, ruleid: string];

const overlaps = (a: Iterable<string>, b: string[]) => [...a].some((x) => b.includes(x));
/** Perl's `cmp`: code-point order. */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byKindThenId = (a: Conflict, b: Conflict) => cmp(a[0], b[0]) || cmp(a[1], b[1]);

/** find_disjoint_rules_resource_sets: rules grouped where their resources overlap (first matching group joined). */
export function disjointSets(rules: HaRule[]): { ruleids: string[]; resources: Set<string> }[] {
  const lowest = (r: HaRule) => [...r.resources].sort()[0] ?? "";
  const sorted = [...rules].sort((a, b) => cmp(a.rule, b.rule)).sort((a, b) => cmp(lowest(a), lowest(b)));
  const sets: { ruleids: string[]; resources: Set<string> }[] = [];
  for (const r of sorted) {
    const entry = sets.find((s) => overlaps(s.resources, r.resources));
    if (entry) {
      entry.ruleids.push(r.rule);
      for (const sid of r.resources) entry.resources.add(sid);
    } else sets.push({ ruleids: [r.rule], resources: new Set(r.resources) });
  }
  return sets;
}

function multiplePriorities(rule: HaRule): boolean {
  return new Set(Object.values(rule.nodes ?? {})).size > 1;
}

/** The enabled rules by kind (get_plugin_check_arguments), the positive rules' disjoint sets, the nodes. */
interface Args {
  nodeAffinity: HaRule[];
  resourceAffinity: HaRule[];
  positive: HaRule[];
  negative: HaRule[];
  positiveSets: { ruleids: string[]; resources: Set<string> }[];
  nodes: string[];
}

/** What the checks found, collected as Proxmox's collect_errors functions push them. */
class Findings {
  readonly errors: RuleErrors = {};

  push(ruleid: string, message: string): void {
    ((this.errors[ruleid] ??= {}).resources ??= []).push(message);
  }

  /** Conflicts sorted by kind then rule id, each with its kind's words. */
  conflicts(conflicts: Conflict[], words: Record<string, string>): void {
    for (const [kind, ruleid] of conflicts.sort(byKindThenId)) this.push(ruleid, words[kind]!);
  }
}

/** NodeAffinity's check_single_resource_reference: a resource in two node-affinity rules. */
function nodeAffinityChecks(a: Args, f: Findings): void {
  const users = new Map<string, string[]>();
  for (const r of a.nodeAffinity) for (const sid of r.resources) users.set(sid, [...(users.get(sid) ?? []), r.rule]);
  const shared = [...users].flatMap(([sid, ids]) => (ids.length < 2 ? [] : ids.map((id) => [id, sid] as const)));
  for (const [id, sid] of shared.sort((x, y) => cmp(x[0], y[0]) || cmp(x[1], y[1])))
    f.push(id, `resource '${sid}' is already used in another node affinity rule`);
}

/** ResourceAffinity's checks: resources count, negative rules against the node count, positive against negative. */
function resourceAffinityChecks(a: Args, f: Findings): void {
  const ids = (rules: HaRule[]) => rules.map((r) => r.rule).sort();
  for (const id of ids(a.resourceAffinity.filter((r) => r.resources.length < 2)))
    f.push(id, "rule is ineffective as there are less than two resources");
  for (const id of ids(a.negative.filter((r) => r.resources.length > a.nodes.length)))
    f.push(id, "rule defines more resources than available nodes");
  const inter: Conflict[] = [];
  for (const set of a.positiveSets)
    for (const neg of a.negative)
      if (neg.resources.filter((sid) => set.resources.has(sid)).length >= 2)
        inter.push(["negative", neg.rule], ...set.ruleids.map((id): Conflict => ["positive", id]));
  f.conflicts(inter, {
    positive: "rule shares two or more resources with a negative resource affinity rule",
    negative: "rule shares two or more resources with a positive resource affinity rule",
  });
}

/** The base plugin's checks between the types: one priority, one node-affinity rule per positive set, spread. */
function interTypeChecks(a: Args, f: Findings): void {
  const priorities: Conflict[] = [];
  for (const ra of a.resourceAffinity) {
    const paired = a.nodeAffinity.filter((na) => overlaps(ra.resources, na.resources));
    if (paired.some(multiplePriorities))
      priorities.push(["resource-affinity", ra.rule], ...paired.map((na): Conflict => ["node-affinity", na.rule]));
  }
  f.conflicts(priorities, {
    "node-affinity": "resources are in a resource affinity rule and cannot be in a node affinity rule with multiple priorities",
    "resource-affinity": "resources are in node affinity rules with multiple priorities",
  });
  const perPositive: Conflict[] = [];
  for (const set of a.positiveSets) {
    const paired = a.nodeAffinity.filter((na) => overlaps(set.resources, na.resources));
    if (paired.length > 1)
      perPositive.push(
        ...set.ruleids.map((id): Conflict => ["positive", id]),
        ...paired.map((na): Conflict => ["node-affinity", na.rule]),
      );
  }
  f.conflicts(perPositive, {
    positive: "resources are in multiple node affinity rules",
    "node-affinity":
      "at least one resource is in a positive resource affinity rule and there are other resources in at least one other node affinity rule already",
  });
  const spread: Conflict[] = [];
  for (const neg of a.negative) {
    const allowed = new Set<string>();
    const located = new Set<string>();
    const paired: string[] = [];
    for (const na of a.nodeAffinity) {
      const common = neg.resources.filter((sid) => na.resources.includes(sid));
      if (!common.length) continue;
      for (const sid of common) located.add(sid);
      for (const node of Object.keys(na.nodes ?? {})) allowed.add(node);
      paired.push(na.rule);
    }
    if (allowed.size < located.size) spread.push(["negative", neg.rule], ...paired.map((id): Conflict => ["node-affinity", id]));
  }
  f.conflicts(spread, {
    negative: "two or more resources are restricted to less nodes than available to the resources",
    "node-affinity":
      "at least one resource is in a negative resource affinity rule and this rule would restrict these to less nodes than available to the resources",
  });
}

/**
 * Every check over the enabled rules (a rule with `disable` is left out of all of them), `nodes` the cluster's
 * nodes (Proxmox takes the HA manager's node list; the lab, which runs none, its cluster's nodes). Node-affinity
 * checks first, then resource-affinity ones, then those between the two types, as the plugins register them.
 */
export function checkFeasibility(all: HaRule[], nodes: string[]): RuleErrors {
  const rules = all.filter((r) => r.disable === undefined);
  const resourceAffinity = rules.filter((r) => r.type === "resource-affinity");
  const positive = resourceAffinity.filter((r) => r.affinity === "positive");
  const args: Args = {
    nodeAffinity: rules.filter((r) => r.type === "node-affinity"),
    resourceAffinity,
    positive,
    negative: resourceAffinity.filter((r) => r.affinity === "negative"),
    positiveSets: disjointSets(positive),
    nodes,
  };
  const findings = new Findings();
  nodeAffinityChecks(args, findings);
  resourceAffinityChecks(args, findings);
  interTypeChecks(args, findings);
  return findings.errors;
}
