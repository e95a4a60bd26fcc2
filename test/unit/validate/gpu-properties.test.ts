// Property test of the GPU memory budgets: in any definition validation accepts, the services on each GPU reserve at
// most 1 of its memory (0.95 with the margin), computed here from the definition itself; and a definition whose
// budgets fit is never refused for its budgets.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GPU_MEMORY_LIMIT } from "../../../definition/gpu-budget";
import { type Raw, base, gpuGuest, problemsOf } from "./support";

interface GuestSpec {
  gpus: number[];
  vllm?: { gmu?: number };
  ollama?: { gib?: number; gpus?: number[] };
  gib?: number;
}

const gpuCount = 3;
// Mostly small shares, so that many definitions fit and both sides of the property are exercised.
const fraction = fc
  .oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 40 }) }, { weight: 1, arbitrary: fc.integer({ min: 41, max: 100 }) })
  .map((x) => x / 100);
const gibArb = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 6 }) },
  { weight: 1, arbitrary: fc.integer({ min: 7, max: 24 }) },
);
const guestArb: fc.Arbitrary<GuestSpec> = fc
  .record({
    gpus: fc.uniqueArray(fc.nat({ max: gpuCount - 1 }), { minLength: 1, maxLength: 2 }),
    vllm: fc.option(fc.record({ gmu: fc.option(fraction, { nil: undefined, freq: 6 }) }, { requiredKeys: [] }), {
      nil: undefined,
    }),
    ollama: fc.option(fc.record({ gib: fc.option(gibArb, { nil: undefined, freq: 6 }) }, { requiredKeys: [] }), {
      nil: undefined,
      freq: 2,
    }),
    gib: fc.option(gibArb, { nil: undefined, freq: 2 }),
  })
  .map((g) => ({ ...g, gpus: [...g.gpus].sort() }));
const memoryArb = fc.array(fc.option(fc.constantFrom(8, 12, 16, 24, 48, 80), { nil: undefined, freq: 6 }), {
  minLength: gpuCount,
  maxLength: gpuCount,
});

function definitionOf(memory: (number | undefined)[], guests: GuestSpec[]): Raw {
  const d = base();
  d.nodes[0].gpus = memory.map((m, i) => ({ index: i, pci: `0000:0${i + 1}:00.0`, ...(m ? { memory: m } : {}) }));
  d.templates[2].gpus = [...Array(gpuCount).keys()];
  guests.forEach((g, k) => {
    const features: Raw = {};
    if (g.vllm)
      features.vllm = {
        model: "m",
        version: "0.10.2",
        tensorParallelSize: 1,
        ...(g.vllm.gmu ? { gpuMemoryUtilization: g.vllm.gmu } : {}),
      };
    if (g.ollama) features.ollama = { port: 11434, ...(g.ollama.gib ? { gpuMemory: g.ollama.gib } : {}) };
    d.guests.push(gpuGuest({ vmid: 300 + k, name: `g${k}`, gpus: g.gpus, features, ...(g.gib ? { gpuMemory: g.gib } : {}) }));
  });
  return d;
}

/** Each GPU's reserved fraction, from the specs alone: vLLM's default 0.9 when unset; GiB over the GPU's memory. */
function reserved(memory: (number | undefined)[], guests: GuestSpec[]) {
  return memory.map((mem, i) => {
    let sum = 0;
    let unknown = false;
    let unbounded = 0;
    let services = 0;
    for (const g of guests) {
      if (!g.gpus.includes(i)) continue;
      if (g.vllm) {
        sum += g.vllm.gmu ?? 0.9;
        services++;
      }
      if (g.ollama) {
        services++;
        if (g.ollama.gib === undefined) unbounded++;
        else if (mem === undefined) unknown = true;
        else sum += g.ollama.gib / mem;
      }
      if (g.gib !== undefined) {
        services++;
        if (mem === undefined) unknown = true;
        else sum += g.gib / mem;
      }
    }
    return { sum, unknown, shared: unbounded > 0 && services > 1 };
  });
}

const budgetProblem = (path: string) => /^nodes\[0\]\.gpus\[\d\]$|\.gpuMemory$/.test(path);

describe("GPU memory budgets", () => {
  it("an accepted definition never reserves more than 1 (0.95 with the margin) of any GPU", () => {
    let acceptedRuns = 0;
    let refusedRuns = 0;
    fc.assert(
      fc.property(memoryArb, fc.array(guestArb, { minLength: 1, maxLength: 4 }), (memory, guests) => {
        const problems = problemsOf(definitionOf(memory, guests));
        const accepted = !problems.some((p) => p.severity === "error");
        const r = reserved(memory, guests);
        if (accepted) acceptedRuns++;
        else refusedRuns++;
        if (accepted)
          for (const g of r) {
            expect(g.sum).toBeLessThanOrEqual(1);
            expect(g.sum).toBeLessThanOrEqual(GPU_MEMORY_LIMIT + 1e-6);
            expect(g.unknown || g.shared).toBe(false);
          }
        // And the converse: budgets that fit are never what refuses a definition.
        const fits = r.every((g) => g.sum <= GPU_MEMORY_LIMIT - 1e-6 && !g.unknown && !g.shared);
        if (fits) expect(problems.filter((p) => p.severity === "error" && budgetProblem(p.path))).toEqual([]);
      }),
      { numRuns: 200 },
    );
    // Both sides were exercised, not only refusals.
    expect(acceptedRuns).toBeGreaterThan(20);
    expect(refusedRuns).toBeGreaterThan(20);
  });
});
