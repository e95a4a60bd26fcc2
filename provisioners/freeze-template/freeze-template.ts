// Freezes a golden template: converts its container into a Proxmox template through `pct` on the node.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { type ConnectionInput, RemoteScript } from "../engine/script-provider";

const SCRIPT = readFileSync(join(__dirname, "freeze-template.sh"), "utf8");
const CHECK = `pct config "$VMID" | grep -q '^template: 1' && echo template || { echo "CT $VMID is not a template"; exit 1; }`;

/** How long freezing may take: stopping the container, then pct template. */
export const FREEZE_TIMEOUT_SECONDS = 600;

export interface FreezeTemplateArgs {
  /** SSH to the node the container lives on. */
  node: ConnectionInput;
  vmid: pulumi.Input<number>;
}

export function freezeTemplate(name: string, args: FreezeTemplateArgs, opts: pulumi.CustomResourceOptions): RemoteScript {
  return new RemoteScript(
    name,
    {
      connection: args.node,
      script: SCRIPT,
      checkScript: CHECK,
      params: { VMID: pulumi.output(args.vmid).apply(String) },
      // A different container is a different template to freeze.
      triggers: [args.vmid],
      // pct template stops the container first: its shutdown may take a while.
      timeout: { seconds: FREEZE_TIMEOUT_SECONDS },
    },
    opts,
  );
}
