// Which Portainer agents each server registers as environments: plain data from the planned machines.
import { PORTAINER_PORTS } from "../definition/schema";
import type { PlannedMachine, PlannedPortainerServer } from "./types";

/** Servers with at least one agent. An agent names its server, or registers with the only one there is. */
export function portainerRegistrations(machines: readonly PlannedMachine[]): PlannedPortainerServer[] {
  const guests = machines.filter((m) => m.kind === "guest");
  const servers = guests.filter((m) => m.features.portainer?.role === "server");
  const byServer = new Map<string, PlannedPortainerServer["agents"]>();
  for (const m of guests) {
    const p = m.features.portainer;
    if (p?.role !== "agent") continue;
    const server = p.server ?? (servers.length === 1 ? servers[0]!.name : undefined);
    const address = m.network[0]?.ip.split("/")[0];
    // Validation reports both cases; the plan of a valid definition never meets them.
    if (!server || !address || address === "dhcp") continue;
    const agents = byServer.get(server) ?? [];
    agents.push({ name: m.name, url: `tcp://${address}:${p.port ?? PORTAINER_PORTS.agent}` });
    byServer.set(server, agents);
  }
  return servers
    .filter((s) => byServer.has(s.name))
    .map((s) => ({
      server: s.name,
      ...(s.features.portainer?.adminPassword !== undefined ? { adminPassword: s.features.portainer.adminPassword } : {}),
      agents: byServer.get(s.name)!.sort((a, b) => (a.name < b.name ? -1 : 1)),
    }));
}
