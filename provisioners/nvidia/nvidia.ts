// NVIDIA userland (matching the node's kernel driver) and the CUDA toolkit in a guest.
import type * as pulumi from "@pulumi/pulumi";
import type { RemoteScript } from "../engine/script-provider";
import { type FeatureTarget, type RenderedFeature, featureResource, scriptOf } from "../engine/feature";

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
