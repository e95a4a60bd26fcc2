// A guest's declared health checks, run after its features; a failing check fails `up` with its output.
import * as pulumi from "@pulumi/pulumi";
import type { RemoteScript } from "../engine/script-provider";
import { type FeatureTarget, type RenderedFeature, featureResource, scriptOf } from "../engine/feature";

export interface HealthCheck {
  name: string;
  command: string;
  retries: number;
  /** Seconds between attempts. */
  interval: number;
}

export function renderHealthChecks(checks: HealthCheck[]): RenderedFeature {
  const params: Record<string, string> = { HC_COUNT: String(checks.length) };
  checks.forEach((c, i) => {
    params[`HC_${i}_NAME`] = c.name;
    params[`HC_${i}_COMMAND`] = c.command;
    params[`HC_${i}_RETRIES`] = String(c.retries);
    params[`HC_${i}_INTERVAL`] = String(c.interval);
  });
  return {
    script: scriptOf("health-check/health-check.sh"),
    checkScript: scriptOf("health-check/health-check-once.sh", "health-check/health-check.sh"),
    params,
    secretRefs: {},
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
  return featureResource(name, target, renderHealthChecks(checks), {}, opts, { HC_AFTER: features });
}
