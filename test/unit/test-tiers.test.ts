// The test tiers CI runs (scripts/test-tiers.ts, test/tiers.json): lanes hold every e2e file exactly once and are
// balanced longest-first, and the tiers file names only files that exist, each left out of CI with a reason.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Tiers, dealLanes } from "../../scripts/test-tiers";

const ROOT = join(__dirname, "..", "..");

describe("dealLanes", () => {
  const filesArb = fc.uniqueArray(fc.stringMatching(/^[a-z]{1,8}$/), { minLength: 0, maxLength: 14 });
  const weightsArb = (files: string[]) =>
    fc.tuple(...files.map(() => fc.option(fc.integer({ min: 1, max: 2000 }), { nil: undefined })));

  it("puts every file in exactly one lane, never more lanes than asked or than files", () => {
    fc.assert(
      fc.property(
        filesArb.chain((f) => fc.tuple(fc.constant(f), weightsArb(f), fc.integer({ min: 1, max: 4 }))),
        ([files, weights, n]) => {
          const seconds = Object.fromEntries(files.flatMap((f, i) => (weights[i] ? [[f, weights[i]]] : [])));
          const lanes = dealLanes(files, seconds, n);
          expect(lanes.flat().sort()).toEqual([...files].sort());
          expect(lanes.length).toBeLessThanOrEqual(Math.min(n, files.length));
          expect(lanes.every((l) => l.length > 0)).toBe(true);
        },
      ),
    );
  });

  it("keeps the longest lane within one file of the average (longest-first dealing)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 14 }),
        fc.integer({ min: 1, max: 4 }),
        (weights, n) => {
          const files = weights.map((_, i) => `f${i}`);
          const seconds = Object.fromEntries(files.map((f, i) => [f, weights[i]]));
          const totals = dealLanes(files, seconds, n).map((l) => l.reduce((s, f) => s + seconds[f], 0));
          const average = weights.reduce((a, b) => a + b, 0) / n;
          expect(Math.max(...totals)).toBeLessThanOrEqual(average + Math.max(...weights));
        },
      ),
    );
  });

  it("counts a file the tiers file does not list as the longest, so it starts first", () => {
    expect(dealLanes(["a", "b", "new"], { a: 100, b: 50 }, 2)).toEqual([["new"], ["a", "b"]]);
  });
});

describe("test/tiers.json", () => {
  const tiers = JSON.parse(readFileSync(join(ROOT, "test", "tiers.json"), "utf8")) as Tiers;
  const e2e = readdirSync(join(ROOT, "test", "e2e"))
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => `test/e2e/${f}`);

  it("times every e2e file and names only files that exist", () => {
    expect(Object.keys(tiers.seconds).sort()).toEqual(e2e.sort());
    for (const f of Object.keys(tiers.fullOnly)) expect(existsSync(join(ROOT, f)), f).toBe(true);
  });

  it("gives each file it leaves out of CI a reason, and leaves no tier without e2e files", () => {
    for (const why of Object.values(tiers.fullOnly)) expect(why.length).toBeGreaterThan(20);
    expect(e2e.filter((f) => !(f in tiers.fullOnly)).length).toBeGreaterThan(0);
  });
});
