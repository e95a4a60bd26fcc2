// Trust boundaries the definition crosses: TLS to each node's API (verified, pinned, or knowingly not), and raw LXC
// options that give a guest its node (host code, filesystem, devices), allowed only with a reason and root@pam.
import { hostAccessOptions } from "../definition/lxc-options";
import { type Problem, error, warning } from "../definition/problems";
import type { Index } from "../definition/resolve";
import type { Node } from "../definition/schema";

export const FINGERPRINT_HOWTO =
  "on the node: `pvenode cert info --output-format json` (the fingerprint of pve-ssl.pem, or of pveproxy-ssl.pem when " +
  "that exists); or from here: `openssl s_client -connect <host>:8006 </dev/null 2>/dev/null | openssl x509 -noout " +
  "-fingerprint -sha256` (compare it with the node's console before trusting it)";

export function checkAccess(ix: Index): Problem[] {
  const out: Problem[] = [];
  ix.def.nodes.forEach((n, i) => checkApiTls(n, `nodes[${i}].api`, out));
  for (const m of ix.machines) {
    const allow = m.def.allowHostAccess;
    const path = `${m.path}.allowHostAccess`;
    if (m.type === "vm") {
      if (allow !== undefined)
        out.push(error(path, "allowHostAccess applies to LXC containers' lxcOptions only", "remove it from this VM"));
      continue;
    }
    const reaching = hostAccessOptions(m.def.lxcOptions);
    if (allow === true)
      out.push(
        error(
          path,
          `allowHostAccess on '${m.name}' needs the reason the guest may reach its node`,
          'write allowHostAccess: { reason: "…" } (who needs it and why), or remove it',
        ),
      );
    else if (typeof allow === "object" && allow.reason.trim() === "")
      out.push(error(`${path}.reason`, "the reason is empty", "say who needs host access for this guest and why"));
    const allowed = typeof allow === "object" && allow.reason.trim() !== "";
    if (!allowed)
      for (const o of reaching)
        out.push(
          error(
            `${m.path}.lxcOptions[${o.index}]`,
            `${o.key} gives '${m.name}' ${o.access}: ${o.why}`,
            `remove it (mountPoints and gpus cover bind mounts and GPUs), or, if the guest must reach its node, set ${path}: { reason: "…" }`,
          ),
        );
    else if (reaching.length === 0)
      out.push(
        warning(
          path,
          `allowHostAccess is set on '${m.name}', but none of its lxcOptions reach the node`,
          "remove allowHostAccess",
        ),
      );
  }
  return out;
}

function checkApiTls(n: Node, path: string, out: Problem[]) {
  const api = n.api;
  if (!api) return;
  if (/^http:/i.test(api.endpoint))
    out.push(
      error(
        `${path}.endpoint`,
        `node '${n.name}': the API endpoint ${api.endpoint} is plain http, which would send the login unencrypted`,
        "use https://<host>:8006/ (Proxmox serves its API over TLS only)",
      ),
    );
  if (api.insecure && api.fingerprint !== undefined)
    out.push(
      error(
        `${path}.insecure`,
        `node '${n.name}': insecure turns certificate checks off, and fingerprint pins the certificate`,
        "remove insecure: the pinned fingerprint is checked instead",
      ),
    );
  else if (api.insecure)
    out.push(
      warning(
        `${path}.insecure`,
        `TLS verification is off for node '${n.name}': anyone on the network path to ${api.endpoint} can read its API login`,
        `pin the node's certificate instead: set ${path}.fingerprint to its SHA-256 fingerprint and remove insecure; ${FINGERPRINT_HOWTO}`,
      ),
    );
}
