// Portainer server or agent as a Docker container in a guest.
import type * as pulumi from "@pulumi/pulumi";
import type { RemoteScript } from "../engine/script-provider";
import { type FeatureTarget, type RenderedFeature, featureResource, scriptOf, secretName } from "../engine/feature";
import { IMAGE_REF_FIX, isImageRef } from "../../definition/formats";
import { PORTAINER_PORTS, type SecretRef } from "../../definition/schema";

export interface PortainerSettings {
  role: "server" | "agent";
  image?: string;
  port?: number;
  adminPassword?: SecretRef | string;
  server?: string;
}

/** How long a Portainer step may take: an image pull and the server's first start (override: timeouts.portainer). */
export const PORTAINER_TIMEOUT_SECONDS = 900;

export const PORTAINER_DEFAULTS = {
  server: { image: "portainer/portainer-ce:lts", port: PORTAINER_PORTS.server, container: "portainer" },
  agent: { image: "portainer/agent:lts", port: PORTAINER_PORTS.agent, container: "portainer_agent" },
} as const;

export function renderPortainer(s: PortainerSettings): RenderedFeature {
  const d = PORTAINER_DEFAULTS[s.role];
  const password = s.role === "server" ? secretName(s.adminPassword, "portainer.adminPassword") : undefined;
  const image = s.image ?? d.image;
  // It becomes `docker run`'s image argument: a value starting with '-' would be read as a flag.
  if (!isImageRef(image)) throw new Error(`portainer image ${JSON.stringify(image)} is not an image reference: ${IMAGE_REF_FIX}`);
  return {
    script: scriptOf("portainer/portainer-lib.sh", "portainer/portainer.sh"),
    checkScript: scriptOf("portainer/portainer-check.sh"),
    params: {
      PORTAINER_ROLE: s.role,
      PORTAINER_IMAGE: image,
      PORTAINER_PORT: String(s.port ?? d.port),
      PORTAINER_NAME: d.container,
    },
    secretRefs: password ? { PORTAINER_ADMIN_PASSWORD: password } : {},
    timeout: { seconds: PORTAINER_TIMEOUT_SECONDS, key: "portainer" },
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

export interface PortainerAgentEndpoint {
  /** The agent's guest: the environment's name in Portainer. */
  name: string;
  /** tcp://address:port */
  url: string;
}

/** The server's environments for its agents; runs in the server's guest once the agents run. */
export function renderPortainerEndpoints(
  adminPassword: SecretRef | string | undefined,
  agents: PortainerAgentEndpoint[],
): RenderedFeature {
  const password = secretName(adminPassword, "portainer.adminPassword");
  if (!password)
    throw new Error("registering Portainer agents logs in to the server: its portainer.adminPassword must reference a secret");
  return {
    script: scriptOf("portainer/portainer-lib.sh", "portainer/portainer-endpoints.sh"),
    checkScript: scriptOf("portainer/portainer-lib.sh", "portainer/portainer-endpoints-check.sh"),
    params: {
      PORTAINER_NAME: PORTAINER_DEFAULTS.server.container,
      PORTAINER_AGENTS: [...agents]
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map((a) => `${a.name} ${a.url}`)
        .join("\n"),
    },
    secretRefs: { PORTAINER_ADMIN_PASSWORD: password },
    timeout: { seconds: PORTAINER_TIMEOUT_SECONDS, key: "portainer" },
  };
}

export function portainerEndpoints(
  name: string,
  target: FeatureTarget,
  adminPassword: SecretRef | string | undefined,
  agents: PortainerAgentEndpoint[],
  secrets: Record<string, pulumi.Input<string>>,
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  return featureResource(name, target, renderPortainerEndpoints(adminPassword, agents), secrets, opts);
}
