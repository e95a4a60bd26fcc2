// Pins a node's API certificate. bpg's provider can only verify against the system's CAs or not at all (its
// `insecure`), and a Proxmox node's certificate is self-signed by the cluster's own CA: so when the definition gives
// the certificate's fingerprint, Phoenix connects first, compares, and hands the provider its endpoint only on a match.
import * as tls from "node:tls";
import { normalizeFingerprint } from "../../definition/grammar";

export class CertificateMismatchError extends Error {
  constructor(
    readonly endpoint: string,
    readonly expected: string,
    readonly seen: string,
    node: string,
  ) {
    super(
      `the API certificate of node '${node}' at ${endpoint} does not match the pinned fingerprint:\n` +
        `  expected (nodes[].api.fingerprint): ${expected}\n` +
        `  the node presented:                  ${seen}\n` +
        `Nothing was sent to it. Either the connection is being intercepted, or the node's certificate changed (a ` +
        `reinstall, pvecm updatecerts, a new ACME certificate): check on the node with \`pvenode cert info\` and, if it ` +
        `is the node's, set nodes[].api.fingerprint to it.`,
    );
    this.name = "CertificateMismatchError";
  }
}

/** The SHA-256 fingerprint (AB:CD:…) of the certificate the server at `endpoint` presents; nothing else is sent. */
export function presentedFingerprint(endpoint: string, timeoutMs = 15_000): Promise<string> {
  const url = new URL(endpoint);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || 443);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      // Verification is this function's job: the chain of a self-signed node cannot be checked against system CAs.
      rejectUnauthorized: false,
      ...(isIpAddress(host) ? {} : { servername: host }),
    });
    const fail = (e: Error) => {
      socket.destroy();
      reject(new Error(`cannot check the API certificate at ${endpoint}: ${e.message}`));
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no TLS handshake within ${timeoutMs / 1000} s`)));
    socket.once("error", fail);
    socket.once("secureConnect", () => {
      const cert = socket.getPeerCertificate();
      socket.destroy();
      if (!cert || !cert.fingerprint256) reject(new Error(`the server at ${endpoint} presented no certificate`));
      else resolve(normalizeFingerprint(cert.fingerprint256));
    });
  });
}

/** Resolves when the node presents the pinned certificate; a CertificateMismatchError with both values otherwise. */
export async function verifyApiCertificate(node: string, endpoint: string, pinned: string, timeoutMs?: number): Promise<void> {
  const seen = await presentedFingerprint(endpoint, timeoutMs);
  const expected = normalizeFingerprint(pinned);
  if (seen !== expected) throw new CertificateMismatchError(endpoint, expected, seen, node);
}

function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}
