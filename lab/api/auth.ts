// Authentication as pveproxy does it: API tokens (`Authorization: PVEAPIToken=user@realm!tokenid=secret`)
// and, for users with a password, tickets from POST /access/ticket (cookie PVEAuthCookie, and the
// CSRFPreventionToken header on writes). The authenticated id of a token is `user@realm!tokenid`:
// Proxmox's root-only checks never pass for a token, even root's.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { ApiError } from "./errors";

export interface TokenConfig {
  /** user@realm!tokenid */
  id: string;
  secret: string;
}

export interface UserConfig {
  /** user@realm, e.g. root@pam */
  userid: string;
  password: string;
}

export interface Identity {
  /** What Proxmox calls the authuser: user@realm, or user@realm!tokenid for a token. */
  authid: string;
  /** root@pam itself (not a token of it): the only identity Proxmox's root-only checks accept. */
  isRoot: boolean;
}

const TICKET_LIFETIME_S = 2 * 3600;

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class Authenticator {
  private readonly key = randomBytes(32);

  constructor(
    private readonly tokens: TokenConfig[],
    private readonly users: UserConfig[] = [],
  ) {
    for (const t of tokens)
      if (!/^\S+@\S+!\S+$/.test(t.id)) throw new Error(`API token id '${t.id}' must look like user@realm!tokenid`);
  }

  private sign(text: string): string {
    return createHmac("sha256", this.key).update(text).digest("base64").replace(/=+$/, "");
  }

  /** POST /access/ticket */
  login(
    username: string | undefined,
    password: string | undefined,
  ): { ticket: string; CSRFPreventionToken: string; username: string } {
    const user = this.users.find((u) => u.userid === username);
    if (!user || password === undefined || !safeEqual(user.password, password)) throw new ApiError(401, "authentication failure");
    const time = Math.floor(Date.now() / 1000)
      .toString(16)
      .toUpperCase();
    const plain = `PVE:${user.userid}:${time}`;
    return {
      ticket: `${plain}::${this.sign(plain)}`,
      CSRFPreventionToken: `${time}:${this.sign(`csrf:${user.userid}:${time}`)}`,
      username: user.userid,
    };
  }

  private verifyTicket(ticket: string): string | undefined {
    const m = /^(PVE:([^:]+):([0-9A-F]{8}))::(.+)$/.exec(ticket);
    if (!m || !safeEqual(this.sign(m[1]!), m[4]!)) return undefined;
    const age = Date.now() / 1000 - parseInt(m[3]!, 16);
    return age >= -300 && age < TICKET_LIFETIME_S ? m[2] : undefined;
  }

  private verifyCsrf(user: string, token: string | undefined): boolean {
    const m = token ? /^([0-9A-F]{8}):(.+)$/.exec(token) : null;
    return !!m && safeEqual(this.sign(`csrf:${user}:${m[1]}`), m[2]!);
  }

  /** The identity of a request, or a 401 the way pveproxy answers it. */
  authenticate(req: IncomingMessage): Identity {
    const header = req.headers.authorization;
    if (header) {
      const m = /^PVEAPIToken[= ](\S+?)=(\S+)$/.exec(header.trim());
      const token = m && this.tokens.find((t) => t.id === m[1]);
      if (!m || !token || !safeEqual(token.secret, m[2]!)) throw new ApiError(401, "authentication failure");
      return { authid: token.id, isRoot: false };
    }
    const cookie = /(?:^|;\s*)PVEAuthCookie=([^;]+)/.exec(req.headers.cookie ?? "");
    if (!cookie) throw new ApiError(401, "No ticket");
    const user = this.verifyTicket(decodeURIComponent(cookie[1]!));
    if (!user) throw new ApiError(401, "authentication failure");
    if (req.method !== "GET" && req.method !== "HEAD") {
      const csrf = req.headers.csrfpreventiontoken;
      if (!this.verifyCsrf(user, Array.isArray(csrf) ? csrf[0] : csrf))
        throw new ApiError(401, "Permission denied - invalid csrf token");
    }
    return { authid: user, isRoot: user === "root@pam" };
  }
}
