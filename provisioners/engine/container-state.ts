// Whether a node's container can run scripts: the engine asks the node before touching a container's step.
import { type ScriptTimeout, runScript } from "./run-script";
import type { Session } from "./ssh";

/** The engine's own short probe gets a short limit. */
const PROBE_TIMEOUT: ScriptTimeout = { seconds: 60 };

/**
 * Whether scripts can run in the target: always for a host; for a container of the node, "template" once it was
 * frozen (Proxmox templates never start) and "absent" once it is gone.
 */
export async function containerState(s: Session, vmid: number | undefined): Promise<"live" | "template" | "absent"> {
  if (vmid === undefined) return "live";
  const r = await runScript(
    s,
    'conf=$(pct config "$VMID" 2>/dev/null) || { echo absent; exit 0; }; grep -qx "template: 1" <<<"$conf" && echo template || echo live',
    {
      env: { VMID: String(vmid) },
      title: "container state",
      timeout: PROBE_TIMEOUT,
      allowFailure: true,
    },
  );
  const state = r.stdout.trim();
  return state === "template" || state === "absent" ? state : "live";
}
