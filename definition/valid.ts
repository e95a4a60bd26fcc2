// A definition that passed validation. Only validate/ makes one, so the plan (which takes nothing else) never
// re-checks what validation already refused.
import type { Definition } from "./schema";

declare const valid: unique symbol;

export type ValidDefinition = Definition & { readonly [valid]: true };

/** For validate/ only: the definition, now known to be valid. */
export function asValid(def: Definition): ValidDefinition {
  return def as ValidDefinition;
}
