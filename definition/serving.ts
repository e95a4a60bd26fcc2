// Facts about the model servers that validation, the plan and the provisioners share: vLLM's accepted values and
// images, Ollama's default release and model names, and the servers' URLs.
import { FEATURE_DEFAULTS } from "./schema";

/** vLLM's --dtype choices (its CLI's ModelDType, unchanged since 0.4). */
export const VLLM_DTYPES = ["auto", "half", "float16", "bfloat16", "float", "float32"] as const;

/**
 * vLLM 0.10.x's --quantization choices (QUANTIZATION_METHODS of vllm/model_executor/layers/quantization): the union
 * over the 0.10 releases, so a value outside it is refused by 0.10.2 whatever else changed within the series.
 */
export const VLLM_0_10_QUANTIZATIONS = [
  "aqlm",
  "awq",
  "deepspeedfp",
  "tpu_int8",
  "fp8",
  "ptpc_fp8",
  "fbgemm_fp8",
  "modelopt",
  "modelopt_fp4",
  "marlin",
  "bitblas",
  "gguf",
  "gptq_marlin_24",
  "gptq_marlin",
  "gptq_bitblas",
  "awq_marlin",
  "gptq",
  "compressed-tensors",
  "bitsandbytes",
  "qqq",
  "hqq",
  "experts_int8",
  "neuron_quant",
  "ipex",
  "quark",
  "moe_wna16",
  "torchao",
  "auto-round",
  "rtn",
  "inc",
  "mxfp4",
  "petit_nvfp4",
  "fp_quant",
] as const;

/** The series whose quantization list Phoenix keeps. */
export const VLLM_KNOWN_SERIES = "0.10";

export const VLLM_IMAGE_REPOSITORY = "vllm/vllm-openai";

/** The image a container install runs: the declared one, else the release's tag, else :latest (unpinned). */
export function vllmImageOf(v: { image?: string; version?: string }): string {
  return v.image ?? `${VLLM_IMAGE_REPOSITORY}:${v.version !== undefined ? `v${v.version}` : "latest"}`;
}

/** An image reference's tag ("" when it has none, "@" + digest when pinned by digest). */
export function imageTag(ref: string): string {
  const at = ref.indexOf("@");
  if (at >= 0) return ref.slice(at);
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  return colon > slash ? ref.slice(colon + 1) : "";
}

/** The Ollama release installed unless a guest pins another. */
export const OLLAMA_VERSION = "0.11.10";
export const OLLAMA_RELEASES = "https://github.com/ollama/ollama/releases/download";

/** Ollama's name for a model: a name without a tag means :latest ("llama3.2" → "llama3.2:latest"). */
export function ollamaModelName(name: string): string {
  // /api/tags shows models of Ollama's own registry without its host, and of its library without the namespace.
  const short = name.replace(/^registry\.ollama\.ai\//, "").replace(/^library\/(?=[^/]+$)/, "");
  const last = short.slice(short.lastIndexOf("/") + 1);
  return last.includes(":") ? short : `${short}:latest`;
}

/** Settings Phoenix writes itself in ollama.service: not accepted in ollama.env. */
export const OLLAMA_MANAGED_ENV = ["OLLAMA_HOST", "OLLAMA_MODELS", "OLLAMA_GPU_OVERHEAD"] as const;

/** Whether a value cannot sit inside a unit's Environment="K=V": a control character, a quote or a backslash. */
export function unsafeEnvValue(v: string): boolean {
  for (const ch of v) {
    const c = ch.charCodeAt(0);
    if (c < 0x20 || c === 0x7f || ch === '"' || ch === "\\") return true;
  }
  return false;
}

/** The model servers a machine runs, by service. */
export type ServingService = "vllm" | "ollama";

/**
 * The URLs of a machine's model servers at `host` (its first address): vLLM's OpenAI-compatible base and Ollama's
 * API. Guest summaries and apps' { endpoint } variables both take them from here, so an app gets the plan's URL.
 */
export function servingEndpoints(
  features: { vllm?: { port?: number }; ollama?: { port?: number } },
  host: string,
): Partial<Record<ServingService, string>> {
  const h = host.includes(":") ? `[${host}]` : host;
  return {
    ...(features.vllm ? { vllm: `http://${h}:${features.vllm.port ?? FEATURE_DEFAULTS.vllm.port}/v1` } : {}),
    ...(features.ollama ? { ollama: `http://${h}:${features.ollama.port ?? FEATURE_DEFAULTS.ollama.port}` } : {}),
  };
}
