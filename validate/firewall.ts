// Cross-field checks of the definition's firewall (issue 17).
import type { Problem } from "../definition/problems";
import type { Index } from "../definition/resolve";

export function checkFirewall(_ix: Index): Problem[] {
  return []; // skeleton: filled in by the firewall work of issue 17
}
