// The HTTPS gateway plan (issue 17): the guest running Caddy, a route per exposed service, and who trusts its CA.
import type { Index } from "../definition/resolve";
import type { PlannedApp, PlannedMachine } from "./types";
import { firstAddressOf } from "./addresses";

export interface PlannedRoute {
  /** The service's name: https://<name>.<domain>. */
  name: string;
  fqdn: string;
  /** The guest offering it, and the app when an app exposes it. */
  guest: string;
  app?: string;
  address: string;
  port: number;
  scheme: "http" | "https";
}

export interface PlannedGateway {
  guest: string;
  vmid: number;
  node: string;
  address: string;
  domain: string;
  routes: PlannedRoute[];
  /** Guests whose trust store gets the CA's root. */
  trustedBy: string[];
}

/**
 * The gateway of a definition with gateway: (validation made sure of network.domain, the guest and its address).
 * Routes are sorted by name; guests' exposes come first in the definition, apps' after, names being unique.
 */
export function planGateway(
  ix: Index,
  machines: readonly PlannedMachine[],
  apps: readonly PlannedApp[],
): PlannedGateway | undefined {
  const gw = ix.def.gateway;
  const domain = ix.def.network.domain;
  if (!gw || !domain) return undefined;
  const guests = new Map(machines.filter((m) => m.kind === "guest").map((m) => [m.name, m]));
  const host = guests.get(gw.guest);
  const address = firstAddressOf(host);
  if (!host || !address) throw new Error(`gateway.guest '${gw.guest}' is not a guest with a known address`);
  const routes: PlannedRoute[] = [];
  const route = (name: string, port: number, scheme: "http" | "https", guest: string, app?: string) => {
    const upstream = firstAddressOf(guests.get(guest));
    if (!upstream) throw new Error(`exposed '${name}': guest '${guest}' has no known address`);
    routes.push({ name, fqdn: `${name}.${domain}`, guest, ...(app ? { app } : {}), address: upstream, port, scheme });
  };
  for (const g of ix.def.guests) for (const e of g.expose) route(e.name, e.port, e.scheme, g.name);
  for (const a of ix.def.apps) {
    const planned = apps.find((p) => p.name === a.name);
    const target = planned?.targets[0]?.guest ?? a.guests[0]!;
    for (const e of a.expose) route(e.name, e.port, e.scheme, target, a.name);
  }
  routes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // A VM's steps run over SSH with the definition's private key: without one nothing reaches its trust store.
  const reachable = (m: PlannedMachine) =>
    m.type === "lxc" || (ix.def.access.sshPrivateKey !== undefined && firstAddressOf(m) !== undefined);
  const trustedBy = gw.trustInGuests
    ? [...guests.values()]
        .filter(reachable)
        .map((m) => m.name)
        .sort()
    : [];
  return { guest: host.name, vmid: host.vmid, node: host.node, address, domain, routes, trustedBy };
}
