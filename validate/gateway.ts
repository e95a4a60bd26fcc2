// Cross-field checks of the definition's gateway (issue 17).
import type { Problem } from "../definition/problems";
import type { Index } from "../definition/resolve";

export function checkGateway(_ix: Index): Problem[] {
  return []; // skeleton: filled in by the gateway work of issue 17
}
