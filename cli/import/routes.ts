// The original's routes through Traefik (guests' traefik_service, the stacks' Traefik labels, the traefik and
// trusted_ca features) → expose on guests and apps and the definition's HTTPS gateway.
import type { z } from "zod";
import type { ComposeDoc } from "../../definition/compose";
import { services } from "../../definition/compose";
import type { Expose } from "../../definition/network-services-schema";
import type { DefinitionInput } from "../../definition/schema";
import type { MachineSource } from "./machines";
import type { Reader, Warnings } from "./reader";

type ExposeInput = z.input<typeof Expose>;
type GuestInput = NonNullable<DefinitionInput["guests"]>[number];
type GatewayInput = NonNullable<DefinitionInput["gateway"]>;

const HTTPS_PORTS = new Set([443, 8443, 9443]);
/** Services known to speak only HTTPS on their port: step-ca, the Portainer agent. */
const HTTPS_SERVICES = new Set(["ca", "step-ca", "portainer-agent"]);

function schemeOf(name: string, port: number): "http" | "https" {
  return HTTPS_PORTS.has(port) || HTTPS_SERVICES.has(name) ? "https" : "http";
}

/** A DNS label from a service name (granite_3b → granite-3b), with a warning when it had to change. */
function label(raw: string, where: string, w: Warnings): string | undefined {
  const l = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  if (!l) {
    w.add(where, `'${raw}' makes no DNS name; not exposed`, "add an expose entry by hand");
    return undefined;
  }
  if (l !== raw) w.add(where, `service name '${raw}' exposed as '${l}' (a DNS label)`);
  return l;
}

/** A guest's traefik_service {name, port} → its expose entry. */
export function readGuestExpose(r: Reader, guest: GuestInput, w: Warnings): void {
  const ts = r.obj("traefik_service");
  if (!ts) return;
  const port = ts.num("port");
  const raw = ts.str("name") ?? guest.name;
  const name = label(raw, ts.where("name"), w);
  const scheme = ts.str("scheme")?.toLowerCase();
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535)
    return void w.add(ts.where("port"), "no valid port; not exposed", "add an expose entry by hand");
  if (!name) return;
  // <guest>.<domain> is the guest's own name in the DNS: the service, reached through the gateway, needs another.
  const routed = name === guest.name ? `${name}-web` : name;
  if (routed !== name)
    w.add(ts.where("name"), `service '${name}' exposed as '${routed}': '${name}.<domain>' names the guest itself`);
  guest.expose = [
    ...(guest.expose ?? []),
    { name: routed, port, scheme: scheme === "http" || scheme === "https" ? scheme : schemeOf(name, port) },
  ];
}

/** The gateway: the guest with the traefik feature; trusted_ca on guests → trustInGuests. */
export function readGateway(sources: MachineSource[], w: Warnings): GatewayInput | undefined {
  const guests = sources.filter((s) => !s.template);
  const traefik = guests.filter((s) => s.features.includes("traefik"));
  const trusted = guests.filter((s) => s.features.includes("trusted_ca"));
  if (traefik.length === 0) {
    for (const s of trusted)
      w.add(s.r.where("features"), "feature 'trusted_ca' not mapped: no gateway (no guest with traefik) issues certificates");
    return undefined;
  }
  const gw = traefik[0]!;
  w.add(
    gw.r.where("features"),
    `'${gw.name}' (traefik) is the gateway's guest: Phoenix's gateway (Caddy, with its own CA) takes the place of Traefik and step-ca`,
  );
  for (const s of traefik.slice(1))
    w.add(s.r.where("features"), `a second traefik guest '${s.name}': the definition has one gateway ('${gw.name}')`);
  const gateway: GatewayInput = { guest: gw.name, trustInGuests: trusted.length > 0 };
  const untrusting = guests.filter((s) => !s.features.includes("trusted_ca"));
  if (trusted.length > 0 && untrusting.length > 0)
    w.add(
      trusted[0]!.r.where("features"),
      `trusted_ca → gateway.trustInGuests: every guest trusts the gateway's CA, also ${untrusting.map((s) => s.name).join(", ")}, which had no trusted_ca`,
    );
  return gateway;
}

const IGNORED = /^traefik\.(enable|http\.routers\.[^.]+\.(entrypoints|tls|tls\.certresolver|service))$/;

/** One host port the compose file publishes for a container port of a service, or why there is none. */
function published(doc: ComposeDoc, svc: string, target: number): number | string {
  const ports = services(doc)[svc]?.ports;
  for (const p of Array.isArray(ports) ? ports : []) {
    if (p && typeof p === "object" && Number((p as { target?: unknown }).target) === target) {
      const pub = Number((p as { published?: unknown }).published);
      return Number.isInteger(pub) ? pub : `port ${target} is published at no fixed host port`;
    }
    const parts = String(p).split("/")[0]!.split(":");
    if (Number(parts[parts.length - 1]) !== target) continue;
    const host = parts.length === 1 ? target : Number(parts[parts.length - 2]);
    return Number.isInteger(host) ? host : `port ${target} is published at '${parts[parts.length - 2]}', not a number`;
  }
  return `services.${svc} publishes no port ${target}`;
}

/**
 * A stack's Traefik labels → the app's expose: Host(`<name>.<domain>`) of a router, on the host port that publishes
 * the load balancer's port. TLS settings are the gateway's own; other labels are reported.
 */
export function exposeFromLabels(
  labels: Record<string, string[]>,
  doc: ComposeDoc,
  domain: string | undefined,
  where: string,
  w: Warnings,
): ExposeInput[] {
  const out: ExposeInput[] = [];
  for (const [svc, list] of Object.entries(labels)) {
    const at = `${where}.services.${svc}.traefik_labels`;
    const hosts: string[] = [];
    const ports: number[] = [];
    let scheme: string | undefined;
    for (const l of list) {
      const [key = "", ...rest] = l.split("=");
      const value = rest.join("=");
      if (/^traefik\.http\.routers\.[^.]+\.rule$/.test(key)) for (const m of value.matchAll(/`([^`]+)`/g)) hosts.push(m[1]!);
      else if (/^traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port$/.test(key)) ports.push(Number(value));
      else if (/^traefik\.http\.services\.[^.]+\.loadbalancer\.server\.scheme$/.test(key)) scheme = value;
      else if (!IGNORED.test(key)) w.add(at, `label '${l}' not mapped: the gateway has no equivalent`);
    }
    if (hosts.length === 0) continue;
    const target = ports[0];
    if (target === undefined || !Number.isInteger(target)) {
      w.add(at, `no loadbalancer.server.port label for ${hosts.join(", ")}; not exposed`, "add an expose entry by hand");
      continue;
    }
    const port = published(doc, svc, target);
    if (typeof port === "string") {
      w.add(at, `${hosts.join(", ")} not exposed: ${port}`, "publish the port in the compose file, then add expose by hand");
      continue;
    }
    for (const host of hosts) {
      const inDomain = domain !== undefined && host.endsWith(`.${domain}`);
      const prefix = inDomain ? host.slice(0, -domain.length - 1) : host.split(".")[0]!;
      if (!inDomain || prefix.includes("."))
        w.add(at, `Host ${host} is not <name>.${domain ?? "<domain>"}; exposed as '${prefix.split(".")[0]}.<domain>'`);
      const name = label(prefix.split(".")[0]!, at, w);
      if (!name || out.some((e) => e.name === name)) continue;
      const sc = scheme === "http" || scheme === "https" ? scheme : schemeOf(name, port);
      out.push({ name, port, scheme: sc });
    }
  }
  return out;
}
