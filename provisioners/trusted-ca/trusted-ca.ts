// A CA's root certificate (the gateway's) in a guest's trust store, so its tools verify the gateway's certificates.
import type * as pulumi from "@pulumi/pulumi";
import type { RemoteScript } from "../engine/script-provider";
import { type FeatureTarget, type RenderedFeature, featureResource, scriptOf } from "../engine/feature";

/** Where Debian's update-ca-certificates takes local CAs from; the name says whose it is. */
export const TRUSTED_CA_FILE = "/usr/local/share/ca-certificates/phoenix-gateway.crt";

/** How long installing ca-certificates (when missing) and updating the store may take. */
export const TRUSTED_CA_TIMEOUT_SECONDS = 300;

/** The step's scripts; the PEM itself is known only once the gateway ran (a param given at deployment). */
export function renderTrustedCa(): RenderedFeature {
  return {
    script: scriptOf("trusted-ca/trusted-ca.sh"),
    checkScript: scriptOf("trusted-ca/trusted-ca-check.sh"),
    deleteScript: scriptOf("trusted-ca/trusted-ca-delete.sh"),
    params: { TRUSTED_CA_FILE },
    secretRefs: {},
    timeout: { seconds: TRUSTED_CA_TIMEOUT_SECONDS, setting: "the trusted CA step's limit" },
  };
}

/** A PEM as the script gets it: one certificate, nothing around it (a shell-safe param, checked here). */
export function certificatePem(pem: string): string {
  const m = /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?$/.exec(pem);
  if (!m) throw new Error("the gateway's CA root is not one PEM certificate");
  return pem.endsWith("\n") ? pem : `${pem}\n`;
}

export function trustedCa(
  name: string,
  target: FeatureTarget,
  pem: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  return featureResource(name, target, renderTrustedCa(), {}, opts, { TRUSTED_CA_PEM: pem });
}
