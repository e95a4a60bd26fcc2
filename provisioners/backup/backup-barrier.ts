// A resource that does nothing but stand after every machine of a node: the node's backup guards depend on it, so
// Pulumi's reverse order runs every guard's backup before it deletes any machine of the node (a failed backup then
// stops the run with nothing deleted), and a destroy backs every guest up first.
import * as pulumi from "@pulumi/pulumi";

const barrierProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    return { id: `barrier-${inputs.node}`, outs: inputs };
  },
  async diff() {
    return { changes: false };
  },
};

export class BackupBarrier extends pulumi.dynamic.Resource {
  constructor(name: string, args: { node: string }, opts: pulumi.CustomResourceOptions) {
    super(barrierProvider, name, args, opts, "phoenix", "BackupBarrier");
  }
}
