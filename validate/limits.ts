// Time limits: a machine's health checks must be able to use the retries they declare within their overall limit.
import { type Problem, warning } from "../definition/problems";
import type { Index } from "../definition/resolve";
import { DEFAULT_HEALTH_CHECKS_LIMIT_SECONDS } from "../definition/schema";

export function checkLimits(ix: Index): Problem[] {
  const out: Problem[] = [];
  for (const m of ix.machines) {
    const checks = m.def.healthChecks;
    if (checks.length === 0) continue;
    // The least time every retry takes: attempts that fail at once, with their intervals between them.
    const needed = Math.ceil(checks.reduce((sum, c) => sum + (c.retries - 1) * c.interval, 0));
    const limit = m.def.timeouts?.healthChecks ?? DEFAULT_HEALTH_CHECKS_LIMIT_SECONDS;
    if (needed > limit)
      out.push(
        warning(
          `${m.path}.healthChecks`,
          `the health checks of '${m.name}' wait at least ${needed} s between their retries, over their overall limit of ` +
            `${limit} s: the last retries would never run`,
          `raise ${m.path}.timeouts.healthChecks to at least ${needed}, or lower retries or interval`,
        ),
      );
  }
  return out;
}
