// GPU memory and placement: every GPU's budget (the shares of the services using it stay under GPU_MEMORY_LIMIT),
// budgets that cannot be checked, and the node's VFIO preparation (what goes to vfio-pci, IOMMU groups).
import { GPU_MEMORY_LIMIT, GPU_MEMORY_MARGIN, type GpuBudget, describeShare, gpuBudgets } from "../definition/gpu-budget";
import { type Problem, error, warning } from "../definition/problems";
import type { Index } from "../definition/resolve";
import type { Node } from "../definition/schema";

export function checkGpus(ix: Index): Problem[] {
  const out: Problem[] = [];
  for (const b of gpuBudgets(ix)) checkBudget(b, out);
  ix.def.nodes.forEach((n, i) => checkVfio(ix, n, `nodes[${i}]`, out));
  return out;
}

function checkBudget(b: GpuBudget, out: Problem[]) {
  const gpu = `GPU ${b.index} of node '${b.node}'${b.model || b.memory ? ` (${[b.model, b.memory && `${b.memory} GiB`].filter(Boolean).join(", ")})` : ""}`;
  for (const s of b.shares) {
    if (s.gib !== undefined && b.memory === undefined)
      out.push(
        error(
          s.path,
          `'${s.guest}' budgets ${s.gib} GiB of ${gpu}, whose memory is not declared`,
          `set ${b.path}.memory (GiB, nvidia-smi --query-gpu=memory.total --format=csv)`,
        ),
      );
    if (s.unbounded && b.shares.length > 1)
      out.push(
        error(
          s.path,
          `Ollama on '${s.guest}' takes whatever memory of ${gpu} is free when it loads a model, and the GPU is shared (${b.shares
            .filter((x) => x !== s)
            .map((x) => describeShare(x, b.memory))
            .join("; ")})`,
          "set ollama.gpuMemory (GiB): the rest of the GPU is reserved for the others (OLLAMA_GPU_OVERHEAD)",
        ),
      );
  }
  if (b.total <= GPU_MEMORY_LIMIT + 1e-9) return;
  const scale = GPU_MEMORY_LIMIT / b.total;
  const suggestion = b.shares
    .filter((s) => s.fraction !== undefined)
    .map((s) =>
      s.service === "vllm"
        ? `${s.guest} gpuMemoryUtilization ${floor2(s.fraction! * scale)}`
        : `${s.guest} gpuMemory ${floor1((s.gib ?? 0) * scale)}`,
    )
    .join(", ");
  out.push(
    error(
      b.path,
      `${gpu} is over-committed: its services reserve ${b.total.toFixed(2)} of its memory (${b.shares
        .map((s) => describeShare(s, b.memory))
        .join(
          "; ",
        )}), more than ${GPU_MEMORY_LIMIT.toFixed(2)} (${Math.round(GPU_MEMORY_MARGIN * 100)}% stays free for CUDA contexts and the driver)`,
      `lower the shares to add up to at most ${GPU_MEMORY_LIMIT.toFixed(2)} (e.g. ${suggestion}), or move a service to another GPU`,
    ),
  );
}

const floor2 = (x: number) => (Math.floor(x * 100) / 100).toFixed(2);
const floor1 = (x: number) => String(Math.floor(x * 10) / 10);

/** GPU indexes of the node that its VMs take (they leave the host). */
export function vmGpusOf(ix: Index, n: Node): Set<number> {
  const out = new Set<number>();
  for (const m of ix.machines) {
    const e = ix.effective(m);
    if (m.kind === "guest" && m.type === "vm" && e.node === n) e.gpus.forEach((g) => out.add(g));
  }
  return out;
}

const pciKey = (a: string) => (a.length === 7 ? `0000:${a}` : a).toLowerCase();

function checkVfio(ix: Index, n: Node, path: string, out: Problem[]) {
  const vmGpus = vmGpusOf(ix, n);
  const hostGpus = n.gpus.filter((g) => !vmGpus.has(g.index));
  // Devices a VM GPU takes along (its group) must not be a GPU the host keeps.
  n.gpus.forEach((g, k) => {
    const gp = `${path}.gpus[${k}]`;
    const seen = new Set<string>(g.pci ? [pciKey(g.pci)] : []);
    g.iommuGroupDevices?.forEach((d, j) => {
      if (seen.has(pciKey(d.pci)))
        out.push(
          error(`${gp}.iommuGroupDevices[${j}].pci`, `${d.pci} is listed twice for GPU ${g.index}`, "list each device once"),
        );
      seen.add(pciKey(d.pci));
      const other = n.gpus.find((x) => x !== g && x.pci && pciKey(x.pci) === pciKey(d.pci));
      if (other && vmGpus.has(g.index) && !vmGpus.has(other.index))
        out.push(
          error(
            `${gp}.iommuGroupDevices[${j}]`,
            `GPU ${other.index} shares GPU ${g.index}'s IOMMU group: passing GPU ${g.index} to a VM takes GPU ${other.index} from the host`,
            `give the VM GPU ${other.index} too, or move a card to a slot with its own IOMMU group`,
          ),
        );
    });
    if (g.iommuGroup !== undefined && vmGpus.has(g.index)) {
      const sharing = hostGpus.find((h) => h.iommuGroup === g.iommuGroup);
      if (sharing)
        out.push(
          error(
            `${gp}.iommuGroup`,
            `GPU ${g.index} (to a VM) and GPU ${sharing.index} (kept by the host) are both in IOMMU group ${g.iommuGroup}: a VM takes its GPU's whole group`,
            `give the VM GPU ${sharing.index} too, or move a card to a slot with its own IOMMU group`,
          ),
        );
    }
  });
  if (n.nvidia?.bootInit && !n.ssh)
    out.push(
      error(
        `${path}.nvidia.bootInit`,
        `the NVIDIA boot unit is installed on node '${n.name}' over SSH, and the node has no ssh`,
        `set ${path}.ssh, or bootInit: false`,
      ),
    );
  if (!n.vfio) return;
  if (!n.ssh)
    out.push(error(`${path}.vfio`, `VFIO is prepared on node '${n.name}' over SSH, and the node has no ssh`, `set ${path}.ssh`));
  if (vmGpus.size === 0)
    out.push(
      warning(
        `${path}.vfio`,
        `no VM on node '${n.name}' takes a GPU: VFIO only turns the IOMMU on`,
        "remove vfio, or give a VM a GPU (gpus: [n])",
      ),
    );
}
