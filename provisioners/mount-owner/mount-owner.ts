// On the node: the host directories of a container's mount points owned by their owner as the host sees it.
import type * as pulumi from "@pulumi/pulumi";
import type { RemoteScript } from "../engine/script-provider";
import { type FeatureTarget, type RenderedFeature, featureResource, scriptOf } from "../engine/feature";

export interface MountOwner {
  /** The directory on the node (the mount point's source). */
  path: string;
  /** Host ids: the container-side owner shifted through the container's id map. */
  uid: number;
  gid: number;
}

export function renderMountOwner(owners: MountOwner[]): RenderedFeature {
  for (const o of owners)
    if (!o.path.startsWith("/") || /[\n\0]/.test(o.path)) throw new Error(`not an absolute path: ${JSON.stringify(o.path)}`);
  return {
    script: scriptOf("mount-owner/mount-owner.sh"),
    checkScript: scriptOf("mount-owner/mount-owner-check.sh"),
    params: { MOUNT_OWNERS: owners.map((o) => `${o.uid}:${o.gid} ${o.path}`).join("\n") },
    secretRefs: {},
  };
}

/** node.connection: the connection to the node (the script runs there); node.adopt: its container ran before the stack. */
export function mountOwner(
  name: string,
  node: Pick<FeatureTarget, "connection" | "adopt">,
  owners: MountOwner[],
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  return featureResource(name, node, renderMountOwner(owners), {}, opts);
}
