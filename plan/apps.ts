// Where each app runs and how it gets there: plain data from the definition and the planned machines.
import { type App, type EndpointRef, PORTAINER_PORTS } from "../definition/schema";
import { type ServingService, servingEndpoints } from "../definition/serving";
import type { PlannedApp, PlannedMachine } from "./types";
import { firstAddressOf as addressOf } from "./addresses";

/** An { endpoint } variable as the URL the plan gives that guest's model server (validation made sure there is one). */
function endpointOf(ref: EndpointRef, machines: ReadonlyMap<string, PlannedMachine>, where: string) {
  const m = machines.get(ref.endpoint);
  const address = addressOf(m);
  const urls = m && address ? servingEndpoints(m.features, address) : {};
  const services = Object.keys(urls) as ServingService[];
  const service = ref.service ?? (services.length === 1 ? services[0] : undefined);
  const url = service ? urls[service] : undefined;
  if (!service || !url)
    throw new Error(`${where}: guest '${ref.endpoint}' has no ${ref.service ?? "model server"} at a known address`);
  return { guest: ref.endpoint, service, url };
}

function variablesOf(a: App, guests: ReadonlyMap<string, PlannedMachine>): Pick<PlannedApp, "variables" | "endpoints"> {
  const endpoints: PlannedApp["endpoints"] = {};
  const variables: PlannedApp["variables"] = {};
  for (const [k, v] of Object.entries(a.variables)) {
    if (typeof v !== "object") variables[k] = String(v);
    else if ("endpoint" in v) {
      endpoints[k] = endpointOf(v, guests, `app '${a.name}' variable ${k}`);
      variables[k] = endpoints[k]!.url;
    } else variables[k] = v;
  }
  return { variables, endpoints };
}

export function planApps(apps: readonly App[], machines: readonly PlannedMachine[]): PlannedApp[] {
  const guests = new Map(machines.filter((m) => m.kind === "guest").map((m) => [m.name, m]));
  const servers = [...guests.values()].filter((m) => m.features.portainer?.role === "server");
  return apps.map((a) => ({
    name: a.name,
    ...(a.description ? { description: a.description } : {}),
    compose: a.compose,
    deploy: a.deploy,
    ...variablesOf(a, guests),
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
