// The `phoenix` verbs that work on a stack (`adopt`, `plan --stack`) reach it as `pulumi` does, in the project
// directory through Pulumi's Automation API: the stack's config and secrets, what its state holds, and a preview
// whose engine events say, resource by resource, what an up would do.
import { resolve } from "node:path";
import { type EngineEvent, LocalWorkspace, type OpType, type Stack } from "@pulumi/pulumi/automation";
import type { SecretRef } from "../definition/schema";
import { CommandError } from "./io";

export interface OpenStack {
  stack: Stack;
  /** The stack's definition file (config phoenix:definition), resolved against the project directory. */
  definitionFile: string;
  /** A secret (or plain) config value of the stack, by the name the definition references (phoenix:<name>). */
  secret(ref: SecretRef | string | undefined): Promise<string | undefined>;
}

export async function openStack(stackName: string, workDir = process.cwd()): Promise<OpenStack> {
  let stack: Stack;
  try {
    stack = await LocalWorkspace.selectStack({ stackName, workDir });
  } catch (e) {
    const first = (e as Error).message.split("\n").find((l) => /error|not found|no stack/i.test(l)) ?? (e as Error).message;
    throw new CommandError(
      `cannot select stack '${stackName}' in ${workDir} (run phoenix where you run pulumi, with its backend): ${first.trim()}`,
    );
  }
  const definition = await stack.getConfig("phoenix:definition").catch(() => undefined);
  if (!definition)
    throw new CommandError(
      `stack '${stackName}' has no phoenix:definition: pulumi config set phoenix:definition stacks/${stackName}.yaml`,
    );
  return {
    stack,
    definitionFile: resolve(workDir, definition.value),
    secret: async (ref) => {
      if (ref === undefined || typeof ref === "string") return ref;
      const v = await stack.getConfig(`phoenix:${ref.secret}`).catch(() => undefined);
      if (!v)
        throw new CommandError(
          `secret ${ref.secret} is not set: pulumi config set --secret phoenix:${ref.secret} … --stack ${stackName}`,
        );
      return v.value;
    },
  };
}

/** A resource the stack's state holds: its URN's name and type, its id. */
export interface HeldResource {
  urn: string;
  type: string;
  name: string;
  id?: string;
}

export async function heldResources(stack: Stack): Promise<HeldResource[]> {
  const state = await stack.exportStack();
  const resources = (state.deployment as { resources?: { urn: string; type: string; id?: string }[] }).resources ?? [];
  return resources.map((r) => ({ urn: r.urn, type: r.type, name: r.urn.split("::").pop()!, ...(r.id ? { id: r.id } : {}) }));
}

/** What a preview says it would do to one resource. */
export interface PlannedStep {
  urn: string;
  type: string;
  name: string;
  /** Every op the preview reported for it (an adopted guest is "import", then "update" or "same"). */
  ops: OpType[];
  /** Top-level properties that change. */
  diffs: string[];
  /** Top-level properties that force its replacement. */
  keys: string[];
  /** Property paths that change, with their kind ("update", "update-replace", "add-replace", …). */
  detailed: Record<string, string>;
  /** Each changing path's value before (the state, or what an import read) and after (the program's input). */
  values: Record<string, { old: unknown; new: unknown }>;
}

/** The value at a property path such as memory.dedicated or mountPoints[0].volume (the engine's own __defaults left out). */
export function valueAt(inputs: unknown, path: string): unknown {
  let v: unknown = inputs;
  for (const part of path.split(/\.|\[(\d+)\]/).filter((x) => x !== undefined && x !== "")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  if (v && typeof v === "object" && !Array.isArray(v)) {
    const { __defaults: _d, ...rest } = v as Record<string, unknown>;
    return rest;
  }
  return v;
}

export interface PreviewReport {
  steps: Map<string, PlannedStep>;
  /** The program's own warnings (what it says it replaces or deletes) and the preview's errors. */
  diagnostics: { severity: string; message: string; urn?: string }[];
  /** The preview failed (an error in the program, a refused replacement): its message. */
  error?: string;
  summary: Partial<Record<OpType, number>>;
}

/** Runs `pulumi preview` of the stack with these environment variables for the program and gathers its engine events. */
export async function previewSteps(stack: Stack, env: Record<string, string> = {}): Promise<PreviewReport> {
  const steps = new Map<string, PlannedStep>();
  const diagnostics: PreviewReport["diagnostics"] = [];
  const onEvent = (e: EngineEvent) => {
    const d = e.diagnosticEvent;
    if (d && (d.severity === "warning" || d.severity === "error"))
      diagnostics.push({ severity: d.severity, message: d.message.trim(), ...(d.urn ? { urn: d.urn } : {}) });
    const m = e.resourcePreEvent?.metadata;
    if (!m) return;
    const s: PlannedStep = steps.get(m.urn) ?? {
      urn: m.urn,
      type: m.type,
      name: m.urn.split("::").pop()!,
      ops: [],
      diffs: [],
      keys: [],
      detailed: {},
      values: {},
    };
    s.ops.push(m.op);
    s.diffs = [...new Set([...s.diffs, ...(m.diffs ?? [])])];
    s.keys = [...new Set([...s.keys, ...(m.keys ?? [])])];
    for (const [path, diff] of Object.entries(m.detailedDiff ?? {})) {
      s.detailed[path] = diff.diffKind;
      s.values[path] = { old: valueAt(m.old?.inputs, path), new: valueAt(m.new?.inputs, path) };
    }
    steps.set(m.urn, s);
  };
  const vars = stack.workspace.envVars;
  const saved = { ...vars };
  Object.assign(vars, env);
  try {
    const r = await stack.preview({ onEvent, diff: false });
    return { steps, diagnostics, summary: r.changeSummary };
  } catch (e) {
    return { steps, diagnostics, error: (e as Error).message, summary: {} };
  } finally {
    for (const k of Object.keys(env))
      if (saved[k] === undefined) delete vars[k];
      else vars[k] = saved[k]!;
  }
}
