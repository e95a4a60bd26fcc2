// The HTTPS gateway in a guest: Debian's Caddy with one site per exposed service, certificates from its internal CA.
import type * as pulumi from "@pulumi/pulumi";
import type { RemoteScript } from "../engine/script-provider";
import { type FeatureTarget, type RenderedFeature, featureResource, scriptOf } from "../engine/feature";
import { parseIp } from "../../definition/ipv4";
import { isFqdn } from "../../definition/grammar";

/** One site: https://<fqdn> → <scheme>://<address>:<port>. */
export interface GatewayRoute {
  fqdn: string;
  address: string;
  port: number;
  scheme: "http" | "https";
}

/** How long the gateway step may take: Caddy's install through the apt proxy and its first start. */
export const GATEWAY_TIMEOUT_SECONDS = 600;

/** Where Debian's caddy (user caddy, home /var/lib/caddy) keeps its internal CA's root certificate. */
export const CADDY_ROOT_CERT = "/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt";

/**
 * The Caddyfile, as `caddy fmt` writes it: the local CA declared even with no site (so its root exists from the first
 * run), never installed into Caddy's own trust store (Phoenix installs it where it is wanted), and a site per route.
 * An https upstream is the guest's own service, usually with a self-signed certificate: it is not verified.
 */
export function renderCaddyfile(routes: readonly GatewayRoute[]): string {
  const sites = [...routes]
    .sort((a, b) => (a.fqdn < b.fqdn ? -1 : a.fqdn > b.fqdn ? 1 : 0))
    .map((r) => {
      // Validation holds these to names, addresses and ports; anything else here is a bug, not input to quote.
      if (!isFqdn(r.fqdn) || parseIp(r.address) === undefined || !Number.isInteger(r.port) || r.port < 1 || r.port > 65535)
        throw new Error(`gateway route ${JSON.stringify(r)} is not a name, an IPv4 address and a port`);
      const upstream = `${r.scheme}://${r.address}:${r.port}`;
      const proxy =
        r.scheme === "https"
          ? [`\treverse_proxy ${upstream} {`, "\t\ttransport http {", "\t\t\ttls_insecure_skip_verify", "\t\t}", "\t}"]
          : [`\treverse_proxy ${upstream}`];
      return [`${r.fqdn} {`, "\ttls internal", ...proxy, "}"].join("\n");
    });
  const global = [
    "{",
    "\tskip_install_trust",
    "\tpki {",
    "\t\tca local {",
    '\t\t\tname "Phoenix gateway CA"',
    "\t\t}",
    "\t}",
    "}",
  ];
  return [global.join("\n"), ...sites].join("\n\n") + "\n";
}

export function renderGateway(routes: readonly GatewayRoute[]): RenderedFeature {
  return {
    script: scriptOf("gateway/gateway.sh"),
    checkScript: scriptOf("gateway/gateway-check.sh"),
    deleteScript: scriptOf("gateway/gateway-delete.sh"),
    params: { GATEWAY_CADDYFILE: renderCaddyfile(routes), GATEWAY_ROOT_CERT: CADDY_ROOT_CERT },
    secretRefs: {},
    timeout: { seconds: GATEWAY_TIMEOUT_SECONDS, setting: "the gateway step's limit" },
  };
}

/** The first PEM certificate in a check's output: the CA root the check prints ("" when there is none yet). */
export function rootCertificateOf(checkOutput: string | undefined): string {
  const m = /-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+?-----END CERTIFICATE-----\n?/.exec(checkOutput ?? "");
  return m ? m[0].replace(/\n?$/, "\n") : "";
}

export function gateway(
  name: string,
  target: FeatureTarget,
  routes: readonly GatewayRoute[],
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  return featureResource(name, target, renderGateway(routes), {}, opts);
}
