// NVIDIA userland (matching the node's kernel driver) and the CUDA toolkit in a guest.
import type * as pulumi from "@pulumi/pulumi";
import type { RemoteScript } from "../engine/script-provider";
import { type FeatureTarget, type RenderedFeature, featureResource, scriptOf } from "../engine/feature";

/** How long the nvidia step may take: the runfile and CUDA are gigabytes (override: timeouts.nvidia). */
export const NVIDIA_TIMEOUT_SECONDS = 3600;

export interface NvidiaSettings {
  source: "nvidia" | "debian";
  cudaVersion?: string;
  /** The node's driver version; the plan copies it in. */
  driverVersion?: string;
}

export function nvidiaRunfileUrl(version: string): string {
  return `https://us.download.nvidia.com/XFree86/Linux-x86_64/${version}/NVIDIA-Linux-x86_64-${version}.run`;
}

export function renderNvidia(settings: NvidiaSettings): RenderedFeature {
  const version = settings.driverVersion;
  if (!version) throw new Error("the nvidia feature needs the node's nvidia.driverVersion");
  return {
    script: scriptOf("nvidia/nvidia-lib.sh", "nvidia/nvidia.sh"),
    checkScript: scriptOf("nvidia/nvidia-lib.sh", "nvidia/nvidia-check.sh"),
    params: {
      NVIDIA_DRIVER_VERSION: version,
      NVIDIA_SOURCE: settings.source,
      CUDA_VERSION: settings.cudaVersion ?? "",
      NVIDIA_RUNFILE_URL: nvidiaRunfileUrl(version),
    },
    secretRefs: {},
    timeout: { seconds: NVIDIA_TIMEOUT_SECONDS, key: "nvidia" },
  };
}

export function nvidia(
  name: string,
  target: FeatureTarget,
  settings: NvidiaSettings,
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  return featureResource(name, target, renderNvidia(settings), {}, opts);
}
