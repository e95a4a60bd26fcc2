// The lab's bridge, named as in the definition (vmbr0 …) and holding the declared gateway address.
import { ok, run } from "./run";

export function bridgeExists(name: string): boolean {
  return ok("ip", ["link", "show", "dev", name]);
}

export function ensureBridge(name: string, gatewayCidr: string): void {
  if (!bridgeExists(name)) run("ip", ["link", "add", "name", name, "type", "bridge"]);
  const addrs = run("ip", ["-o", "-4", "addr", "show", "dev", name]).stdout;
  if (!addrs.includes(` ${gatewayCidr} `)) run("ip", ["addr", "add", gatewayCidr, "dev", name]);
  run("ip", ["link", "set", "dev", name, "up"]);
}

export function removeBridge(name: string): void {
  if (bridgeExists(name)) run("ip", ["link", "del", "dev", name]);
}
