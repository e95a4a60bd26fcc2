// The shape of a guest's high availability (Proxmox's HA manager: an HA resource, and a node-affinity rule when the
// guest names where it may run), kept apart from schema.ts; cross-field rules (nodes known, states) live in validate/.
import { z } from "zod";
import { ONE_LINE } from "./grammar";

const nodeName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, "a node name of this definition")
  .max(63);

/** `ha:` on a guest: the guest becomes an HA resource (`ct:<vmid>` or `vm:<vmid>`) with Proxmox's option names. */
export const GuestHa = z
  .object({
    /**
     * What the HA manager keeps it in: started (restarted on failure, recovered on another node when its node fails),
     * disabled (stopped and left alone) or ignored (HA does nothing until set back). Proxmox's `stopped` is refused:
     * every guest of a definition runs, so HA and `up` would undo each other.
     */
    state: z.enum(["started", "stopped", "disabled", "ignored"]).default("started"),
    /** Tries to restart it on its node after a failed start (Proxmox's max_restart). */
    maxRestart: z.number().int().nonnegative().default(1),
    /** Tries to relocate it to another node after failed restarts (Proxmox's max_relocate). */
    maxRelocate: z.number().int().nonnegative().default(1),
    /**
     * Where HA may recover it, most preferred first: a node-affinity rule. Its own node ranks first (added when left
     * out), so HA never moves it away while that node is up.
     */
    nodes: z.array(nodeName).min(1).optional(),
    /** Only the listed nodes (a strict rule): when none of them is up, it stays down rather than run elsewhere. */
    strict: z.boolean().default(false),
    comment: z.string().regex(ONE_LINE, "one line of text").max(4096).optional(),
  })
  .strict();
export type GuestHa = z.infer<typeof GuestHa>;
