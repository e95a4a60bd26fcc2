import { EngineError } from "./errors";

/** A host public key as the server presented it. */
export interface HostKey {
  /** e.g. "ssh-ed25519". */
  type: string;
  /** OpenSSH "type base64" form, what `Connection.hostKey` pins. */
  openssh: string;
  /** "SHA256:<base64 without padding>", as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

/** From the SSH wire-format key blob (what ssh2's hostVerifier receives). */
export function hostKeyFromBlob(blob: Buffer): HostKey {
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const type = len > 0 && 4 + len <= blob.length ? blob.subarray(4, 4 + len).toString("latin1") : "unknown";
  return { type, openssh: `${type} ${blob.toString("base64")}`, fingerprint: fingerprintOf(blob) };
}

export function fingerprintOf(blob: Buffer): string {
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/** The fingerprint of a pinned key ("type base64 [comment]" or already "SHA256:…"). */
export function pinnedFingerprint(pinned: string): string {
  const p = pinned.trim();
  if (p.startsWith("SHA256:")) return p.replace(/=+$/, "");
  const b64 = p.split(/\s+/)[1];
  if (!b64 || !/^[A-Za-z0-9+/]+=*$/.test(b64))
    throw new Error(
      `hostKey must be an OpenSSH public key such as "ssh-ed25519 AAAA…" or a SHA256:… fingerprint, got "${p.slice(0, 40)}"`,
    );
  return fingerprintOf(Buffer.from(b64, "base64"));
}

/** The key type of a pinned OpenSSH key, if it names one. */
export function pinnedType(pinned: string): string | undefined {
  const p = pinned.trim();
  return p.startsWith("SHA256:") ? undefined : p.split(/\s+/)[0];
}

/**
 * Host-key algorithms never accepted, pinned or not: `ssh-rsa` signs with SHA-1 (OpenSSH refuses it since 8.8), `ssh-dss`
 * is DSA. An RSA host key is still accepted with its SHA-2 signatures (rsa-sha2-512, rsa-sha2-256).
 */
export const REFUSED_HOST_KEY_ALGORITHMS = ["ssh-rsa", "ssh-dss"];

/** Host-key algorithms to offer first so a server with several keys presents the pinned one; an RSA key only with SHA-2. */
export function algorithmsFor(type: string): string[] {
  if (type === "ssh-rsa") return ["rsa-sha2-512", "rsa-sha2-256"];
  return [type];
}

/** ssh2's serverHostKey setting: the refused algorithms removed, the pinned key's own first. */
export function serverHostKeyAlgorithms(pinnedKeyType: string | undefined): { remove: string[]; prepend: string[] } {
  const first = pinnedKeyType ? algorithmsFor(pinnedKeyType) : [];
  return { remove: [...REFUSED_HOST_KEY_ALGORITHMS, ...first], prepend: first };
}

export class HostKeyMismatchError extends EngineError {
  constructor(
    readonly address: string,
    readonly expected: string,
    readonly seen: HostKey,
    readonly label?: string,
  ) {
    super(
      "HostKeyMismatchError",
      `host key mismatch for ${label ? `${label} at ` : ""}${address}: expected ${expected} (pinned), ` +
        `the host presented ${seen.fingerprint} (${seen.type}). Either the connection is being intercepted or the machine ` +
        `was rebuilt. If it was rebuilt on purpose, pin its new key once for every resource that reaches it: set ` +
        `nodes[].ssh.hostKey to it (a node), or replace the machine's pin so the new key is recorded at the next contact ` +
        `(pulumi up --replace <the URN of its <name>-host-key HostKeyPin>).`,
    );
  }
}
