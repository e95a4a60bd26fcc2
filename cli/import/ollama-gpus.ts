// The original ran Ollama on GPUs its vLLM containers had already reserved; an imported Ollama whose GPU another
// service uses goes to the CPU (ollama.gpus: []) with a warning, so the import validates and says what to decide.
import { checkShape } from "../../definition/load";
import { gpuBudgets } from "../../definition/gpu-budget";
import { indexDefinition } from "../../definition/resolve";
import type { DefinitionInput } from "../../definition/schema";
import type { Warnings } from "./reader";

export function ollamaOffSharedGpus(def: DefinitionInput, where: (guest: string) => string, w: Warnings): void {
  const shaped = checkShape(JSON.parse(JSON.stringify(def))).definition;
  if (!shaped) return;
  for (const b of gpuBudgets(indexDefinition(shaped))) {
    const unbounded = b.shares.filter((s) => s.service === "ollama" && s.unbounded);
    if (unbounded.length === 0 || b.shares.length < 2) continue;
    for (const s of unbounded) {
      const g = def.guests?.find((x) => x.name === s.guest);
      const o = g?.features?.ollama;
      if (!o || o.gpus?.length === 0) continue;
      o.gpus = [];
      const others = b.shares.filter((x) => x !== s).map((x) => `${x.guest} ${x.fraction?.toFixed(2) ?? "?"}`);
      w.add(
        where(s.guest),
        `Ollama runs on the CPU (ollama.gpus: []): GPU ${b.index} is reserved by ${others.join(", ")}, and the original gave Ollama no budget`,
        "free part of that GPU, then set ollama.gpus and ollama.gpuMemory (GiB)",
      );
    }
  }
}
