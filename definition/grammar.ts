// The grammar of values that end up in Proxmox property strings, ZFS commands, shell variables and SSH: one place,
// so the schema refuses at validation what Proxmox, ZFS or the engine would refuse (or misread) during `up`.

/** pool/dataset[/child…]: ZFS's characters, no `.` or `..` component, at most 255 characters (ZFS_MAX_DATASET_NAME_LEN). */
export const DATASET_NAME = /^(?=[^\n]{1,255}$)[A-Za-z0-9][A-Za-z0-9_.:-]*(\/(?!\.\.?(\/|$))[A-Za-z0-9_.:-]+)+$/;

/** Native properties (compression), user properties (module:name) and user/group/project quotas (userquota@bob). */
export const PROPERTY_NAME =
  /^[a-z][a-z0-9_]*$|^[a-z0-9_.+-]+:[A-Za-z0-9_.:+-]+$|^(user|group|project)(obj)?(quota|used)@[^\s=]+$/;

/**
 * Control characters (NUL … US, and DEL) as a character-class range: what most patterns here refuse. Kept as text and
 * compiled with RegExp so the one place that names them is this line (ESLint's no-control-regex guards literals).
 */
const CTL = "\\x00-\\x1f\\x7f";

/** A control character anywhere (newline, CR, NUL, tab, ESC …). */
export const HAS_CONTROL = new RegExp(`[${CTL}]`);

/** Any character but control characters: one line of text. */
export const ONE_LINE = new RegExp(`^[^${CTL}]*$`);

/** An http(s) URL with no white space or control character (zod's url() would silently drop them). */
export const HTTP_URL = new RegExp(`^https?://[^\\s${CTL}]+$`);

/** One raw LXC config line, `lxc.key = value` or `lxc.key: value`, with nothing that would start another line. */
export const LXC_OPTION_LINE = new RegExp(`^lxc\\.[a-z0-9_.-]+\\s*[:=][^${CTL}]*$`);

/** An OpenSSH public key line: type, base64 key, optional comment on the same line. */
export const SSH_PUBLIC_KEY = new RegExp(`^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-\\S+|sk-\\S+) [A-Za-z0-9+/=]+( [^${CTL}]*)?$`);

/** An absolute directory of the node (a storage's path): nothing a config line or option string would misread. */
export const HOST_DIRECTORY = new RegExp(`^/[^,=\\s${CTL}]*$`);

/**
 * A path in a Proxmox property string (mp0: <volume>,mp=<path>): absolute, no `..` component, and none of what the
 * property string or the LXC config line would read as syntax (`,` separates options, `=` starts a value, white
 * space and control characters end the line or the value).
 */
export const PROPERTY_PATH = new RegExp(`^(?!.*(^|/)\\.\\.(/|$))(?=.{1,4096}$)/[^,=\\s${CTL}]*$`);

/** A relative directory below a dataset's mountpoint, with the same restrictions as PROPERTY_PATH. */
export const PROPERTY_SUBDIR = new RegExp(`^(?!/)(?!.*(^|/)\\.\\.(/|$))(?=.{1,4096}$)[^,=\\s${CTL}]+$`);

/**
 * pve-container's net[n] name pattern [-_.\w\d]+, within Linux's 15-character interface names (IFNAMSIZ), starting with
 * a letter or digit (a leading '-' would read as an option to the tools that take the name).
 */
export const NIC_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

/** Proxmox's pve-tag: a letter, digit or `_`, then letters, digits, `_ - + .` (tags are `;`-separated). */
export const PVE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_+.-]{0,127}$/;

/** A DNS name (search domain, network domain): dot-separated labels of letters, digits and `-`. */
export const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** One DNS label as a guest's or service's name under the domain: lower-case letters, digits and '-'. */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A fully qualified DNS name: a DNS name of two labels at least (host.domain). */
export const isFqdn = (v: string) => DNS_NAME.test(v) && v.includes(".");

/** A host to SSH to: a DNS name, an IPv4 address or an IPv6 address. */
export const SSH_HOST = /^(?=.{1,253}$)([A-Za-z0-9][A-Za-z0-9.-]*|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/;

/** A POSIX user name as Debian's adduser takes it (root, phoenix, ci-bot). */
export const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** A host key to pin: an OpenSSH public key line ("ssh-ed25519 AAAA… [comment]") or a "SHA256:…" fingerprint. */
export const SSH_HOST_KEY = new RegExp(
  `^((ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+) AAAA[A-Za-z0-9+/]+={0,3}( [^${CTL}]*)?|SHA256:[A-Za-z0-9+/]{43}=?)$`,
);

/** A shell variable name, what a script's env key becomes (`export NAME`). */
export const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** bash's read-only variables: a script whose env sets one fails before it starts. */
export const BASH_READONLY = ["BASHOPTS", "BASH_ARGV0", "BASH_VERSINFO", "EUID", "PPID", "SHELLOPTS", "UID"];

/** SHA-256 of a certificate as `pvenode cert info` prints it (AB:CD:…, 32 bytes); plain hex is accepted too. */
export const CERT_FINGERPRINT = /^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$/;

/** Canonical form of a certificate fingerprint, for comparing: upper-case hex pairs joined by `:`. */
export function normalizeFingerprint(f: string): string {
  return (
    f
      .replace(/^sha256:/i, "")
      .replace(/:/g, "")
      .toUpperCase()
      .match(/../g)
      ?.join(":") ?? ""
  );
}
