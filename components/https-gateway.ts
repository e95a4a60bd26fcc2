// The HTTPS gateway: Caddy in its guest with a site per exposed service, then its CA root in the trusting guests.
import * as pulumi from "@pulumi/pulumi";
import type { PlannedGateway } from "../plan/gateway";
import type { FeatureTarget } from "../provisioners/engine/feature";
import type { RemoteScript } from "../provisioners/engine/script-provider";
import { gateway, rootCertificateOf } from "../provisioners/gateway/gateway";
import { certificatePem, trustedCa } from "../provisioners/trusted-ca/trusted-ca";

/** Where a guest's steps run, what must exist first there, and what a new incarnation of it is. */
export interface GatewayGuest {
  target: FeatureTarget;
  dependsOn: pulumi.Resource[];
  replaceWith: pulumi.Resource[];
}

export interface HttpsGatewayArgs {
  gateway: PlannedGateway;
  /** Every guest the gateway runs in or is trusted by, by name. */
  guests: ReadonlyMap<string, GatewayGuest>;
}

export class HttpsGateway extends pulumi.ComponentResource {
  /** The internal CA's root (PEM): what a browser or client outside the guests imports to trust the gateway. */
  readonly caCertificate: pulumi.Output<string>;
  /** https://<fqdn>/ per route, by route name. */
  readonly urls: Record<string, string>;
  readonly steps: RemoteScript[] = [];

  constructor(name: string, args: HttpsGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:HttpsGateway", name, {}, opts);
    const g = args.gateway;
    const guestOf = (n: string) => {
      const x = args.guests.get(n);
      if (!x) throw new Error(`gateway: guest '${n}' has no provisioning target`);
      return x;
    };
    const host = guestOf(g.guest);
    const caddy = gateway(`${name}-caddy`, host.target, g.routes, {
      parent: this,
      dependsOn: host.dependsOn,
      replaceWith: host.replaceWith,
      deleteBeforeReplace: true,
    });
    this.steps.push(caddy);
    this.caCertificate = caddy.checkOutput.apply((out) => rootCertificateOf(out));
    const pem = this.caCertificate.apply((c) => certificatePem(c));
    for (const n of g.trustedBy) {
      const guest = guestOf(n);
      this.steps.push(
        trustedCa(`${name}-ca-in-${n}`, guest.target, pem, {
          parent: this,
          dependsOn: [caddy, ...guest.dependsOn],
          replaceWith: guest.replaceWith,
          deleteBeforeReplace: true,
        }),
      );
    }
    this.urls = Object.fromEntries(g.routes.map((r) => [r.name, `https://${r.fqdn}/`]));
    this.registerOutputs({ caCertificate: this.caCertificate, urls: this.urls });
  }
}
