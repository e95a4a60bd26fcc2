// Arrays, not Sets: provider code is captured by Pulumi's closure serializer.
const TRANSIENT_CODES = [
  "ECONNREFUSED",
  "ETIMEDOUT",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "EPIPE",
  "EAI_AGAIN",
];

/**
 * True for errors worth another dial: the host is down, booting or its sshd not up yet.
 * Authentication failures and host-key mismatches are never transient.
 */
export function isTransientDialError(err: unknown): boolean {
  if (!err || typeof err !== "object") return false;
  const e = err as { code?: unknown; level?: unknown; message?: unknown; name?: unknown };
  if (e.name === "HostKeyMismatchError" || e.level === "client-authentication") return false;
  if (typeof e.code === "string" && TRANSIENT_CODES.includes(e.code)) return true;
  if (e.level === "client-timeout") return true;
  const msg = typeof e.message === "string" ? e.message : "";
  return /Timed out while waiting for handshake|Connection lost before handshake|No response from server|read ECONNRESET/.test(
    msg,
  );
}

/** Exponential backoff: base·2^(attempt-1), capped. attempt counts from 1. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}
