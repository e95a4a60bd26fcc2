// What every feature file shares: its scripts read from beside it, and the RemoteScript that runs them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { ScriptTimeout } from "./run-script";
import { type ConnectionInput, RemoteScript } from "./script-provider";
import type { SecretRef, Timeouts } from "../../definition/schema";

/** Files of provisioners/ (paths like docker/docker.sh) joined into one script; engine/guest-lib.sh first gives every script its helpers. */
export function scriptOf(...files: string[]): string {
  return ["engine/guest-lib.sh", ...files].map((f) => readFileSync(join(__dirname, "..", f), "utf8")).join("\n");
}

/** A feature as rendered from its settings: pure data, what the tests run and compare. */
export interface RenderedFeature {
  script: string;
  /** Prints the observed state for refresh; none when there is nothing to observe. */
  checkScript?: string;
  deleteScript?: string;
  /** Exported to the scripts; never secret. */
  params: Record<string, string>;
  /** Secret shell variable of the script → the Pulumi secret config key (phoenix:<key>) its value comes from. */
  secretRefs: Record<string, string>;
  /**
   * The feature's declared time limit for its scripts, and its key under a machine's `timeouts` in the definition,
   * which overrides it. Without one, the engine's default applies (DEFAULT_SCRIPT_TIMEOUT).
   */
  timeout?: {
    seconds: number;
    key?: keyof Timeouts;
    /** Added to the limit, overridden or not (a step that enforces the limit itself needs a moment more). */
    grace?: number;
    /** The setting that changes it when it is not one of a machine's timeouts. */
    setting?: string;
  };
}

/** Where a feature's scripts run: a host over SSH, or an LXC container of that host (a Proxmox node) via `pct exec`. */
export interface FeatureTarget {
  connection: ConnectionInput;
  inContainer?: number;
  /** What identifies the machine's incarnation: when it changes, the machine was replaced and every step runs anew. */
  triggers?: unknown[];
  /** The machine ran before the stack (phoenix adopt): each step checks first and installs only what is missing. */
  adopt?: boolean;
  /** The machine's time limits from the definition (its `timeouts`), and where they are set, for messages. */
  timeouts?: { values: Timeouts; where: string };
}

/** A feature's time limit: the definition's override for it, else what the feature declares. */
export function timeoutOf(target: FeatureTarget, rendered: RenderedFeature): ScriptTimeout | undefined {
  const t = rendered.timeout;
  if (!t) return undefined;
  const grace = t.grace ?? 0;
  if (!t.key) return { seconds: t.seconds + grace, ...(t.setting ? { setting: t.setting } : {}) };
  const setting = `timeouts.${t.key}${target.timeouts ? ` of ${target.timeouts.where}` : ""}`;
  return { seconds: (target.timeouts?.values[t.key] ?? t.seconds) + grace, setting };
}

/** The name of the secret a setting references; definitions never hold secret values (validation rejects them). */
export function secretName(field: SecretRef | string | undefined, where: string): string | undefined {
  if (field === undefined) return undefined;
  if (typeof field === "string")
    throw new Error(`${where} holds a plaintext value: reference a secret instead, { secret: <name> }`);
  return field.secret;
}

/** Settings are checked by the schema; the plan hands them over untyped. */
export function settingsOf<T>(settings: unknown): T {
  return (settings ?? {}) as T;
}

export function featureResource(
  name: string,
  target: FeatureTarget,
  rendered: RenderedFeature,
  secrets: Record<string, pulumi.Input<string>>,
  opts: pulumi.CustomResourceOptions,
  /** Params known only at deployment (outputs of other resources). */
  extraParams: Record<string, pulumi.Input<string>> = {},
): RemoteScript {
  const missing = Object.values(rendered.secretRefs).filter((k) => secrets[k] === undefined);
  if (missing.length > 0)
    throw new Error(`${name}: secret ${missing.join(", ")} is not set: pulumi config set --secret phoenix:${missing[0]} …`);
  const secretValues = Object.fromEntries(
    Object.entries(rendered.secretRefs).map(([variable, key]) => [variable, secrets[key]!]),
  );
  const timeout = timeoutOf(target, rendered);
  return new RemoteScript(
    name,
    {
      connection: target.connection,
      ...(target.inContainer !== undefined ? { inContainer: target.inContainer } : {}),
      ...(target.triggers ? { triggers: target.triggers } : {}),
      ...(target.adopt ? { adopt: true } : {}),
      script: rendered.script,
      ...(rendered.checkScript !== undefined ? { checkScript: rendered.checkScript } : {}),
      ...(rendered.deleteScript !== undefined ? { deleteScript: rendered.deleteScript } : {}),
      params: { ...rendered.params, ...extraParams },
      ...(timeout ? { timeout } : {}),
      ...(Object.keys(secretValues).length > 0 ? { secrets: secretValues } : {}),
    },
    opts,
  );
}
