// Model servers' settings that the server itself would refuse, or that make two guests built apart serve differently:
// vLLM's dtype, quantization, parallelism, duplicated engine args and pins; Ollama's GPUs, environment and models.
import { capabilityAtLeast, cudaArchListFor, gpuArch } from "../definition/gpu-models";
import { type Problem, error, warning } from "../definition/problems";
import { type Index, type Machine, hasFeature } from "../definition/resolve";
import {
  OLLAMA_MANAGED_ENV,
  VLLM_0_10_QUANTIZATIONS,
  VLLM_DTYPES,
  VLLM_IMAGE_REPOSITORY,
  VLLM_KNOWN_SERIES,
  imageTag,
  ollamaModelName,
  unsafeEnvValue,
  vllmImageOf,
} from "../definition/serving";

export function checkServing(ix: Index): Problem[] {
  const out: Problem[] = [];
  for (const m of ix.machines) {
    checkVllm(ix, m, out);
    checkOllama(ix, m, out);
  }
  return out;
}

/** Flags vLLM gets from the feature's own fields; setting them again in args would bypass these checks. */
const VLLM_FIELD_FLAGS: Record<string, string> = {
  host: "host",
  port: "port",
  "served-model-name": "servedModelName",
  "tensor-parallel-size": "tensorParallelSize",
  "max-model-len": "maxModelLen",
  "gpu-memory-utilization": "gpuMemoryUtilization",
  quantization: "quantization",
  dtype: "dtype",
  "trust-remote-code": "trustRemoteCode",
};

function checkVllm(ix: Index, m: Machine, out: Problem[]) {
  const eff = ix.effective(m);
  const v = eff.features.vllm;
  if (!v) return;
  const p = `${m.path}.features.vllm`;
  const models = eff.gpus.map((g) => eff.node?.gpus.find((x) => x.index === g)?.model);
  if (v.dtype !== undefined && !(VLLM_DTYPES as readonly string[]).includes(v.dtype))
    out.push(error(`${p}.dtype`, `vLLM has no dtype '${v.dtype}'`, `use one of: ${VLLM_DTYPES.join(", ")}`));
  if (v.dtype === "bfloat16") {
    const old = models
      .map((x) => ({ x, arch: gpuArch(x) }))
      .find((a) => a.arch && !capabilityAtLeast(a.arch.computeCapability, "8.0"));
    if (old)
      out.push(
        error(
          `${p}.dtype`,
          `bfloat16 needs compute capability 8.0, and '${m.name}' has a ${old.x} (${old.arch!.computeCapability})`,
          "use dtype: half (float16), or a GPU from Ampere on",
        ),
      );
  }
  if (v.quantization !== undefined && !(VLLM_0_10_QUANTIZATIONS as readonly string[]).includes(v.quantization)) {
    const known = v.version?.startsWith(`${VLLM_KNOWN_SERIES}.`);
    const say = `'${v.quantization}' is not one of vLLM ${VLLM_KNOWN_SERIES}'s quantization methods`;
    const fix = `use one of: ${VLLM_0_10_QUANTIZATIONS.join(", ")}`;
    out.push(
      known
        ? error(`${p}.quantization`, say, fix)
        : warning(`${p}.quantization`, `${say} (the guest installs ${v.version ?? "whatever is newest"})`, fix),
    );
  }
  const tp = v.tensorParallelSize ?? Math.max(1, eff.gpus.length);
  if ((tp & (tp - 1)) !== 0)
    out.push(
      warning(
        `${v.tensorParallelSize !== undefined ? `${p}.tensorParallelSize` : `${m.path}.gpus`}`,
        `tensor parallel size ${tp} is not a power of two: most models' attention heads do not divide by it, and vLLM refuses them`,
        "use 1, 2, 4 or 8 GPUs (set tensorParallelSize, or change gpus)",
      ),
    );
  for (const key of Object.keys(v.args ?? {})) {
    const flag = key.replace(/_/g, "-");
    if (VLLM_FIELD_FLAGS[flag])
      out.push(
        error(
          `${p}.args.${key}`,
          `--${flag} is set by vllm.${VLLM_FIELD_FLAGS[flag]}, and vLLM would take whichever comes last`,
          `move the value to vllm.${VLLM_FIELD_FLAGS[flag]} and remove it from args`,
        ),
      );
  }
  const batched = Number(v.args?.["max-num-batched-tokens"]);
  const noChunking = v.args?.["enable-chunked-prefill"] === false || v.args?.["no-enable-chunked-prefill"] === true;
  if (noChunking && v.maxModelLen !== undefined && Number.isFinite(batched) && batched < v.maxModelLen)
    out.push(
      error(
        `${p}.maxModelLen`,
        `without chunked prefill vLLM refuses max-num-batched-tokens (${batched}) below maxModelLen (${v.maxModelLen})`,
        `raise max-num-batched-tokens to at least ${v.maxModelLen}, lower maxModelLen, or allow chunked prefill`,
      ),
    );
  checkVllmPins(m, p, v, models, out);
}

