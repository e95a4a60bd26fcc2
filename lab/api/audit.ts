// The lab API's audit log: one JSON line per request (time, method, path, parameters with secrets
// masked, status, and for failures the message) appended to <stateDir>/audit.jsonl, so every call the
// provider makes — and every endpoint the lab does not serve (501) — is visible afterwards.
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Params } from "../pve/schema";

export interface AuditEntry {
  time: string;
  method: string;
  path: string;
  params: Params;
  status: number;
  user?: string;
  message?: string;
  ms: number;
}

/** Parameter names whose values never reach the log: passwords, tokens, tickets, keys, anything secret. */
const SECRET = /pass(word)?|secret|token|ticket|csrf|private|^key$|api[-_]?key|credential|otp/i;
export const MASK = "********";

export function maskParams(params: Params): Params {
  return Object.fromEntries(
    Object.entries(params).map(([k, v]) => [k, SECRET.test(k) ? (Array.isArray(v) ? v.map(() => MASK) : MASK) : v]),
  );
}

export class AuditLog {
  constructor(private readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
  }

  write(entry: Omit<AuditEntry, "params"> & { params: Params }): void {
    appendFileSync(this.file, `${JSON.stringify({ ...entry, params: maskParams(entry.params) })}\n`, { mode: 0o600 });
  }
}
