// Authentication as pveproxy does it: tickets from POST /access/ticket (cookie PVEAuthCookie, or the same in the
// Authorization header, and the CSRFPreventionToken header on writes), renewed by posting a valid ticket as the
// password; otherwise API tokens (`Authorization: PVEAPIToken=user@realm!tokenid=secret`). The authenticated id of
// a token is `user@realm!tokenid`: Proxmox's root-only checks never pass for a token, even root's.
import { uriUnescape } from "./request";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { ApiError, unauthorized } from "./errors";

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

  /**
   * POST /access/ticket: a password, or a valid ticket of that user (or of root@pam) as the password — how clients
   * renew their ticket before its 2 hours are up. Any failure is the handler's 401 "authentication failure".
   */
  login(
    username: string | undefined,
    password: string | undefined,
  ): { ticket: string; CSRFPreventionToken: string; username: string } {
    const user = this.users.find((u) => u.userid === username);
    const ticketUser = password?.startsWith("PVE:") ? this.verifyTicket(password) : undefined;
    const renewal = !!user && (ticketUser === user.userid || ticketUser === "root@pam");
    if (!user || password === undefined || (!renewal && !safeEqual(user.password, password)))
      throw new ApiError(401, "authentication failure");
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

  /**
   * The identity of a request, or a 401 the way pveproxy's auth_handler answers it (reason phrase, no body): the
   * ticket from the PVEAuthCookie cookie, else from the Authorization header (`PVEAuthCookie=<ticket>`), else an
   * API token from the Authorization header.
   */
  authenticate(req: IncomingMessage): Identity {
    const header = req.headers.authorization?.trim() ?? "";
    const ticket =
      /(?:^|;\s*)PVEAuthCookie=([^;]+)/.exec(req.headers.cookie ?? "")?.[1] ?? /^PVEAuthCookie[= ](\S+)$/.exec(header)?.[1];
    if (ticket === undefined) {
      if (!header) throw unauthorized("No ticket");
      const m = /^PVEAPIToken[= ](\S+?)=(\S+)$/.exec(header);
      const token = m && this.tokens.find((t) => t.id === m[1]);
      if (!m || !token || !safeEqual(token.secret, m[2]!)) throw unauthorized("Authentication failed!");
      return { authid: token.id, isRoot: false };
    }
    const user = this.verifyTicket(uriUnescape(ticket));
    if (!user) throw unauthorized("Authentication failed!");
    if (req.method !== "GET" && req.method !== "HEAD") {
      const csrf = req.headers.csrfpreventiontoken;
      if (!this.verifyCsrf(user, Array.isArray(csrf) ? csrf[0] : csrf))
        throw unauthorized("Permission denied - invalid csrf token");
    }
    return { authid: user, isRoot: user === "root@pam" };
  }

  /** The userids that exist: users with a password and the owners of tokens. */
  userIds(): string[] {
    return [...new Set([...this.users.map((u) => u.userid), ...this.tokens.map((t) => t.id.split("!")[0]!)])].sort();
  }

  /** The tokens of a user (their names, without the user part). */
  tokenNames(userid: string): string[] {
    return this.tokens.filter((t) => t.id.startsWith(`${userid}!`)).map((t) => t.id.slice(userid.length + 1));
  }
}
