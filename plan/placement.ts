// Each guest's node and why, as the plan states it: placement (definition/placement.ts) turned into specs (pure).
import type { Placement } from "../definition/placement";

export interface PlacementSpec {
  guest: string;
  node: string;
  /** pinned: node set in the definition (or its only node); kept: as the lock file records; placed: chosen now. */
  how: "pinned" | "kept" | "placed";
  /** GPU indexes picked for its gpuCount. */
  gpus?: number[];
  reasons: string[];
}

/** Specs in guest-name order. */
export function placementSpecs(placement: Placement): PlacementSpec[] {
  return [...placement.placed]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([guest, p]) => ({ guest, node: p.node, how: p.how, ...(p.gpus ? { gpus: p.gpus } : {}), reasons: p.reasons }));
}
