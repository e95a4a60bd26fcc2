// What this stack deployed last time (its `deployed` output, plan/deployment.ts), read through a reference to the
// stack itself: the program compares it with its plan to say what an up replaces or deletes, and to refuse what
// protection forbids, before it registers anything.
import * as pulumi from "@pulumi/pulumi";
import type { Deployment } from "../plan/deployment";

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