function checkVllmPins(
  m: Machine,
  p: string,
  v: NonNullable<ReturnType<Index["effective"]>["features"]["vllm"]>,
  models: (string | undefined)[],
  out: Problem[],
) {
  if ((v.install ?? "venv") === "venv") {
    if (v.version === undefined)
      out.push(
        warning(
          `${p}.version`,
          `vllm on '${m.name}' installs whatever version pip finds that day: two guests built apart serve with different engines`,
          'pin it: version: "0.10.2" (and torchIndex for its CUDA build)',
        ),
      );
  } else {
    const image = vllmImageOf(v);
    const tag = imageTag(image);
    if (tag === "" || tag === "latest")
      out.push(
        warning(
          `${v.image !== undefined ? `${p}.image` : `${p}.version`}`,
          `vllm on '${m.name}' runs ${image}, which moves with every release`,
          `pin it: version: "0.10.2" (image ${VLLM_IMAGE_REPOSITORY}:v0.10.2), or an image tag or digest`,
        ),
      );
    else if (v.version !== undefined && image.startsWith(`${VLLM_IMAGE_REPOSITORY}:`) && tag !== `v${v.version}`)
      out.push(
        error(
          `${p}.image`,
          `image ${image} is not vLLM ${v.version}, which version pins (the check compares the served version)`,
          `use ${VLLM_IMAGE_REPOSITORY}:v${v.version}, or remove image`,
        ),
      );
    if (v.torchIndex !== undefined)
      out.push(
        warning(`${p}.torchIndex`, "torchIndex applies to install: venv; the image brings its own torch", "remove torchIndex"),
      );
  }
  const named = models.filter((x): x is string => x !== undefined);
  if (v.cudaArchList === undefined && named.length > 0 && cudaArchListFor(named) === undefined)
    out.push(
      warning(
        `${p}.cudaArchList`,
        `Phoenix does not know the compute capability of ${named.filter((x) => !gpuArch(x)).join(", ")}, so TORCH_CUDA_ARCH_LIST stays unset`,
        'set cudaArchList, e.g. "8.9" (nvidia-smi --query-gpu=compute_cap --format=csv)',
      ),
    );
}

const OLLAMA_MODEL = /^[A-Za-z0-9][A-Za-z0-9._-]*(:\d+)?(\/[A-Za-z0-9][A-Za-z0-9._-]*)*(:[A-Za-z0-9._-]+)?$/;

function checkOllama(ix: Index, m: Machine, out: Problem[]) {
  const eff = ix.effective(m);
  const o = eff.features.ollama;
  if (!o) return;
  const p = `${m.path}.features.ollama`;
  o.gpus?.forEach((g, k) => {
    if (!eff.gpus.includes(g))
      out.push(
        error(
          `${p}.gpus[${k}]`,
          `GPU ${g} is not one of '${m.name}''s GPUs (${eff.gpus.join(", ") || "none"})`,
          `use GPUs the guest has, or add ${g} to ${m.path}.gpus`,
        ),
      );
  });
  for (const [k, val] of Object.entries(o.env ?? {})) {
    // The names' grammar (OLLAMA_*) is the schema's.
    if ((OLLAMA_MANAGED_ENV as readonly string[]).includes(k))
      out.push(error(`${p}.env.${k}`, `${k} is set from the feature's fields`, "use host/port, modelsDir or gpuMemory instead"));
    if (unsafeEnvValue(val))
      out.push(
        error(`${p}.env.${k}`, "the value has a control character, a quote or a backslash", "write it on one line, plain"),
      );
  }
  const seen = new Map<string, number>();
  o.models?.forEach((name, k) => {
    if (!OLLAMA_MODEL.test(name)) {
      out.push(
        error(
          `${p}.models[${k}]`,
          `'${name}' is not an Ollama model name`,
          "write [registry/][namespace/]model[:tag], e.g. llama3.2:1b",
        ),
      );
      return;
    }
    const full = ollamaModelName(name);
    if (seen.has(full))
      out.push(error(`${p}.models[${k}]`, `${full} is listed twice (models[${seen.get(full)}])`, "list each model once"));
    seen.set(full, k);
  });
  if (eff.gpus.length > 0 && !hasFeature(eff.features, "nvidia") && m.type === "lxc")
    out.push(
      warning(
        p,
        `Ollama on '${m.name}' finds no NVIDIA userland (libcuda) without the nvidia feature and runs on the CPU`,
        "add features.nvidia, or clone from a template that has it",
      ),
    );
  const v = eff.features.vllm;
  if (v && (v.port ?? 8000) === (o.port ?? 11434))
    out.push(error(`${p}.port`, `port ${o.port ?? 11434} is vllm's too on '${m.name}'`, "give Ollama another port"));
}
