// A ZFS dataset on a node, with its declared properties; converged over SSH by the engine in provisioners/.
import * as pulumi from "@pulumi/pulumi";
import type { ConnectionInput } from "../provisioners/engine/script-provider";
import { ZfsDatasetResource } from "../provisioners/zfs-dataset/zfs-dataset";
import type { PlannedNode } from "../plan/plan";

export interface ZfsDatasetArgs {
  dataset: PlannedNode["datasets"][number];
  connection: ConnectionInput;
}

export class ZfsDataset extends pulumi.ComponentResource {
  readonly dataset: ZfsDatasetResource;

  constructor(name: string, args: ZfsDatasetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:ZfsDataset", name, {}, opts);
    const d = args.dataset;
    this.dataset = new ZfsDatasetResource(
      name,
      { connection: args.connection, name: d.name, properties: d.properties, protect: d.protect },
      { parent: this },
    );
    this.registerOutputs({ name: this.dataset.name, properties: this.dataset.properties });
  }
}
