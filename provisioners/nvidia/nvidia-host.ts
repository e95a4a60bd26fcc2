// The NVIDIA kernel driver on a node (opt-in: nodes[].nvidia.installOnHost), the version guests' userland must match.
import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionInput, RemoteScript } from "../engine/script-provider";
import { type RenderedFeature, featureResource, scriptOf } from "../engine/feature";
import { nvidiaRunfileUrl } from "./nvidia";

export interface NvidiaHostDriver {
  version: string;
  /** sha256 of the runfile: it runs as root on the node only when the download matches. */
  runfileSha256: string;
  /** Seconds the download, DKMS build and load may take (nodes[].nvidia.timeout). */
  timeout?: number;
}

/** The driver's download and DKMS build (override: nodes[].nvidia.timeout). */
export const NVIDIA_HOST_TIMEOUT_SECONDS = 3600;

export function renderNvidiaHost(driver: NvidiaHostDriver): RenderedFeature {
  if (!/^[0-9a-fA-F]{64}$/.test(driver.runfileSha256 ?? ""))
    throw new Error(`the NVIDIA driver ${driver.version} needs the sha256 of its runfile: set nodes[].nvidia.runfileSha256`);
  return {
    script: scriptOf("nvidia/nvidia-lib.sh", "nvidia/nvidia-host.sh"),
    checkScript: scriptOf("nvidia/nvidia-lib.sh", "nvidia/nvidia-host-check.sh"),
    params: {
      NVIDIA_DRIVER_VERSION: driver.version,
      NVIDIA_RUNFILE_URL: nvidiaRunfileUrl(driver.version),
      NVIDIA_RUNFILE_SHA256: driver.runfileSha256.toLowerCase(),
    },
    secretRefs: {},
    timeout: { seconds: driver.timeout ?? NVIDIA_HOST_TIMEOUT_SECONDS, setting: "nodes[].nvidia.timeout" },
  };
}

export function nvidiaHostDriver(
  name: string,
  node: ConnectionInput,
  driver: NvidiaHostDriver,
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  return featureResource(name, { connection: node }, renderNvidiaHost(driver), {}, opts);
}
