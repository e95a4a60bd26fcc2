// A guest's own script from the repository (the original's phoenix_hypervisor_setup_<id>.sh), re-run when it changes.
import type * as pulumi from "@pulumi/pulumi";
import type { RemoteScript } from "../engine/script-provider";
import { type FeatureTarget, type RenderedFeature, featureResource } from "../engine/feature";
import { requireProjectFile } from "../../definition/files";

/** How long a custom script may run (override: timeouts.script). */
export const SCRIPT_TIMEOUT_SECONDS = 1800;

export interface ScriptSettings {
  /** Relative to the definition file. */
  path: string;
  env: Record<string, string>;
}

/**
 * The script runs as written (its content is the content hash, so an edit re-runs it); env becomes its params. The
 * file is read through the definition's resolver: inside the definition's directory, or refused.
 */
export function renderCustomScript(s: ScriptSettings, definitionDir: string): RenderedFeature {
  const text = requireProjectFile(definitionDir, s.path, "features.script.path");
  // No check script: a custom script's effects are its own, so refresh has nothing to compare.
  return {
    script: text,
    params: { ...(s.env ?? {}) },
    secretRefs: {},
    timeout: { seconds: SCRIPT_TIMEOUT_SECONDS, key: "script" },
  };
}

export function customScript(
  name: string,
  target: FeatureTarget,
  settings: ScriptSettings,
  definitionDir: string,
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  return featureResource(name, target, renderCustomScript(settings, definitionDir), {}, opts);
}
