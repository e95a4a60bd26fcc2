// The agent's policy for one environment, stacks/<env>.agent.yaml: whether drift is healed, how often the stack is
// refreshed, and the back-off after failures. Kept out of Pulumi.<env>.deploy.yaml, which stays Pulumi's own type.
import { parse } from "yaml";
import { z } from "zod";
import { parseDuration } from "./duration";

const duration = z.union([z.string(), z.number()]).refine((v) => parseDuration(v) !== undefined, {
  message: "a duration such as 90s, 15m or 1h",
});

const PolicyFile = z
  .object({
    heal: z.enum(["auto", "report"]).default("report"),
    refreshEvery: duration.default("30m"),
    backoff: z
      .object({ base: duration.default("1m"), max: duration.default("1h") })
      .strict()
      .default({ base: "1m", max: "1h" }),
  })
  .strict();

export interface Policy {
  heal: "auto" | "report";
  refreshEveryMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_POLICY: Policy = {
  heal: "report",
  refreshEveryMs: 30 * 60_000,
  backoffBaseMs: 60_000,
  backoffMaxMs: 3_600_000,
};

export class PolicyError extends Error {}

/** The policy in `text` (undefined: the file is missing, so the defaults: heal: report, refresh every 30 min). */
export function parsePolicy(text: string | undefined, source: string): Policy {
  if (text === undefined) return DEFAULT_POLICY;
  const r = PolicyFile.safeParse(parse(text) ?? {});
  if (!r.success) {
    const i = r.error.issues[0]!;
    const path = i.path.join(".");
    throw new PolicyError(
      `${source}: ${path || "(file)"}: ${i.code === "unrecognized_keys" ? `unknown field '${i.keys.join("', '")}'` : i.message}; fix: heal: auto|report, refreshEvery: <duration>, backoff: { base, max }`,
    );
  }
  return {
    heal: r.data.heal,
    refreshEveryMs: parseDuration(r.data.refreshEvery)!,
    backoffBaseMs: parseDuration(r.data.backoff.base)!,
    backoffMaxMs: parseDuration(r.data.backoff.max)!,
  };
}

/** How long automatic runs wait after `failures` failures in a row: base, 2×base, 4×base … up to max. */
export function backoffMs(p: Policy, failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(p.backoffMaxMs, p.backoffBaseMs * 2 ** Math.min(failures - 1, 30));
}
