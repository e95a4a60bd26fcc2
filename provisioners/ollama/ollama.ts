// Ollama in a guest: its official release (or a mirror of it) for the guest's architecture, ollama.service with the
// declared address, GPUs and memory budget, and the declared models pulled (undeclared ones removed only with prune).
import type * as pulumi from "@pulumi/pulumi";
import type { RemoteScript } from "../engine/script-provider";
import { type FeatureTarget, type RenderedFeature, featureResource, scriptOf } from "../engine/feature";
import { OLLAMA_RELEASES, OLLAMA_VERSION, unsafeEnvValue } from "../../definition/serving";

export interface OllamaSettings {
  version?: string;
  source?: { url: string; sha256: string } | { baseUrl: string };
  host: string;
  port: number;
  /** Full names (a tag always), as the plan normalises them. */
  models: string[];
  prune: boolean;
  /** CUDA ordinals inside the guest (the plan maps node GPU indexes to them); [] for none (CPU); unset: no GPU at all. */
  cudaDevices?: number[];
  /** OLLAMA_GPU_OVERHEAD: bytes of each GPU left to others. */
  gpuOverheadBytes?: number;
  modelsDir?: string;
  env: Record<string, string>;
  insecure: boolean;
}

/** The step's default time limit (timeouts.ollama): the release's download (≈1.6 GB with its CUDA libraries) and every
 * model's pull, which for a large model is tens of GB. */
export const OLLAMA_TIMEOUT_SECONDS = 3600;

/** How long the step may wait for the server to answer after a (re)start, and for each model's pull. */
export const OLLAMA_START_TIMEOUT_SECONDS = 120;

/** A value for a unit's Environment="K=V" line: one line, no quote or backslash (validation refuses them first). */
function envValue(k: string, v: string): string {
  if (unsafeEnvValue(v)) throw new Error(`ollama ${k} cannot hold control characters, quotes or backslashes`);
  return v.replace(/%/g, "%%").replace(/\$/g, "$$$$");
}

export function renderOllama(s: OllamaSettings): RenderedFeature {
  const version = s.version ?? OLLAMA_VERSION;
  const env: [string, string][] = [
    ["OLLAMA_HOST", `${s.host.includes(":") ? `[${s.host}]` : s.host}:${s.port}`],
    ["OLLAMA_MODELS", s.modelsDir ?? "/var/lib/ollama/models"],
    ["HOME", "/var/lib/ollama"],
    ...(s.cudaDevices === undefined
      ? []
      : ([
          ["CUDA_DEVICE_ORDER", "PCI_BUS_ID"],
          // -1: no GPU (CUDA finds none), Ollama runs on the CPU.
          ["CUDA_VISIBLE_DEVICES", s.cudaDevices.length > 0 ? s.cudaDevices.join(",") : "-1"],
        ] as [string, string][])),
    ...(s.gpuOverheadBytes !== undefined ? ([["OLLAMA_GPU_OVERHEAD", String(s.gpuOverheadBytes)]] as [string, string][]) : []),
    ...Object.keys(s.env)
      .sort()
      .map((k) => [k, s.env[k]!] as [string, string]),
  ];
  for (const m of s.models)
    if (!/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/.test(m)) throw new Error(`ollama model name ${JSON.stringify(m)} is not one`);
  const src = s.source;
  return {
    script: scriptOf("ollama/ollama-lib.sh", "ollama/ollama.sh"),
    checkScript: scriptOf("ollama/ollama-lib.sh", "ollama/ollama-check.sh"),
    params: {
      OLLAMA_VERSION: version,
      ...(src && "url" in src
        ? { OLLAMA_URL: src.url, OLLAMA_SHA256: src.sha256.toLowerCase() }
        : { OLLAMA_BASE_URL: (src?.baseUrl ?? OLLAMA_RELEASES).replace(/\/+$/, "") }),
      OLLAMA_LISTEN: `${s.host}:${s.port}`,
      // A server listening on every address answers on loopback.
      OLLAMA_API: `http://${s.host === "0.0.0.0" || s.host === "::" ? "127.0.0.1" : s.host.includes(":") ? `[${s.host}]` : s.host}:${s.port}`,
      OLLAMA_MODELS_DIR: s.modelsDir ?? "/var/lib/ollama/models",
      OLLAMA_UNIT_ENV: env.map(([k, v]) => `Environment="${k}=${envValue(k, v)}"`).join("\n"),
      OLLAMA_PULL: s.models.join(" "),
      OLLAMA_PRUNE: s.prune ? "1" : "0",
      OLLAMA_INSECURE: s.insecure ? "true" : "false",
      OLLAMA_START_TIMEOUT: String(OLLAMA_START_TIMEOUT_SECONDS),
    },
    secretRefs: {},
    timeout: { seconds: OLLAMA_TIMEOUT_SECONDS, key: "ollama" },
  };
}

export function ollama(
  name: string,
  target: FeatureTarget,
  settings: OllamaSettings,
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  return featureResource(name, target, renderOllama(settings), {}, opts);
}
