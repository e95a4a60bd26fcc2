// Docker Engine in a guest, with daemon.json as declared.
import type * as pulumi from "@pulumi/pulumi";
import { canonicalJson } from "../../definition/hash";
import type { RemoteScript } from "../engine/script-provider";
import { type FeatureTarget, type RenderedFeature, featureResource, scriptOf } from "../engine/feature";

export interface DockerSettings {
  source: "docker" | "debian";
  daemon: Record<string, unknown>;
}

/** What nvidia-ctk adds to daemon.json for Docker's nvidia runtime. */
export const NVIDIA_RUNTIME = { path: "nvidia-container-runtime", args: [] as string[] };

/** daemon.json as written: keys sorted, so the same settings always give the same bytes. */
export function daemonJson(daemon: Record<string, unknown>): string {
  return JSON.stringify(JSON.parse(canonicalJson(daemon)), null, 2);
}

/** The same settings plus the nvidia runtime (for guests that also have nvidia-container-toolkit). */
export function daemonJsonWithNvidia(daemon: Record<string, unknown>): string {
  const runtimes = (daemon["runtimes"] ?? {}) as Record<string, unknown>;
  return daemonJson({ ...daemon, runtimes: { ...runtimes, nvidia: NVIDIA_RUNTIME } });
}

export function renderDocker(settings: DockerSettings, opts: { nvidiaRuntime: boolean }): RenderedFeature {
  return {
    script: scriptOf("docker/docker.sh"),
    checkScript: scriptOf("docker/docker-check.sh"),
    params: {
      DOCKER_SOURCE: settings.source,
      DOCKER_DAEMON_JSON: daemonJson(settings.daemon ?? {}),
      DOCKER_DAEMON_JSON_NVIDIA: opts.nvidiaRuntime ? daemonJsonWithNvidia(settings.daemon ?? {}) : "",
    },
    secretRefs: {},
  };
}

export function docker(name: string, target: FeatureTarget, settings: DockerSettings, opts: { nvidiaRuntime: boolean }, resourceOpts: pulumi.CustomResourceOptions): RemoteScript {
  return featureResource(name, target, renderDocker(settings, opts), {}, resourceOpts);
}
