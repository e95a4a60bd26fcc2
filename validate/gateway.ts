// Cross-field checks of the HTTPS gateway and the services exposed through it, before anything is touched.
import { readProjectFile } from "../definition/files";
import { parseCompose, publishedPorts, services } from "../definition/compose";
import { type Problem, error, warning } from "../definition/problems";
import type { Index } from "../definition/resolve";
import type { App, Guest } from "../definition/schema";

/** One exposed service: where it is declared and the guest that offers it. */
interface Exposed {
  name: string;
  port: number;
  path: string;
  guest: string;
}

/**
 * The gateway needs network.domain and a guest of this definition with a known address; exposed names are unique
 * (they become <name>.<domain>). An app exposes its services on one guest only: on several, each guest's service would
 * want the same name, so the definition must name them apart (guests[].expose) or run the app on one guest.
 */
export function checkGateway(ix: Index, opts: { dir?: string } = {}): Problem[] {
  const out: Problem[] = [];
  const def = ix.def;
  const gw = def.gateway;
  if (gw) {
    if (!def.network.domain)
      out.push(
        error(
          "gateway",
          "the gateway names each service <name>.<domain>, but network.domain is not set",
          "set network.domain, e.g. lab.internal",
        ),
      );
    checkGatewayGuest(ix, out);
  }
  const exposed: Exposed[] = [];
  def.guests.forEach((g, i) => {
    g.expose.forEach((e, k) => exposed.push({ name: e.name, port: e.port, path: `guests[${i}].expose[${k}]`, guest: g.name }));
    if (g.expose.length > 0 && firstAddress(g) === "dhcp")
      out.push(
        error(
          `guests[${i}].expose`,
          `guest '${g.name}' takes its address by DHCP: the gateway cannot know where to send its services' traffic`,
          'give its first interface a static address or ip: "auto" (from a pool)',
        ),
      );
  });
  def.apps.forEach((a, i) => {
    if (a.expose.length === 0) return;
    if (a.guests.length > 1) {
      out.push(
        error(
          `apps[${i}].expose`,
          `app '${a.name}' runs on ${a.guests.length} guests (${a.guests.join(", ")}), and each exposed name is one route to one guest`,
          "run the app on one guest, or expose it from each guest under its own name (guests[].expose with distinct names)",
        ),
      );
      return;
    }
    const guest = a.guests[0]!;
    a.expose.forEach((e, k) => exposed.push({ name: e.name, port: e.port, path: `apps[${i}].expose[${k}]`, guest }));
    const g = def.guests.find((x) => x.name === guest);
    if (g && firstAddress(g) === "dhcp")
      out.push(
        error(
          `apps[${i}].expose`,
          `app '${a.name}' runs on '${guest}', which takes its address by DHCP: the gateway cannot know where to send its traffic`,
          `give guest '${guest}' a static address or ip: "auto" (from a pool)`,
        ),
      );
    checkAppPorts(a, `apps[${i}]`, opts.dir, out);
  });
  const seen = new Map<string, Exposed>();
  for (const e of exposed) {
    const first = seen.get(e.name);
    if (first)
      out.push(
        error(
          `${e.path}.name`,
          `'${e.name}' is exposed by ${first.path} (guest '${first.guest}') too: each name is one https://<name>.<domain>`,
          "give each exposed service its own name",
        ),
      );
    else seen.set(e.name, e);
  }
  if (!gw && exposed.length > 0)
    out.push(
      warning(
        exposed[0]!.path,
        `${exposed.length} exposed service(s) (${exposed.map((e) => e.name).join(", ")}) but no gateway: nothing routes them`,
        "add gateway: { guest: <a guest of this definition> }, or remove expose",
      ),
    );
  return out;
}

function checkGatewayGuest(ix: Index, out: Problem[]) {
  const gw = ix.def.gateway!;
  const m = ix.byName.get(gw.guest);
  const names = ix.def.guests.map((g) => g.name).join(", ");
  if (!m || m.kind !== "guest") {
    out.push(
      error(
        "gateway.guest",
        m ? `'${gw.guest}' is a golden template; the gateway runs in a guest` : `no guest is named '${gw.guest}'`,
        names ? `name one of the guests: ${names}` : "declare a guest under guests and name it here",
      ),
    );
    return;
  }
  const g = m.def as Guest;
  if (firstAddress(g) === "dhcp")
    out.push(
      error(
        "gateway.guest",
        `guest '${g.name}' takes its address by DHCP: the services' names must point at a known address`,
        'give its first interface a static address or ip: "auto" (from a pool)',
      ),
    );
  if (m.type === "vm" && !ix.def.access.sshPrivateKey)
    out.push(
      error(
        "gateway.guest",
        `guest '${g.name}' is a VM: Caddy is installed in it over SSH, with a key the definition does not give`,
        "set access.sshPrivateKey to the secret holding the private half of one of access.sshKeys",
      ),
    );
}

const firstAddress = (g: Guest) => g.network[0]?.ip ?? "dhcp";

/** An app's exposed port is one its compose file publishes on the guest (skipped when that cannot be known). */
function checkAppPorts(a: App, path: string, dir: string | undefined, out: Problem[]) {
  if (dir === undefined) return;
  const read = readProjectFile(dir, a.compose);
  if (!read.ok) return; // checkApps says what is wrong with the file
  const { doc } = parseCompose(read.text);
  if (!doc || typeof doc.services !== "object" || doc.services === null) return;
  // Host networking publishes whatever the service listens on: nothing to compare with.
  if (Object.values(services(doc)).some((s) => s.network_mode === "host")) return;
  const plain = (n: string) => {
    const v = a.variables[n];
    return v === undefined || typeof v === "object" ? undefined : String(v);
  };
  const { ports, unresolved } = publishedPorts(doc, plain);
  if (unresolved.length > 0) return;
  a.expose.forEach((e, k) => {
    if (ports.some((p) => p.protocol === "tcp" && p.first <= e.port && e.port <= p.last && p.hostIp === "")) return;
    const listed = ports
      .filter((p) => p.protocol === "tcp")
      .map((p) => (p.first === p.last ? `${p.first}` : `${p.first}-${p.last}`));
    out.push(
      error(
        `${path}.expose[${k}].port`,
        `${a.compose} publishes no TCP port ${e.port} on all of the guest's addresses${listed.length ? ` (it publishes ${listed.join(", ")})` : ""}`,
        `expose one of the published ports, or publish ${e.port} in the compose file (ports: ["${e.port}:<container port>"])`,
      ),
    );
  });
}
