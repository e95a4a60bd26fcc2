// The HTTPS gateway plan (issue 17): the guest running Caddy, a route per exposed service, and who trusts its CA.
import type { Index } from "../definition/resolve";
import type { PlannedApp, PlannedMachine } from "./types";

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

/** The gateway of a definition with gateway:. */
export function planGateway(
  _ix: Index,
  _machines: readonly PlannedMachine[],
  _apps: readonly PlannedApp[],
): PlannedGateway | undefined {
  return undefined; // skeleton: filled in by the gateway work of issue 17
}
