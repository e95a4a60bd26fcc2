// Docker's daemon.json, as the docker and nvidia-container-toolkit features both write it (the same bytes for the same
// settings): here, as a feature never imports another feature.
import { canonicalJson } from "../../definition/hash";

/** What nvidia-ctk adds to daemon.json for Docker's nvidia runtime. */
export const NVIDIA_RUNTIME = { path: "nvidia-container-runtime", args: [] as string[] };

/** daemon.json as written: keys sorted, so the same settings always give the same bytes. */
export function daemonJson(daemon: Record<string, unknown>): string {
  return JSON.stringify(JSON.parse(canonicalJson(daemon)), null, 2);
}

/** The same settings plus the nvidia runtime (for guests that also have nvidia-container-toolkit). */
export function daemonJsonWithNvidia(daemon: Record<string, unknown>): string {
  const runtimes = (daemon["runtimes"] ?? {}) as Record<string, unknown>;
  return daemonJson({ ...daemon, runtimes: { ...runtimes, nvidia: NVIDIA_RUNTIME } });
}
