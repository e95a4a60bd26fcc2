// Push webhooks from GitHub, Gitea, Forgejo and GitLab: the signature checked with the shared secret (HMAC-SHA256 of
// the raw body, or GitLab's token) in constant time, then the branch and commit of the push.
import { createHmac, timingSafeEqual } from "node:crypto";

export type Verdict = { ok: true; provider: string } | { ok: false; status: 401 | 403; reason: string };

type Headers = Record<string, string | string[] | undefined>;

const header = (h: Headers, name: string) => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const hmacHex = (secret: string, body: Buffer) => createHmac("sha256", secret).update(body).digest("hex");

/** 401 when the request carries no signature we know, 403 when it carries a wrong one. */
export function verifySignature(headers: Headers, body: Buffer, secret: string): Verdict {
  if (!secret) return { ok: false, status: 403, reason: "the agent has no webhook secret: webhooks are refused" };
  const github = header(headers, "x-hub-signature-256");
  if (github !== undefined)
    return sameText(github.toLowerCase(), `sha256=${hmacHex(secret, body)}`)
      ? { ok: true, provider: "github" }
      : { ok: false, status: 403, reason: "X-Hub-Signature-256 does not match the body" };
  for (const [name, provider] of [
    ["x-forgejo-signature", "forgejo"],
    ["x-gitea-signature", "gitea"],
    ["x-gogs-signature", "gogs"],
  ] as const) {
    const sig = header(headers, name);
    if (sig !== undefined)
      return sameText(sig.toLowerCase(), hmacHex(secret, body))
        ? { ok: true, provider }
        : { ok: false, status: 403, reason: `${name} does not match the body` };
  }
  const token = header(headers, "x-gitlab-token");
  if (token !== undefined)
    return sameText(token, secret)
      ? { ok: true, provider: "gitlab" }
      : { ok: false, status: 403, reason: "X-Gitlab-Token is wrong" };
  return {
    ok: false,
    status: 401,
    reason: "no signature: send X-Hub-Signature-256, X-Gitea-Signature, X-Forgejo-Signature or X-Gitlab-Token",
  };
}

export type PushEvent = { kind: "push"; branch: string; after: string; before?: string } | { kind: "ignored"; reason: string };

const ZERO = /^0+$/;

/** The push a verified payload describes; anything else (ping, tags, branch deletions, other events) is ignored. */
export function parsePush(headers: Headers, body: Buffer): PushEvent {
  const event =
    header(headers, "x-github-event") ??
    header(headers, "x-gitea-event") ??
    header(headers, "x-forgejo-event") ??
    header(headers, "x-gitlab-event");
  if (event !== undefined && !/^(push|push hook)$/i.test(event)) return { kind: "ignored", reason: `event '${event}'` };
  let p: { ref?: unknown; after?: unknown; before?: unknown; checkout_sha?: unknown };
  try {
    p = JSON.parse(body.toString("utf8"));
  } catch {
    return { kind: "ignored", reason: "the body is not JSON" };
  }
  if (typeof p.ref !== "string" || !p.ref.startsWith("refs/heads/")) return { kind: "ignored", reason: "not a branch push" };
  const after = typeof p.after === "string" ? p.after : typeof p.checkout_sha === "string" ? p.checkout_sha : undefined;
  if (!after || !/^[0-9a-f]{7,64}$/i.test(after)) return { kind: "ignored", reason: "no commit in the payload" };
  if (ZERO.test(after)) return { kind: "ignored", reason: "branch deleted" };
  return {
    kind: "push",
    branch: p.ref.slice("refs/heads/".length),
    after,
    ...(typeof p.before === "string" && !ZERO.test(p.before) ? { before: p.before } : {}),
  };
}
