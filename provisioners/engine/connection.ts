/** How to reach a host over SSH, modelled on @pulumi/command's remote connection. */
export interface Connection {
  host: string;
  /** Default 22. */
  port?: number;
  /** Default "root". */
  user?: string;
  privateKey?: string;
  password?: string;
  /** Pinned host public key, OpenSSH "type base64" form (a trailing comment is ignored); "SHA256:…" fingerprints are accepted too. */
  hostKey?: string;
  /** How many failed dials (refused, timed out, reset) before giving up. Default 10; -1 retries forever. */
  dialErrorLimit?: number;
  /** Timeout of one dial, TCP connect through SSH handshake. Default 15000. */
  perDialTimeoutMs?: number;
  /**
   * SSH keepalives: a server silent for keepaliveIntervalMs × keepaliveCountMax (default 10000 × 3) fails the operation
   * running on it instead of leaving it hanging.
   */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
}

export type ResolvedConnection = Required<Omit<Connection, "privateKey" | "password" | "hostKey">> &
  Pick<Connection, "privateKey" | "password" | "hostKey">;

export function resolveConnection(c: Connection): ResolvedConnection {
  if (!c || typeof c.host !== "string" || c.host === "") throw new Error("connection.host is required");
  return {
    ...c,
    host: c.host,
    port: c.port ?? 22,
    user: c.user ?? "root",
    dialErrorLimit: c.dialErrorLimit ?? 10,
    perDialTimeoutMs: c.perDialTimeoutMs ?? 15_000,
    keepaliveIntervalMs: c.keepaliveIntervalMs ?? 10_000,
    keepaliveCountMax: c.keepaliveCountMax ?? 3,
  };
}

/** "host:port", with IPv6 addresses bracketed. */
export function addressOf(c: Connection): string {
  const host = c.host.includes(":") ? `[${c.host}]` : c.host;
  return `${host}:${c.port ?? 22}`;
}

/** The connection without credentials, safe to log or show. */
export function publicConnection(c: Connection): Omit<Connection, "privateKey" | "password"> {
  const { privateKey: _k, password: _p, ...rest } = c;
  return rest;
}

export interface Credentials {
  privateKey?: string;
  password?: string;
}

/**
 * Providers keep the connection without credentials (visible in state) and the credentials apart,
 * in an output the resource registers as secret, so read and delete can still connect.
 */
export function splitCredentials(c: Connection): {
  connection: Omit<Connection, "privateKey" | "password">;
  credentials: Credentials;
} {
  return {
    connection: publicConnection(c),
    credentials: {
      ...(c.privateKey !== undefined ? { privateKey: c.privateKey } : {}),
      ...(c.password !== undefined ? { password: c.password } : {}),
    },
  };
}

export function joinCredentials(c: Omit<Connection, "privateKey" | "password">, creds: Credentials | undefined): Connection {
  return { ...c, ...(creds ?? {}) };
}

/**
 * The fields that say how to reach a host. None of them is the identity of what a resource manages there. The host
 * key is not among them: it is the machine's pin (HostKeyPin), compared apart (connection-input.ts, pinChanged).
 */
const REACH_FIELDS = [
  "host",
  "port",
  "user",
  "dialErrorLimit",
  "perDialTimeoutMs",
  "keepaliveIntervalMs",
  "keepaliveCountMax",
] as const;

/**
 * Whether the address, port, user, dial and keepalive settings or credentials differ between a resource's state (its
 * public connection and secret credentials) and its new inputs. Providers make such a change an in-place update,
 * never a replacement: a node reached over a new address is the same node, with the same datasets and guests.
 */
export function connectionChanged(
  olds: Omit<Connection, "privateKey" | "password"> | undefined,
  oldCredentials: Credentials | undefined,
  news: Connection | undefined,
): boolean {
  const o = (olds ?? {}) as Record<string, unknown>;
  const n = (news ?? {}) as unknown as Record<string, unknown>;
  if (REACH_FIELDS.some((k) => o[k] !== n[k])) return true;
  const c = oldCredentials ?? {};
  return c.privateKey !== news?.privateKey || c.password !== news?.password;
}
