// vLLM serving the declared model as vllm.service in a guest.
import type * as pulumi from "@pulumi/pulumi";
import type { RemoteScript } from "../engine/script-provider";
import { type FeatureTarget, type RenderedFeature, featureResource, scriptOf, secretName } from "../engine/feature";
import { IMAGE_REF_FIX, hasControlCharacter, isImageRef } from "../../definition/formats";
import type { SecretRef } from "../../definition/schema";

export interface VllmSettings {
  model: string;
  servedModelName: string;
  port: number;
  host: string;
  tensorParallelSize: number;
  maxModelLen?: number;
  gpuMemoryUtilization?: number;
  quantization?: string;
  dtype?: string;
  trustRemoteCode?: boolean;
  args: Record<string, string | number | boolean>;
  install: "venv" | "container";
  /** For install: container. */
  image?: string;
  hfToken?: SecretRef | string;
  /** The exact release installed (venv) or served (both installs: the check compares /version). */
  version?: string;
  /** The PyTorch wheel index of the venv (pip's --extra-index-url). */
  torchIndex?: string;
  /** TORCH_CUDA_ARCH_LIST for builds and kernels compiled at run time (the plan picks it from the GPUs' model). */
  cudaArchList?: string;
}

export const VLLM_IMAGE = "vllm/vllm-openai:latest";
/** How long vLLM's first start may take: a model download (VLLM_START_TIMEOUT, in the script). */
export const VLLM_START_TIMEOUT_SECONDS = 900;
/** The step's limit on top of the start: installing vLLM into a venv, or pulling its image (override: timeouts.vllm). */
export const VLLM_INSTALL_TIMEOUT_SECONDS = 3600;

/** Refuses what would split a unit file's line: systemd ends lines at LF and CR, and NUL ends the value. */
function oneLine(s: string, what: string): string {
  if (hasControlCharacter(s))
    throw new Error(`${what} cannot contain control characters (line break, carriage return, NUL…): ${JSON.stringify(s)}`);
  return s;
}

/** One word of a systemd ExecStart line: double-quoted, with systemd's $ and % specifiers escaped. */
export function systemdWord(s: string): string {
  oneLine(s, "vllm arguments");
  const escaped = s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\$/g, "$$$$").replace(/%/g, "%%");
  return /^[A-Za-z0-9_@+=:,./-]+$/.test(s) ? escaped : `"${escaped}"`;
}

/** Text in a unit setting that is not a command line (Description=): one line, % specifiers escaped. */
export function systemdText(s: string): string {
  return oneLine(s, "vllm unit text").replace(/%/g, "%%");
}

/** The image as a checked reference: it becomes a word of `docker run` in the unit, and `docker pull`'s argument. */
export function vllmImage(image: string): string {
  if (!isImageRef(image)) throw new Error(`vllm image ${JSON.stringify(image)} is not an image reference: ${IMAGE_REF_FIX}`);
  return image;
}

/** `vllm serve` arguments, in a fixed order so equal settings give an equal unit file. */
export function vllmServeArgs(s: VllmSettings): string[] {
  const out = [
    "serve",
    s.model,
    "--host",
    s.host,
    "--port",
    String(s.port),
    "--served-model-name",
    s.servedModelName,
    "--tensor-parallel-size",
    String(s.tensorParallelSize),
  ];
  if (s.maxModelLen !== undefined) out.push("--max-model-len", String(s.maxModelLen));
  if (s.gpuMemoryUtilization !== undefined) out.push("--gpu-memory-utilization", String(s.gpuMemoryUtilization));
  if (s.quantization !== undefined) out.push("--quantization", s.quantization);
  if (s.dtype !== undefined) out.push("--dtype", s.dtype);
  if (s.trustRemoteCode) out.push("--trust-remote-code");
  for (const key of Object.keys(s.args ?? {}).sort()) {
    const v = s.args[key]!;
    if (!/^[a-z0-9][a-z0-9-]*$/.test(key))
      throw new Error(`vllm args key '${key}' is not an engine argument name (lower-case, dashes)`);
    if (v === false) continue;
    out.push(`--${key}`, ...(v === true ? [] : [String(v)]));
  }
  return out;
}

export interface VllmOptions {
  /** Another OpenAI-compatible server run with the same arguments instead of vLLM (the lab's stand-in). */
  bin?: string;
  image?: string;
  startTimeoutSeconds?: number;
}

export function renderVllm(s: VllmSettings, opts: VllmOptions = {}): RenderedFeature {
  const token = secretName(s.hfToken, "vllm.hfToken");
  const image = vllmImage(s.image ?? opts.image ?? VLLM_IMAGE);
  const start = opts.startTimeoutSeconds ?? VLLM_START_TIMEOUT_SECONDS;
  return {
    script: scriptOf("vllm/vllm.sh"),
    checkScript: scriptOf("vllm/vllm-check.sh"),
    params: {
      VLLM_INSTALL: s.install,
      VLLM_SERVE_ARGS: vllmServeArgs(s).map(systemdWord).join(" "),
      VLLM_SERVED_MODEL_NAME: oneLine(s.servedModelName, "vllm servedModelName"),
      VLLM_DESCRIPTION: systemdText(`vLLM serving ${s.servedModelName} (managed by Phoenix Hypervisor)`),
      VLLM_PORT: String(s.port),
      // A server listening on every address answers on loopback.
      VLLM_CHECK_HOST: s.host === "0.0.0.0" || s.host === "::" ? "127.0.0.1" : s.host,
      VLLM_IMAGE: image,
      VLLM_IMAGE_WORD: systemdWord(image),
      VLLM_START_TIMEOUT: String(start),
      ...(opts.bin !== undefined ? { VLLM_BIN: opts.bin } : {}),
      ...vllmPins(s),
    },
    secretRefs: token ? { HF_TOKEN: token } : {},
    timeout: { seconds: VLLM_INSTALL_TIMEOUT_SECONDS + start, key: "vllm" },
  };
}

/** The pinned release, its torch index and the CUDA architectures, as the scripts' params (only those set). */
function vllmPins(s: VllmSettings): Record<string, string> {
  if (s.cudaArchList !== undefined && !/^[0-9.+A-Z ;]+$/.test(s.cudaArchList))
    throw new Error(`vllm cudaArchList ${JSON.stringify(s.cudaArchList)} is not a list of compute capabilities`);
  return {
    ...(s.version !== undefined ? { VLLM_VERSION: s.version } : {}),
    ...(s.torchIndex !== undefined ? { VLLM_TORCH_INDEX: s.torchIndex } : {}),
    ...(s.cudaArchList !== undefined ? { VLLM_CUDA_ARCH_LIST: s.cudaArchList } : {}),
  };
}

export function vllm(
  name: string,
  target: FeatureTarget,
  settings: VllmSettings,
  secrets: Record<string, pulumi.Input<string>>,
  opts: VllmOptions,
  resourceOpts: pulumi.CustomResourceOptions,
): RemoteScript {
  return featureResource(name, target, renderVllm(settings, opts), secrets, resourceOpts);
}
