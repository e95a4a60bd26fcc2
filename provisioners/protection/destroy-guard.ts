// The stack's last line of defence on `pulumi destroy`: a resource that depends on every other one, so a destroy deletes
// it first and alone; while anything is protected its delete fails with the refusal, and nothing else is deleted.
import * as pulumi from "@pulumi/pulumi";

export interface DestroyGuardInputs {
  /** What destroy is refused with (plan/deployment.ts destroyRefusal); empty while nothing is protected. */
  refusal: string;
}

export const destroyGuardProvider: pulumi.dynamic.ResourceProvider<DestroyGuardInputs, DestroyGuardInputs> = {
  async diff(_id, olds, news) {
    return { changes: (olds.refusal ?? "") !== (news.refusal ?? ""), replaces: [], deleteBeforeReplace: false };
  },
  async create(inputs) {
    return { id: "destroy-guard", outs: { refusal: inputs.refusal ?? "" } };
  },
  async update(_id, _olds, news) {
    return { outs: { refusal: news.refusal ?? "" } };
  },
  async delete(_id, props) {
    if (props.refusal) throw new Error(props.refusal);
  },
};

/** Depend it on everything the stack holds (dependsOn components reaches their children). */
export class DestroyGuard extends pulumi.dynamic.Resource {
  declare readonly refusal: pulumi.Output<string>;

  constructor(name: string, args: { refusal: pulumi.Input<string> }, opts: pulumi.CustomResourceOptions = {}) {
    super(destroyGuardProvider, name, { refusal: args.refusal }, opts, "phoenix", "DestroyGuard");
  }
}
