// NVIDIA Container Toolkit in a guest, and Docker's nvidia runtime.
import type * as pulumi from "@pulumi/pulumi";
import type { RemoteScript } from "../engine/script-provider";
import { daemonJsonWithNvidia } from "../engine/docker-daemon";
import { type FeatureTarget, type RenderedFeature, featureResource, scriptOf } from "../engine/feature";

/** How long the toolkit step may take (override: timeouts.nvidia-container-toolkit). */
export const NVIDIA_CONTAINER_TOOLKIT_TIMEOUT_SECONDS = 900;

/**
 * dockerDaemon: the guest's docker feature settings' daemon, so both features write the same daemon.json.
 * unprivileged: the container runs in a user namespace, where the toolkit's hook cannot make device cgroup rules.
 */
export function renderNvidiaContainerToolkit(
  dockerDaemon: Record<string, unknown>,
  o: { unprivileged?: boolean } = {},
): RenderedFeature {
  return {
    script: scriptOf("nvidia-container-toolkit/nvidia-container-toolkit.sh"),
    checkScript: scriptOf("nvidia-container-toolkit/nvidia-container-toolkit-check.sh"),
    params: { DOCKER_DAEMON_JSON_NVIDIA: daemonJsonWithNvidia(dockerDaemon), NVIDIA_NO_CGROUPS: o.unprivileged ? "1" : "0" },
    secretRefs: {},
    timeout: { seconds: NVIDIA_CONTAINER_TOOLKIT_TIMEOUT_SECONDS, key: "nvidia-container-toolkit" },
  };
}

export function nvidiaContainerToolkit(
  name: string,
  target: FeatureTarget,
  dockerDaemon: Record<string, unknown>,
  o: { unprivileged?: boolean },
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  return featureResource(name, target, renderNvidiaContainerToolkit(dockerDaemon, o), {}, opts);
}
