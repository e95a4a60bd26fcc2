// The lab's /etc/pve/ha/rules.cfg parser and printer (what pve-ha-manager's SectionConfig reads and skips, what it
// writes) and its feasibility checks on rule sets the API tests do not reach (merged positive rules, disabled rules).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkFeasibility } from "../../lab/api/ha-rules-check";
import { type HaRule, parseHaRules, printHaRules } from "../../lab/api/ha-rules-config";

const node = (rule: string, resources: string[], nodes: Record<string, number>, extra: Partial<HaRule> = {}): HaRule => ({
  type: "node-affinity",
  rule,
  resources,
  nodes,
  ...extra,
});
const affinity = (rule: string, kind: string, resources: string[], extra: Partial<HaRule> = {}): HaRule => ({
  type: "resource-affinity",
  rule,
  resources,
  affinity: kind,
  ...extra,
});

describe("rules.cfg", () => {
  it("reads what Proxmox reads and skips what it skips: comments, unknown types, bad ids, missing required options", () => {
    const text = [
      "# written by hand",
      "node-affinity: web",
      "\tcomment caf%C3%A9%3A 1",
      "\tdisable",
      "\tnodes pve2:3, pve1 ,bad_node:x",
      "\tresources vm:300,ct:100,300",
      "\tstrict yes",
      "\tnodes pve9",
      "\taffinity positive",
      "",
      "location: old",
      "\tresources vm:1",
      "",
      "resource-affinity: 1bad",
      "\taffinity negative",
      "\tresources vm:1,vm:2",
      "",
      "resource-affinity: no-affinity",
      "\tresources vm:1,vm:2",
      "",
      "Resource-Affinity: apart",
      "\taffinity negative",
      "\tresources vm:2,vm:1",
    ].join("\n");
    expect(parseHaRules(text)).toEqual([
      node("web", ["ct:100", "vm:300"], { pve2: 3, pve1: 0 }, { comment: "café: 1", disable: 1, strict: 1 }),
      affinity("apart", "negative", ["vm:1", "vm:2"]),
    ]);
  });

  it("writes header, comment, disable, required options sorted, then optional ones; reads back what it wrote", () => {
    const rules = [
      node("web", ["vm:300", "ct:100"], { pve2: 0, pve1: 2 }, { strict: 0, comment: "a\tb: c" }),
      affinity("apart", "negative", ["vm:1", "vm:2"], { disable: 1 }),
    ];
    const text = printHaRules(rules);
    expect(text).toBe(
      "node-affinity: web\n\tcomment a%09b%3A c\n\tnodes pve1:2,pve2\n\tresources vm:300,ct:100\n\tstrict 0\n\n" +
        "resource-affinity: apart\n\tdisable\n\taffinity negative\n\tresources vm:1,vm:2\n\n",
    );
    expect(printHaRules(parseHaRules(text))).toBe(text.replace("vm:300,ct:100", "ct:100,vm:300"));
  });

  it("reads back any rule set it writes", () => {
    const id = fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}[a-z0-9]$/);
    const sids = fc.uniqueArray(fc.stringMatching(/^(vm|ct):[1-9]\d{2,3}$/), { minLength: 1, maxLength: 4 }).map((s) => s.sort());
    const comment = fc.option(
      fc.string({ minLength: 1, maxLength: 12 }).filter((c) => c !== "0" && c.trim() === c),
      { nil: undefined },
    );
    const flag = fc.option(fc.constantFrom(0, 1), { nil: undefined });
    const rule = fc.oneof(
      fc.record({
        type: fc.constant("node-affinity"),
        rule: id,
        resources: sids,
        nodes: fc.dictionary(fc.stringMatching(/^pve[1-9]$/), fc.integer({ min: 0, max: 1000 }), { minKeys: 1 }),
        strict: flag,
        comment,
        disable: fc.option(fc.constant(1), { nil: undefined }),
      }),
      fc.record({
        type: fc.constant("resource-affinity"),
        rule: id,
        resources: sids,
        affinity: fc.constantFrom("positive", "negative"),
        comment,
      }),
    );
    fc.assert(
      fc.property(fc.uniqueArray(rule, { selector: (r) => r.rule, maxLength: 5 }), (rules) => {
        const clean = rules.map(
          (r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as unknown as HaRule,
        );
        expect(parseHaRules(printHaRules(clean))).toEqual(clean);
      }),
    );
  });
});

describe("feasibility checks", () => {
  it("merges overlapping positive rules before weighing them against negative ones and node-affinity rules", () => {
    const rules = [
      affinity("p1", "positive", ["vm:1", "vm:2"]),
      affinity("p2", "positive", ["vm:2", "vm:3"]),
      affinity("n1", "negative", ["vm:1", "vm:3"]),
      node("a", ["vm:1"], { pve1: 0 }),
      node("b", ["vm:3"], { pve2: 0 }),
    ];
    expect(checkFeasibility(rules, ["pve1", "pve2"])).toEqual({
      n1: { resources: ["rule shares two or more resources with a positive resource affinity rule"] },
      p1: {
        resources: [
          "rule shares two or more resources with a negative resource affinity rule",
          "resources are in multiple node affinity rules",
        ],
      },
      p2: {
        resources: [
          "rule shares two or more resources with a negative resource affinity rule",
          "resources are in multiple node affinity rules",
        ],
      },
      a: {
        resources: [
          "at least one resource is in a positive resource affinity rule and there are other resources in at least one other node affinity rule already",
        ],
      },
      b: {
        resources: [
          "at least one resource is in a positive resource affinity rule and there are other resources in at least one other node affinity rule already",
        ],
      },
    });
  });

  it("leaves disabled rules out, and finds negative rules squeezed onto too few nodes", () => {
    const squeezed = [affinity("n1", "negative", ["vm:1", "vm:2"]), node("a", ["vm:1", "vm:2"], { pve1: 0 })];
    expect(checkFeasibility(squeezed, ["pve1", "pve2"])).toEqual({
      n1: { resources: ["two or more resources are restricted to less nodes than available to the resources"] },
      a: {
        resources: [
          "at least one resource is in a negative resource affinity rule and this rule would restrict these to less nodes than available to the resources",
        ],
      },
    });
    expect(checkFeasibility([squeezed[0]!, { ...squeezed[1]!, disable: 1 }], ["pve1", "pve2"])).toEqual({});
    expect(checkFeasibility([{ ...squeezed[0]!, resources: ["vm:1"], disable: 0 }], [])).toEqual({});
  });
});
