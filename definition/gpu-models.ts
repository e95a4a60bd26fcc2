// NVIDIA GPU models → architecture and CUDA compute capability: vLLM's TORCH_CUDA_ARCH_LIST and the checks that
// depend on what a GPU can do (bfloat16 needs 8.0). A small table kept by hand; an unknown model gives nothing.

export type GpuFamily = "Volta" | "Turing" | "Ampere" | "Ada" | "Hopper" | "Blackwell";

export interface GpuArch {
  family: GpuFamily;
  /** CUDA compute capability, as TORCH_CUDA_ARCH_LIST writes it: "8.6", "12.0". */
  computeCapability: string;
}

/** First match wins: more specific names come before the patterns they would also match. */
const TABLE: [RegExp, GpuFamily, string][] = [
  [/\bGB10\b/i, "Blackwell", "12.1"], // DGX Spark
  [/\bRTX\s*PRO\s*\d{4}\b|\bRTX\s*50[5-9]0\b/i, "Blackwell", "12.0"], // RTX 50 series, RTX PRO Blackwell
  [/\bG?B300\b/i, "Blackwell", "10.3"],
  [/\bG?B[12]00\b/i, "Blackwell", "10.0"],
  [/\bG?H[12]00\b|\bH[28]00\b|\bH20\b/i, "Hopper", "9.0"],
  [/\bRTX\s*40[5-9]0\b|\bRTX\s*\d{4}\s*(SFF\s*)?Ada\b|\bL4\b|\bL40S?\b|\bL20\b/i, "Ada", "8.9"],
  [/\bA[18]00\b|\bA30\b/i, "Ampere", "8.0"],
  [/\bRTX\s*30[5-9]0\b|\bRTX\s*A\d{4}\b|\bA10G?\b|\bA16\b|\bA2\b|\bA40\b/i, "Ampere", "8.6"],
  [/\bRTX\s*20[6-8]0\b|\bT4\b|\bTITAN\s*RTX\b|\bQuadro\s*RTX\b/i, "Turing", "7.5"],
  [/\bV100\b|\bTITAN\s*V\b/i, "Volta", "7.0"],
];

export function gpuArch(model: string | undefined): GpuArch | undefined {
  if (model === undefined) return undefined;
  const hit = TABLE.find(([re]) => re.test(model));
  return hit ? { family: hit[1], computeCapability: hit[2] } : undefined;
}

/** Compute capabilities as numbers compare: "10.0" > "9.0". */
export function capabilityAtLeast(cc: string, min: string): boolean {
  const [a, b] = cc.split(".").map(Number) as [number, number];
  const [c, d] = min.split(".").map(Number) as [number, number];
  return a > c || (a === c && b >= d);
}

/** TORCH_CUDA_ARCH_LIST for these models: their capabilities, sorted, once each; undefined when one is unknown. */
export function cudaArchListFor(models: readonly (string | undefined)[]): string | undefined {
  const caps = models.map((m) => gpuArch(m)?.computeCapability);
  if (caps.length === 0 || caps.some((c) => c === undefined)) return undefined;
  return [...new Set(caps as string[])].sort((x, y) => (capabilityAtLeast(x, y) ? (x === y ? 0 : 1) : -1)).join(" ");
}
