// Where each app runs and how it gets there: plain data from the definition and the planned machines.
import { type App, PORTAINER_PORTS, type SecretRef } from "../definition/schema";
import type { PlannedApp, PlannedMachine } from "./types";

/** The guest's first address, when the plan knows it. */
const addressOf = (m: PlannedMachine | undefined) => {
  const ip = m?.network[0]?.ip.split("/")[0];
  return ip && ip !== "dhcp" ? ip : undefined;
};

export function planApps(apps: readonly App[], machines: readonly PlannedMachine[]): PlannedApp[] {
  const guests = new Map(machines.filter((m) => m.kind === "guest").map((m) => [m.name, m]));
  const servers = [...guests.values()].filter((m) => m.features.portainer?.role === "server");
  return apps.map((a) => ({
    name: a.name,
    ...(a.description ? { description: a.description } : {}),
    compose: a.compose,
    deploy: a.deploy,
    variables: Object.fromEntries(
      Object.entries(a.variables).map(([k, v]) => [k, typeof v === "object" ? (v as SecretRef) : String(v)]),
    ),
    files: a.files.map((f) => ({ template: f.template, path: f.path, ...(f.mode ? { mode: f.mode } : {}) })),
    volumes: a.volumes,
    externalVolumes: a.externalVolumes,
    removeVolumes: a.removeVolumes,
    targets: a.guests.map((g) => {
      const m = guests.get(g)!;
      const agent = m.features.portainer;
      const server =
        a.deploy === "portainer" && agent?.role === "agent"
          ? (agent.server ?? (servers.length === 1 ? servers[0]!.name : undefined))
          : undefined;
      const address = addressOf(m);
      return {
        guest: g,
        vmid: m.vmid,
        ...(address ? { address } : {}),
        ...(server
          ? {
              portainer: {
                server,
                environment: g,
                adminPassword: guests.get(server)?.features.portainer?.adminPassword ?? "",
                agentPort: agent?.port ?? PORTAINER_PORTS.agent,
              },
            }
          : {}),
      };
    }),
  }));
}
