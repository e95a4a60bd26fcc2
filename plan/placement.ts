// Each guest's node and why, as the plan states it: placement (definition/placement.ts) turned into specs (pure).
import { indexDefinition } from "../definition/resolve";
import type { Definition } from "../definition/schema";
import { placeDefinition } from "../definition/placement-input";
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

export class PlacementError extends Error {}

/** The placement of a validated definition; a PlacementError when a guest fits nowhere (validation says so first). */
export function planPlacement(def: Definition, previous: Readonly<Record<string, string>> = {}): Placement {
  const placement = placeDefinition(indexDefinition(def), previous);
  if (placement.unplaced.length > 0)
    throw new PlacementError(`no node takes ${placement.unplaced.map((u) => u.guest).join(", ")} (phoenix validate says why)`);
  return placement;
}

/** Specs in guest-name order. */
export function placementSpecs(placement: Placement): PlacementSpec[] {
  return [...placement.placed]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([guest, p]) => ({ guest, node: p.node, how: p.how, ...(p.gpus ? { gpus: p.gpus } : {}), reasons: p.reasons }));
}
