// Cross-field checks of the definition's dns (issue 17).
import type { Problem } from "../definition/problems";
import type { Index } from "../definition/resolve";

export function checkDns(_ix: Index): Problem[] {
  return []; // skeleton: filled in by the dns work of issue 17
}
