// Reading a request the way pveproxy does (pve-http-server's AnyEvent.pm): the path %-decoded leniently, the body
// refused unread when it is chunked, on a method that takes none, or longer than the cap (checked against
// Content-Length before any byte of it is read), and parameters collected into a map without a prototype, so a
// parameter named __proto__, constructor or toString is just an unknown parameter.
import type { IncomingMessage } from "node:http";
import { ApiError } from "./errors";
import type { Params } from "../pve/schema";

/** pveproxy's `$limit_max_post`: 512 KiB since libpve-http-server-perl 5.2.1 (64 KiB before). */
export const MAX_POST = 512 * 1024;
/** POST /access/ticket is read before anyone is authenticated: user, realm, password or ticket, OTP fit in far less. */
export const MAX_LOGIN_POST = 16 * 1024;

/** An answer pveproxy gives before its API handler runs: plain text, and the connection is closed. */
export class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Perl's uri_unescape: every %XX becomes that byte, anything else (a lone %, %zz) stays as written; the bytes are
 * then read as UTF-8 (an invalid sequence becomes U+FFFD). Never throws, unlike decodeURIComponent.
 */
export function uriUnescape(s: string): string {
  if (!s.includes("%")) return s;
  const parts: Buffer[] = [];
  for (const m of s.matchAll(/%([0-9A-Fa-f]{2})|[^%]+|%/g))
    parts.push(m[1] !== undefined ? Buffer.from([parseInt(m[1], 16)]) : Buffer.from(m[0], "utf8"));
  return Buffer.concat(parts).toString("utf8");
}

/** Refuses a transfer encoding before authentication, as pveproxy does while it reads the headers. */
export function checkTransferEncoding(req: IncomingMessage): void {
  const te = req.headers["transfer-encoding"];
  if (!te) return;
  throw new HttpRefusal(
    501,
    te.toLowerCase() === "chunked" ? "chunked transfer encoding not supported" : `Unknown transfer encoding '${te}'`,
  );
}

/** The body, at most `limit` bytes: a longer declared one is refused without reading any of it. */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = req.headers["content-length"];
  const length = declared === undefined ? 0 : Number(declared);
  if (!length) return "";
  const method = req.method ?? "GET";
  if (method !== "PUT" && method !== "POST") throw new HttpRefusal(501, `Unexpected content for method '${method}'`);
  if (!Number.isSafeInteger(length) || length > limit) throw new HttpRefusal(501, "for data too large");
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const c of req) {
    got += (c as Buffer).length;
    // Node frames the body by Content-Length, so this cannot happen; kept as the cap's last word.
    if (got > limit) throw new HttpRefusal(501, "for data too large");
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** A parameter map with no prototype: every name, __proto__ included, is an own key and nothing more. */
export function emptyParams(): Params {
  return Object.create(null) as Params;
}

function addParam(params: Params, key: string, value: string): void {
  const prev = params[key];
  params[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
}

/** Query parameters, then the body's (form-encoded or JSON). A body that does not parse is a 400. */
export function parseParams(url: URL, body: string, contentType: string | undefined): Params {
  const params = emptyParams();
  for (const [k, v] of url.searchParams) addParam(params, k, v);
  if (!body) return params;
  const type = (contentType ?? "").split(";")[0]!.trim();
  try {
    if (type === "application/json") {
      const obj = JSON.parse(body) as unknown;
      if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new Error("not an object");
      for (const [k, v] of Object.entries(obj))
        for (const x of Array.isArray(v) ? v : [v])
          addParam(params, k, typeof x === "string" ? x : String(typeof x === "boolean" ? Number(x) : x));
    } else for (const [k, v] of new URLSearchParams(body)) addParam(params, k, v);
  } catch {
    throw new ApiError(400, "unable to parse request parameters");
  }
  return params;
}
