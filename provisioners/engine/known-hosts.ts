// OpenSSH known_hosts files: the Proxmox provider's own SSH (bpg's client) trusts the keys in $HOME/.ssh/known_hosts
// and adds unknown hosts on first use, with no setting for a host key. Writing a node's pinned key there before the
// provider connects turns its trust-on-first-use into the pin. Provider code: builtins are required inside functions.
import { EngineError } from "./errors";
import { fingerprintOf } from "./host-key";

/** How known_hosts names a host: the address for port 22, `[address]:port` otherwise. */
export function knownHostsName(host: string, port = 22): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The known_hosts file the Proxmox provider reads: $HOME/.ssh/known_hosts of the process (the pulumi CLI's HOME). */
export function defaultKnownHostsFile(): string {
  const os = require("node:os") as typeof import("node:os");
  const path = require("node:path") as typeof import("node:path");
  return path.join(os.homedir(), ".ssh", "known_hosts");
}

/** One key line of a known_hosts file. */
export interface KnownHostsEntry {
  line: number;
  type: string;
  /** base64 of the key blob. */
  key: string;
}

/** Whether a host-pattern field (comma-separated, or a hashed |1|salt|hash entry) names exactly this host. */
function namesHost(field: string, name: string): boolean {
  if (field.startsWith("|1|")) {
    const [, , salt, hash] = field.split("|");
    if (!salt || !hash) return false;
    const { createHmac } = require("node:crypto") as typeof import("node:crypto");
    return createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
  }
  // Wildcard and negated patterns are not exact names: they neither match nor conflict here.
  return field.split(",").some((p) => p === name);
}

/** The entries for a host (exact or hashed names; @revoked and @cert-authority lines are left out). */
export function entriesFor(text: string, name: string): KnownHostsEntry[] {
  const out: KnownHostsEntry[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("@")) return;
    const [hosts, type, key] = line.split(/\s+/);
    if (hosts && type && key && namesHost(hosts, name)) out.push({ line: i + 1, type, key });
  });
  return out;
}

export class KnownHostsConflictError extends EngineError {
  constructor(
    readonly file: string,
    readonly host: string,
    readonly pinned: string,
    readonly recorded: string,
    readonly line: number,
  ) {
    super(
      "KnownHostsConflictError",
      `${file} line ${line} holds another ${pinned.split(" ")[0]} key for ${host} (${fingerprintOf(Buffer.from(recorded.split(" ")[1] ?? "", "base64"))}) ` +
        `than the one pinned for it (${fingerprintOf(Buffer.from(pinned.split(" ")[1] ?? "", "base64"))}); the Proxmox provider ` +
        `would refuse the host or trust the wrong one. If the node was rebuilt on purpose, remove the old line ` +
        `(ssh-keygen -R '${host}' -f ${file}); otherwise find out why the keys differ before going on.`,
    );
  }
}

/**
 * Adds `name key` to the file unless it is there; creates the file (0600) and its directory (0700). Refuses, with both
 * fingerprints, when the file holds another key of the same type for the name. Returns whether it added the line.
 */
export function ensureKnownHost(file: string, name: string, openssh: string): boolean {
  const fs = require("node:fs") as typeof import("node:fs");
  const path = require("node:path") as typeof import("node:path");
  const [type, key] = openssh.trim().split(/\s+/);
  if (!type || !key) throw new Error(`not an OpenSSH public key: ${JSON.stringify(openssh)}`);
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  const entries = entriesFor(text, name).filter((e) => e.type === type);
  if (entries.some((e) => e.key === key)) return false;
  const other = entries[0];
  if (other) throw new KnownHostsConflictError(file, name, `${type} ${key}`, `${other.type} ${other.key}`, other.line);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const sep = text === "" || text.endsWith("\n") ? "" : "\n";
  fs.appendFileSync(file, `${sep}${name} ${type} ${key}\n`, { mode: 0o600 });
  return true;
}
