// The NVIDIA kernel driver on a node (opt-in: nodes[].nvidia.installOnHost), the version guests' userland must match.
import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionInput, RemoteScript } from "../engine/script-provider";
import { type RenderedFeature, featureResource, scriptOf } from "../engine/feature";
import { nvidiaRunfileUrl } from "./nvidia";

export function renderNvidiaHost(driverVersion: string): RenderedFeature {
  return {
    script: scriptOf("nvidia/nvidia-lib.sh", "nvidia/nvidia-host.sh"),
    checkScript: scriptOf("nvidia/nvidia-lib.sh", "nvidia/nvidia-host-check.sh"),
    params: { NVIDIA_DRIVER_VERSION: driverVersion, NVIDIA_RUNFILE_URL: nvidiaRunfileUrl(driverVersion) },
    secretRefs: {},
  };
}

export function nvidiaHostDriver(
  name: string,
  node: ConnectionInput,
  driverVersion: string,
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  return featureResource(name, { connection: node }, renderNvidiaHost(driverVersion), {}, opts);
}
