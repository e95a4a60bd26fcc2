// The part of /status/current that containers and VMs share: what the guest's runtime says, and the
// I/O counters the lab does not measure (Proxmox reports them; the provider only needs them present).
import type { GuestRuntime } from "../pve/backend";

export function runtimeStatus(rt: GuestRuntime): Record<string, unknown> {
  return {
    status: rt.status,
    uptime: rt.status === "running" ? (rt.uptime ?? 0) : 0,
    cpu: rt.cpu ?? 0,
    mem: rt.mem ?? 0,
    disk: 0,
    netin: 0,
    netout: 0,
    diskread: 0,
    diskwrite: 0,
    ha: { managed: 0 },
    ...(rt.pid !== undefined ? { pid: rt.pid } : {}),
  };
}
