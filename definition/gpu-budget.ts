// Each GPU's memory budget: which services of which guests reserve how much of it. Validation refuses a GPU whose
// shares add up to more than GPU_MEMORY_LIMIT; the plan prints the table. Pure data from the definition.
import { type Index, type Machine } from "./resolve";

/** Kept free on every GPU for the CUDA context of each process and the driver (≈0.8 GiB of a 16 GiB card). */
export const GPU_MEMORY_MARGIN = 0.05;
export const GPU_MEMORY_LIMIT = 1 - GPU_MEMORY_MARGIN;
/** vLLM's own default for --gpu-memory-utilization (0.10.x). */
export const VLLM_DEFAULT_GPU_MEMORY_UTILIZATION = 0.9;

export interface GpuShare {
  guest: string;
  /** The field that sets this share (or would: vLLM's default). */
  path: string;
  service: "vllm" | "ollama" | "other";
  /** Fraction of the GPU's memory; undefined when it cannot be known (see `unbounded`, or GiB on a GPU of unknown memory). */
  fraction?: number;
  /** GiB declared (Ollama's gpuMemory, a guest's gpuMemory). */
  gib?: number;
  /** vLLM's default, not written in the definition. */
  defaulted?: boolean;
  /** Takes whatever is free when it loads a model (Ollama without gpuMemory). */
  unbounded?: boolean;
}

export interface GpuBudget {
  node: string;
  /** nodes[i].gpus[k] */
  path: string;
  index: number;
  model?: string;
  memory?: number;
  shares: GpuShare[];
  /** Sum of the known fractions. */
  total: number;
}

export function gpuBudgets(ix: Index): GpuBudget[] {
  const out: GpuBudget[] = [];
  ix.def.nodes.forEach((node, i) => {
    const guests = ix.machines.filter((m) => m.kind === "guest" && ix.effective(m).node === node);
    node.gpus.forEach((gpu, k) => {
      const shares = guests.flatMap((m) => sharesOf(ix, m, gpu.index, gpu.memory));
      out.push({
        node: node.name,
        path: `nodes[${i}].gpus[${k}]`,
        index: gpu.index,
        ...(gpu.model !== undefined ? { model: gpu.model } : {}),
        ...(gpu.memory !== undefined ? { memory: gpu.memory } : {}),
        shares,
        total: round(shares.reduce((s, x) => s + (x.fraction ?? 0), 0)),
      });
    });
  });
  return out;
}

function sharesOf(ix: Index, m: Machine, index: number, memory: number | undefined): GpuShare[] {
  const eff = ix.effective(m);
  if (!eff.gpus.includes(index)) return [];
  const out: GpuShare[] = [];
  const fp = `${m.path}.features`;
  const ofGib = (gib: number) => (memory !== undefined ? { fraction: round(gib / memory) } : {});
  const v = eff.features.vllm;
  if (v)
    out.push({
      guest: m.name,
      path: `${fp}.vllm.gpuMemoryUtilization`,
      service: "vllm",
      fraction: v.gpuMemoryUtilization ?? VLLM_DEFAULT_GPU_MEMORY_UTILIZATION,
      ...(v.gpuMemoryUtilization === undefined ? { defaulted: true } : {}),
    });
  const o = eff.features.ollama;
  if (o && (o.gpus ?? eff.gpus).includes(index))
    out.push({
      guest: m.name,
      path: `${fp}.ollama.gpuMemory`,
      service: "ollama",
      ...(o.gpuMemory !== undefined ? { gib: o.gpuMemory, ...ofGib(o.gpuMemory) } : { unbounded: true }),
    });
  if (m.def.gpuMemory !== undefined)
    out.push({ guest: m.name, path: `${m.path}.gpuMemory`, service: "other", gib: m.def.gpuMemory, ...ofGib(m.def.gpuMemory) });
  return out;
}

/** Shares as the messages and the plan print them: "vllm-gpu0: vllm 0.90 (14.4 GiB)". */
export function describeShare(s: GpuShare, memory?: number): string {
  const what = s.service === "other" ? "gpuMemory" : s.service;
  if (s.unbounded) return `${s.guest}: ${what} whatever is free`;
  const gib = s.gib ?? (memory !== undefined && s.fraction !== undefined ? s.fraction * memory : undefined);
  const frac = s.fraction !== undefined ? s.fraction.toFixed(2) : "?";
  return `${s.guest}: ${what} ${frac}${gib !== undefined ? ` (${round1(gib)} GiB)` : ""}${s.defaulted ? ", vLLM's default" : ""}`;
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;
const round1 = (x: number) => String(Math.round(x * 10) / 10);
