// What an e2e test reads off a Pulumi operation: its change counts, and which resources it updated by name.
import type { EngineEvent } from "@pulumi/pulumi/automation";

/** An operation's resource changes without the ones that change nothing (same, read). */
export const changes = (c: Record<string, number> | undefined) =>
  Object.fromEntries(Object.entries(c ?? {}).filter(([op]) => op !== "same" && op !== "read"));

/**
 * The names of the resources an operation (refresh, up) updated, in event order. The stack's own entry is left out:
 * it may count its outputs; it is told by its URN's type or, in refresh's events, by its qualified org/project/stack.
 */
export async function updatedBy(run: (o: { onEvent: (e: EngineEvent) => void }) => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  await run({
    onEvent: (e) => {
      const m = e.resOutputsEvent?.metadata;
      const name = m?.urn.split("::").pop() ?? "";
      if (m?.op === "update" && !m.urn.includes("pulumi:pulumi:Stack") && !name.includes("/")) seen.push(name);
    },
  });
  return seen;
}
