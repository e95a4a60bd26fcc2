// Docker Engine in a guest, with daemon.json as declared.
import type * as pulumi from "@pulumi/pulumi";
import type { RemoteScript } from "../engine/script-provider";
import { daemonJson, daemonJsonWithNvidia } from "../engine/docker-daemon";
import { type FeatureTarget, type RenderedFeature, featureResource, scriptOf } from "../engine/feature";

/** How long the docker step may take: packages from a cold mirror or proxy (override: timeouts.docker). */
export const DOCKER_TIMEOUT_SECONDS = 1200;

export interface DockerSettings {
  source: "docker" | "debian";
  daemon: Record<string, unknown>;
}

export function renderDocker(settings: DockerSettings, opts: { nvidiaRuntime: boolean }): RenderedFeature {
  return {
    script: scriptOf("engine/compose-lib.sh", "docker/docker.sh"),
    checkScript: scriptOf("engine/compose-lib.sh", "docker/docker-check.sh"),
    params: {
      DOCKER_SOURCE: settings.source,
      DOCKER_DAEMON_JSON: daemonJson(settings.daemon ?? {}),
      DOCKER_DAEMON_JSON_NVIDIA: opts.nvidiaRuntime ? daemonJsonWithNvidia(settings.daemon ?? {}) : "",
    },
    secretRefs: {},
    timeout: { seconds: DOCKER_TIMEOUT_SECONDS, key: "docker" },
  };
}

export function docker(
  name: string,
  target: FeatureTarget,
  settings: DockerSettings,
  opts: { nvidiaRuntime: boolean },
  resourceOpts: pulumi.CustomResourceOptions,
): RemoteScript {
  return featureResource(name, target, renderDocker(settings, opts), {}, resourceOpts);
}
