// Freezes a golden template: converts its container into a Proxmox template through `pct` on the node.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { type ConnectionInput, RemoteScript } from "../engine/script-provider";

const SCRIPT = readFileSync(join(__dirname, "freeze-template.sh"), "utf8");
const ADOPTED = readFileSync(join(__dirname, "freeze-template-adopted.sh"), "utf8");
const CHECK = `pct config "$VMID" | grep -q '^template: 1' && echo template || { echo "CT $VMID is not a template"; exit 1; }`;
/** An adopted golden template may stay the container it is when it has snapshots (freeze-template-adopted.sh). */
const CHECK_ADOPTED =
  `pct config "$VMID" | grep -q '^template: 1' && { echo template; exit 0; }\n` +
  `snapshots=$(pct listsnapshot "$VMID" 2>/dev/null) && grep -v -- '-> current' <<<"$snapshots" | grep -q . && ` +
  `{ echo "container with snapshots (adopted)"; exit 0; }\necho "CT $VMID is not a template"; exit 1`;

/** The freeze step's script and check: an adopted template's keep a container with snapshots as it is. */
export function freezeScripts(adopt: boolean): { script: string; checkScript: string } {
  return adopt ? { script: `${ADOPTED}\n${SCRIPT}`, checkScript: CHECK_ADOPTED } : { script: SCRIPT, checkScript: CHECK };
}

/** How long freezing may take: stopping the container, then pct template. */
export const FREEZE_TIMEOUT_SECONDS = 600;

export interface FreezeTemplateArgs {
  /** SSH to the node the container lives on. */
  node: ConnectionInput;
  vmid: pulumi.Input<number>;
  /** A template that ran before the stack (phoenix adopt): already frozen, it is recorded as done. */
  adopt?: boolean;
}

export function freezeTemplate(name: string, args: FreezeTemplateArgs, opts: pulumi.CustomResourceOptions): RemoteScript {
  return new RemoteScript(
    name,
    {
      connection: args.node,
      ...freezeScripts(args.adopt === true),
      params: { VMID: pulumi.output(args.vmid).apply(String) },
      // A different container is a different template to freeze.
      triggers: [args.vmid],
      ...(args.adopt ? { adopt: true } : {}),
      // pct template stops the container first: its shutdown may take a while.
      timeout: { seconds: FREEZE_TIMEOUT_SECONDS },
    },
    opts,
  );
}
