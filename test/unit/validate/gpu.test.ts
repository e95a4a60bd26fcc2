// Bad definitions, GPUs and model servers (validate/gpu.ts, validate/serving.ts): memory budgets per GPU, what vLLM
// and Ollama would refuse, pins, and the node's VFIO preparation.
import { describe } from "vitest";
import { type Case, type Raw, gpuGuest, runCases, vm } from "./support";

const V = "0.10.2";
const llm = (vmid: number, name: string, gpus: number[], features: Raw, extra: Raw = {}) =>
  gpuGuest({ vmid, name, gpus, features, ...extra });
const vllm = (extra: Raw = {}) => ({ vllm: { model: "Qwen/Qwen3-8B", version: V, ...extra } });
const gpus16 = (d: Raw) =>
  (d.nodes[0].gpus = [
    { index: 0, pci: "0000:01:00.0", deviceId: "10de:2d04", model: "RTX 5060 Ti", memory: 16 },
    { index: 1, pci: "0000:02:00.0", deviceId: "10de:2d04", model: "RTX 5060 Ti", memory: 16 },
  ]);

const cases: Case[] = [
  {
    name: "two vLLM servers over-commit GPU 0 (ai-host.yaml before its fix)",
    mutate: (d) => {
      gpus16(d);
      d.guests.push(llm(220, "vllm-gpu0", [0], vllm({ gpuMemoryUtilization: 0.9 })));
      d.guests.push(llm(221, "vllm-dual", [0, 1], vllm({ gpuMemoryUtilization: 0.45 })));
    },
    expect: [
      {
        path: "nodes[0].gpus[0]",
        message:
          "GPU 0 of node 'lab' (RTX 5060 Ti, 16 GiB) is over-committed: its services reserve 1.35 of its memory (vllm-gpu0: vllm 0.90 (14.4 GiB); vllm-dual: vllm 0.45 (7.2 GiB)), more than 0.95 (5% stays free for CUDA contexts and the driver)",
        fix: "lower the shares to add up to at most 0.95 (e.g. vllm-gpu0 gpuMemoryUtilization 0.63, vllm-dual gpuMemoryUtilization 0.31), or move a service to another GPU",
      },
    ],
  },
  {
    name: "vLLM's default 0.9 counts when gpuMemoryUtilization is unset",
    mutate: (d) => {
      d.guests.push(llm(220, "a", [1], vllm()));
      d.guests.push(llm(221, "b", [1], vllm({ gpuMemoryUtilization: 0.1 })));
    },
    expect: [
      {
        path: "nodes[0].gpus[1]",
        message:
          "GPU 1 of node 'lab' is over-committed: its services reserve 1.00 of its memory (a: vllm 0.90, vLLM's default; b: vllm 0.10), more than 0.95 (5% stays free for CUDA contexts and the driver)",
      },
    ],
  },
  {
    name: "Ollama's GiB on a shared GPU count against its memory",
    mutate: (d) => {
      gpus16(d);
      d.guests.push(llm(220, "chat", [0], { ollama: { gpuMemory: 4 } }));
      d.guests.push(llm(221, "llm", [0], vllm({ gpuMemoryUtilization: 0.8 })));
    },
    expect: [
      {
        path: "nodes[0].gpus[0]",
        message:
          "GPU 0 of node 'lab' (RTX 5060 Ti, 16 GiB) is over-committed: its services reserve 1.05 of its memory (chat: ollama 0.25 (4 GiB); llm: vllm 0.80 (12.8 GiB)), more than 0.95 (5% stays free for CUDA contexts and the driver)",
        fix: "lower the shares to add up to at most 0.95 (e.g. chat gpuMemory 3.6, llm gpuMemoryUtilization 0.72), or move a service to another GPU",
      },
    ],
  },
  {
    name: "a guest's own gpuMemory (a script, an app) counts too",
    mutate: (d) => {
      gpus16(d);
      d.guests.push(llm(220, "train", [1], {}, { gpuMemory: 8 }));
      d.guests.push(llm(221, "llm", [1], vllm({ gpuMemoryUtilization: 0.5 })));
    },
    expect: [
      {
        path: "nodes[0].gpus[1]",
        message:
          "GPU 1 of node 'lab' (RTX 5060 Ti, 16 GiB) is over-committed: its services reserve 1.00 of its memory (train: gpuMemory 0.50 (8 GiB); llm: vllm 0.50 (8 GiB)), more than 0.95 (5% stays free for CUDA contexts and the driver)",
      },
    ],
  },
  {
    name: "Ollama without a budget on a GPU it shares",
    mutate: (d) => {
      d.guests.push(llm(220, "chat", [0], { ollama: {} }));
      d.guests.push(llm(221, "llm", [0], vllm({ gpuMemoryUtilization: 0.5 })));
    },
    expect: [
      {
        path: "guests[2].features.ollama.gpuMemory",
        message:
          "Ollama on 'chat' takes whatever memory of GPU 0 of node 'lab' is free when it loads a model, and the GPU is shared (llm: vllm 0.50)",
      },
    ],
  },
  {
    name: "a budget in GiB on a GPU of unknown memory",
    mutate: (d) => d.guests.push(llm(220, "chat", [1], { ollama: { gpuMemory: 6 } })),
    expect: [
      {
        path: "guests[2].features.ollama.gpuMemory",
        message: "'chat' budgets 6 GiB of GPU 1 of node 'lab', whose memory is not declared",
        fix: "set nodes[0].gpus[1].memory (GiB, nvidia-smi --query-gpu=memory.total --format=csv)",
      },
    ],
  },
  {
    name: "a dtype vLLM does not have",
    mutate: (d) => d.guests.push(llm(220, "llm", [0], vllm({ dtype: "fp16" }))),
    expect: [{ path: "guests[2].features.vllm.dtype", message: "vLLM has no dtype 'fp16'" }],
  },
  {
    name: "bfloat16 on a Turing GPU",
    mutate: (d) => {
      d.nodes[0].gpus[0].model = "Tesla T4";
      d.guests.push(llm(220, "llm", [0], vllm({ dtype: "bfloat16" })));
    },
    expect: [
      {
        path: "guests[2].features.vllm.dtype",
        message: "bfloat16 needs compute capability 8.0, and 'llm' has a Tesla T4 (7.5)",
      },
    ],
  },
  {
    name: "a quantization vLLM 0.10.2 refuses",
    mutate: (d) => d.guests.push(llm(220, "llm", [0], vllm({ quantization: "awq-marlin" }))),
    expect: [
      { path: "guests[2].features.vllm.quantization", message: "'awq-marlin' is not one of vLLM 0.10's quantization methods" },
    ],
  },
  {
    name: "an unknown quantization on another vLLM series (a warning)",
    mutate: (d) => d.guests.push(llm(220, "llm", [0], vllm({ version: "0.11.0", quantization: "nvfp4x" }))),
    expect: [
      {
        path: "guests[2].features.vllm.quantization",
        severity: "warning",
        message: "'nvfp4x' is not one of vLLM 0.10's quantization methods (the guest installs 0.11.0)",
      },
    ],
  },
  {
    name: "engine args that repeat a field",
    mutate: (d) => d.guests.push(llm(220, "llm", [0], vllm({ args: { "max-model-len": 4096, "gpu-memory-utilization": 0.3 } }))),
    expect: [
      {
        path: "guests[2].features.vllm.args.max-model-len",
        message: "--max-model-len is set by vllm.maxModelLen, and vLLM would take whichever comes last",
      },
      {
        path: "guests[2].features.vllm.args.gpu-memory-utilization",
        message: "--gpu-memory-utilization is set by vllm.gpuMemoryUtilization, and vLLM would take whichever comes last",
      },
    ],
  },
  {
    name: "maxModelLen above max-num-batched-tokens without chunked prefill",
    mutate: (d) =>
      d.guests.push(
        llm(
          220,
          "llm",
          [0],
          vllm({ maxModelLen: 8192, args: { "max-num-batched-tokens": 4096, "enable-chunked-prefill": false } }),
        ),
      ),
    expect: [
      {
        path: "guests[2].features.vllm.maxModelLen",
        message: "without chunked prefill vLLM refuses max-num-batched-tokens (4096) below maxModelLen (8192)",
      },
    ],
  },
  {
    name: "three GPUs of tensor parallelism (a warning)",
    mutate: (d) => {
      d.nodes[0].gpus.push({ index: 2, pci: "0000:03:00.0" });
      d.guests.push(llm(220, "llm", [0, 1, 2], vllm({ gpuMemoryUtilization: 0.5 })));
    },
    expect: [
      {
        path: "guests[2].gpus",
        severity: "warning",
        message:
          "tensor parallel size 3 is not a power of two: most models' attention heads do not divide by it, and vLLM refuses them",
      },
    ],
  },
  {
    name: "an unpinned venv (a warning)",
    mutate: (d) => d.guests.push(llm(220, "llm", [0], { vllm: { model: "m" } })),
    expect: [
      {
        path: "guests[2].features.vllm.version",
        severity: "warning",
        message:
          "vllm on 'llm' installs whatever version pip finds that day: two guests built apart serve with different engines",
      },
    ],
  },
  {
    name: "a container install on :latest (a warning)",
    mutate: (d) =>
      d.guests.push(
        llm(
          220,
          "llm",
          [0],
          {
            docker: {},
            "nvidia-container-toolkit": {},
            vllm: { model: "m", install: "container", image: "vllm/vllm-openai:latest" },
          },
          { nesting: true },
        ),
      ),
    expect: [
      {
        path: "guests[2].features.vllm.image",
        severity: "warning",
        message: "vllm on 'llm' runs vllm/vllm-openai:latest, which moves with every release",
      },
    ],
  },
  {
    name: "a container image of another release than the version",
    mutate: (d) =>
      d.guests.push(
        llm(
          220,
          "llm",
          [0],
          {
            docker: {},
            "nvidia-container-toolkit": {},
            vllm: { model: "m", install: "container", version: V, image: "vllm/vllm-openai:v0.9.2" },
          },
          { nesting: true },
        ),
      ),
    expect: [
      {
        path: "guests[2].features.vllm.image",
        message: "image vllm/vllm-openai:v0.9.2 is not vLLM 0.10.2, which version pins (the check compares the served version)",
      },
    ],
  },
  {
    name: "a GPU model Phoenix does not know (a warning: no TORCH_CUDA_ARCH_LIST)",
    mutate: (d) => {
      d.nodes[0].gpus[0].model = "Quantum Accelerator 9000";
      d.guests.push(llm(220, "llm", [0], vllm()));
    },
    expect: [
      {
        path: "guests[2].features.vllm.cudaArchList",
        severity: "warning",
        message: "Phoenix does not know the compute capability of Quantum Accelerator 9000, so TORCH_CUDA_ARCH_LIST stays unset",
      },
    ],
  },
  {
    name: "Ollama on a GPU the guest does not have, with a managed setting",
    mutate: (d) => d.guests.push(llm(220, "chat", [0], { ollama: { gpus: [1], env: { OLLAMA_HOST: "0.0.0.0" } } })),
    expect: [
      { path: "guests[2].features.ollama.gpus[0]", message: "GPU 1 is not one of 'chat''s GPUs (0)" },
      { path: "guests[2].features.ollama.env.OLLAMA_HOST", message: "OLLAMA_HOST is set from the feature's fields" },
    ],
  },
  {
    name: "Ollama with a setting that is not one of Ollama's (refused by the schema, at the key)",
    mutate: (d) => d.guests.push(llm(220, "chat", [0], { ollama: { env: { PATH: "/x" } } })),
    expect: [
      {
        path: "guests[2].features.ollama.env.PATH",
        message: "key \"PATH\": an Ollama setting: OLLAMA_ and capitals, digits or '_'",
      },
    ],
  },
  {
    name: "Ollama models: a bad name and one listed twice",
    mutate: (d) => d.guests.push(llm(220, "chat", [0], { ollama: { models: ["llama3.2", "llama3.2:latest", "bad name"] } })),
    expect: [
      { path: "guests[2].features.ollama.models[1]", message: "llama3.2:latest is listed twice (models[0])" },
      { path: "guests[2].features.ollama.models[2]", message: "'bad name' is not an Ollama model name" },
    ],
  },
  {
    name: "Ollama and vLLM on one port",
    mutate: (d) =>
      d.guests.push(llm(220, "llm", [0], { ...vllm({ gpuMemoryUtilization: 0.5 }), ollama: { port: 8000, gpuMemory: 1 } })),
    expect: [
      { path: "guests[2].features.ollama.port", message: "port 8000 is vllm's too on 'llm'" },
      {
        path: "guests[2].features.ollama.gpuMemory",
        message: "'llm' budgets 1 GiB of GPU 0 of node 'lab', whose memory is not declared",
      },
    ],
  },
  {
    name: "vfio on a node whose VMs take no GPU (a warning)",
    mutate: (d) => (d.nodes[0].vfio = true),
    expect: [
      {
        path: "nodes[0].vfio",
        severity: "warning",
        message: "no VM on node 'lab' takes a GPU: VFIO only turns the IOMMU on",
      },
    ],
  },
  {
    name: "a VM's GPU shares its IOMMU group with a GPU the host keeps",
    mutate: (d) => {
      gpus16(d);
      d.nodes[0].gpus[0].iommuGroup = 14;
      d.nodes[0].gpus[1].iommuGroup = 14;
      d.templates[2].gpus = [1];
      d.guests.push(vm(300, "ws", { gpus: [0] }));
    },
    expect: [
      {
        path: "nodes[0].gpus[0].iommuGroup",
        message: "GPU 0 (to a VM) and GPU 1 (kept by the host) are both in IOMMU group 14: a VM takes its GPU's whole group",
      },
    ],
  },
  {
    name: "a VM's GPU lists a host GPU among its group's devices",
    mutate: (d) => {
      gpus16(d);
      d.nodes[0].vfio = true;
      d.nodes[0].gpus[0].iommuGroupDevices = [{ pci: "0000:02:00.0", deviceId: "10de:2d04" }];
      d.templates[2].gpus = [1];
      d.guests.push(vm(300, "ws", { gpus: [0] }));
    },
    expect: [
      {
        path: "nodes[0].gpus[0].iommuGroupDevices[0]",
        message: "GPU 1 shares GPU 0's IOMMU group: passing GPU 0 to a VM takes GPU 1 from the host",
      },
    ],
  },
  {
    name: "vfio without SSH to the node",
    mutate: (d) => {
      gpus16(d);
      d.nodes[0].vfio = true;
      delete d.nodes[0].ssh;
      d.nodes[0].zfs.datasets = [];
      d.guests[1].mountPoints = [];
      d.templates[2].gpus = [1];
      d.guests.push(vm(300, "ws", { gpus: [0] }));
    },
    expect: [
      {
        path: "nodes[0].vfio",
        message: "VFIO is prepared on node 'lab' over SSH, and the node has no ssh",
      },
      {
        path: "templates[1].node",
        message: "golden template 'docker-golden' is frozen through SSH to node 'lab', which has none",
      },
      {
        path: "templates[2].node",
        message: "golden template 'nvidia-golden' is frozen through SSH to node 'lab', which has none",
      },
    ],
  },
];

describe("bad definitions: GPUs and model servers", () => runCases(cases, 20));
