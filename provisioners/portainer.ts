// Portainer server or agent as a Docker container in a guest.
import type * as pulumi from "@pulumi/pulumi";
import type { RemoteScript } from "./engine/script-provider";
import { type FeatureTarget, type RenderedFeature, featureResource, scriptOf, secretName } from "./feature-script";
import type { SecretRef } from "../stacks/schema";

export interface PortainerSettings {
  role: "server" | "agent";
  image?: string;
  port?: number;
  adminPassword?: SecretRef | string;
  server?: string;
}

export const PORTAINER_DEFAULTS = {
  server: { image: "portainer/portainer-ce:lts", port: 9443, container: "portainer" },
  agent: { image: "portainer/agent:lts", port: 9001, container: "portainer_agent" },
} as const;

export function renderPortainer(s: PortainerSettings): RenderedFeature {
  const d = PORTAINER_DEFAULTS[s.role];
  const password = s.role === "server" ? secretName(s.adminPassword, "portainer.adminPassword") : undefined;
  return {
    script: scriptOf("portainer.sh"),
    checkScript: scriptOf("portainer-check.sh"),
    params: {
      PORTAINER_ROLE: s.role,
      PORTAINER_IMAGE: s.image ?? d.image,
      PORTAINER_PORT: String(s.port ?? d.port),
      PORTAINER_NAME: d.container,
    },
    secretRefs: password ? { PORTAINER_ADMIN_PASSWORD: password } : {},
  };
}

export function portainer(
  name: string,
  target: FeatureTarget,
  settings: PortainerSettings,
  secrets: Record<string, pulumi.Input<string>>,
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  return featureResource(name, target, renderPortainer(settings), secrets, opts);
}
