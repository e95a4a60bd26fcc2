// How the CLI's API clients (adopt's reader, the day-two verbs' client) trust a node's certificate: the system's CAs,
// or only the certificate whose SHA-256 fingerprint the definition pins (nodes[].api.fingerprint), or any (insecure).
import type { ClientRequestArgs } from "node:http";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import { normalizeFingerprint } from "../definition/grammar";

export interface NodeTrust {
  insecure?: boolean;
  /** The node certificate's SHA-256 fingerprint: nothing is sent to a server presenting another. */
  fingerprint?: string;
}

/** The https.request options that trust the node as the definition says. */
export function nodeTls(
  trust: NodeTrust,
  origin: string,
): { rejectUnauthorized: boolean; createConnection?: ReturnType<typeof pinnedConnection> } {
  const pin = trust.fingerprint;
  return {
    rejectUnauthorized: trust.insecure !== true && pin === undefined,
    ...(pin !== undefined ? { createConnection: pinnedConnection(origin, pin) } : {}),
  };
}

/** A TLS connection handed to the request only once the server's certificate has the pinned fingerprint. */
function pinnedConnection(origin: string, pin: string) {
  return (opts: ClientRequestArgs, done: (err: Error | null, socket: Duplex) => void): undefined => {
    const socket = tls.connect({ ...(opts as object), rejectUnauthorized: false } as tls.ConnectionOptions);
    socket.once("error", (e) => done(e, socket));
    socket.once("secureConnect", () => {
      const seen = socket.getPeerCertificate().fingerprint256 ?? "";
      if (normalizeFingerprint(seen) === normalizeFingerprint(pin)) return done(null, socket);
      socket.destroy();
      return done(
        new Error(
          `the API certificate at ${origin} is not the pinned one (expected ${pin}, presented ${seen}); nothing was sent`,
        ),
        socket,
      );
    });
    return undefined;
  };
}
