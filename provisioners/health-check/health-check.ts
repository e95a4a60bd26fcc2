// A guest's declared health checks, run after its features; a failing check fails `up` with its output.
import * as pulumi from "@pulumi/pulumi";
import type { RemoteScript } from "../engine/script-provider";
import { type FeatureTarget, type RenderedFeature, featureResource, scriptOf } from "../engine/feature";
import { DEFAULT_HEALTH_CHECKS_LIMIT_SECONDS } from "../../definition/schema";

export interface HealthCheck {
  name: string;
  command: string;
  retries: number;
  /** Seconds between attempts. */
  interval: number;
  /** Seconds one attempt may take. */
  timeout?: number;
}

/** How long one attempt of a check may take unless the check says otherwise. */
export const HEALTH_ATTEMPT_TIMEOUT_SECONDS = 60;
/** How long all of a machine's checks may take together, retries included (override: timeouts.healthChecks). */
export const HEALTH_LIMIT_SECONDS = DEFAULT_HEALTH_CHECKS_LIMIT_SECONDS;
/** The engine stops the step this long after the script's own limit, should the script not stop itself. */
const HEALTH_GRACE_SECONDS = 60;

/** limitSeconds: the overall limit of all the checks together; the script stops at it with the check it was running. */
export function renderHealthChecks(checks: HealthCheck[], limitSeconds = HEALTH_LIMIT_SECONDS): RenderedFeature {
  const params: Record<string, string> = { HC_COUNT: String(checks.length), HC_LIMIT: String(limitSeconds) };
  checks.forEach((c, i) => {
    params[`HC_${i}_NAME`] = c.name;
    params[`HC_${i}_COMMAND`] = c.command;
    params[`HC_${i}_RETRIES`] = String(c.retries);
    params[`HC_${i}_INTERVAL`] = String(c.interval);
    params[`HC_${i}_TIMEOUT`] = String(c.timeout ?? HEALTH_ATTEMPT_TIMEOUT_SECONDS);
  });
  return {
    script: scriptOf("health-check/health-check.sh"),
    checkScript: scriptOf("health-check/health-check-once.sh", "health-check/health-check.sh"),
    params,
    secretRefs: {},
    timeout: { seconds: limitSeconds, key: "healthChecks", grace: HEALTH_GRACE_SECONDS },
  };
}

/** provisioned: the hashes of the guest's features, so the checks run again whenever a feature changed. */
export function healthChecks(
  name: string,
  target: FeatureTarget,
  checks: HealthCheck[],
  provisioned: pulumi.Input<string>[],
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  const features = pulumi.all(provisioned).apply((hashes) => hashes.join(","));
  const limit = target.timeouts?.values.healthChecks ?? HEALTH_LIMIT_SECONDS;
  return featureResource(name, target, renderHealthChecks(checks, limit), {}, opts, { HC_AFTER: features });
}
