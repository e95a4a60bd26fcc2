// What this stack deployed last time (its `deployed` output, plan/deployment.ts), read through a reference to the
// stack itself: the program compares it with its plan to say what an up replaces or deletes, and to refuse what
// protection forbids, before it registers anything; and where those guests run now, which a cluster may have changed.
import * as pulumi from "@pulumi/pulumi";
import type { Deployment } from "../plan/deployment";
import type { Plan } from "../plan/types";
import { whereGuestsRun } from "../provisioners/placement/whereabouts";
import { clusterApis } from "./args/backup";

function isDeployment(v: unknown): v is Deployment {
  const d = v as Deployment | undefined;
  return !!d && d.version === 1 && typeof d.guests === "object" && typeof d.datasets === "object";
}

/** The previous up's deployment record; undefined for a new stack (or one deployed before the record existed). */
export async function previousDeployment(): Promise<Deployment | undefined> {
  const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`);
  const out = await self.getOutputDetails("deployed");
  const value = out.value ?? out.secretValue;
  return isDeployment(value) ? value : undefined;
}

/**
 * Where the last up's guests run now, for a definition of several nodes (plan/moves.ts follows a guest HA or an
 * admin moved). No node answering is said, and the moves then come from the record alone.
 */
export async function whereGuestsRunNow(
  plan: Pick<Plan, "nodes">,
  previous: Deployment | undefined,
  secret: (name: string) => string | undefined,
): Promise<Map<string, string>> {
  const guests = Object.values(previous?.guests ?? {}).map(({ name, vmid, type }) => ({ name, vmid, type }));
  if (plan.nodes.length < 2 || guests.length === 0) return new Map();
  const r = await whereGuestsRun(clusterApis(plan, secret), guests);
  if (r.error)
    pulumi.log.warn(
      `could not ask the cluster where its guests run (${r.error}); a guest moved outside Phoenix is not followed this run`,
    );
  return r.found;
}
