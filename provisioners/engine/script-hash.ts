// What decides whether a RemoteScript runs again: a plaintext hash of its script and params, which secret values never
// enter (it is readable in state, previews and logs: a hash over a short secret is a dictionary attack away from it),
// and a hash of the secret values kept as a secret output (encrypted in state, like the secrets themselves).
import { canonicalJson, contentHash, sha256Hex } from "../../definition/hash";

/** The parts of a script resource's inputs and outputs the hashes are about. */
export interface HashedInputs {
  params?: Record<string, string>;
  secrets?: Record<string, string>;
}
export interface HashedState {
  hash: string;
  secretsHash?: string;
  secretNames?: string[];
  inSync?: boolean;
}

/** sha256 of the script and its params. Without secrets it is what the engine always stored. */
export function scriptHash(inputs: Pick<HashedInputs, "params">, script: string): string {
  return contentHash(script, { params: inputs.params ?? {}, secrets: {} });
}

/** sha256 of the secret values (by name); undefined when there are none. Only ever stored as a secret output. */
export function secretsHash(secrets: Record<string, string> | undefined): string | undefined {
  if (!secrets || Object.keys(secrets).length === 0) return undefined;
  return sha256Hex(canonicalJson({ secrets }));
}

/** State written before secret values left the plaintext hash: its `hash` covers them. */
export function hasLegacySecretHash(olds: HashedState): boolean {
  return olds.secretsHash === undefined && (olds.secretNames?.length ?? 0) > 0;
}

/** Whether the script must run again: its text, params or secret values changed, or a refresh found drift. */
export function contentChanged(olds: HashedState, news: HashedInputs, script: string): boolean {
  if (olds.inSync === false) return true;
  // The old formula, recomputed from the new inputs: an upgrade alone runs nothing.
  if (hasLegacySecretHash(olds))
    return olds.hash !== contentHash(script, { params: news.params ?? {}, secrets: news.secrets ?? {} });
  return olds.hash !== scriptHash(news, script) || (olds.secretsHash ?? "") !== (secretsHash(news.secrets) ?? "");
}

/** The hash outputs for these inputs; secretsRevision counts secret changes (plaintext: it reveals only that they changed). */
export function hashOutputs(
  news: HashedInputs,
  script: string,
  olds?: HashedState & { secretsRevision?: number },
): { hash: string; secretsHash?: string; secretsRevision?: number } {
  const secrets = secretsHash(news.secrets);
  if (secrets === undefined) return { hash: scriptHash(news, script) };
  const before = olds?.secretsRevision ?? 0;
  const changed = olds !== undefined && !hasLegacySecretHash(olds) && (olds.secretsHash ?? "") !== secrets;
  return { hash: scriptHash(news, script), secretsHash: secrets, secretsRevision: before + (changed ? 1 : 0) };
}
