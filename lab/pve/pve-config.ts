// Proxmox VE's own text encodings, pure: guest config files (`key: value` lines, the description as
// `#` comments, `[snapshot]` sections, raw `lxc.*` entries), property strings (`vol,k=v,k=v` with a
// default key printed bare, required keys next, the rest sorted), disk sizes (`4G`) and list splitting.
// Written from Proxmox's documented behaviour (PVE::JSONSchema, PVE::Tools, PVE::LXC::Config).
import { createHash } from "node:crypto";

/** A guest's main config section: key → raw value, as Proxmox stores it (description in plain text). */
export type PveConfig = Record<string, string>;

export interface ConfigFile {
  config: PveConfig;
  /** Raw `lxc.*` entries of a container config, in file order (keys may repeat, e.g. lxc.idmap). */
  lxc: [string, string][];
  /** `[name]` sections (snapshots, `pending`), each with its own description. */
  sections: Record<string, PveConfig>;
}

// ---------------------------------------------------------------------------------------------
// Text encoding of comments (PVE::Tools::encode_text: control characters, ':', '%' (since pve-common's fix #5486)
// and non-ASCII)

export function encodeText(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const safe = (byte >= 0x20 && byte <= 0x39 && byte !== 0x25) || (byte >= 0x3b && byte <= 0x7e);
    out += safe ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export function decodeText(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const m = /^%([0-9a-fA-F]{2})/.exec(text.slice(i));
    if (m) {
      bytes.push(parseInt(m[1]!, 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i]!, "utf8"));
  }
  return Buffer.from(bytes).toString("utf8");
}

// ---------------------------------------------------------------------------------------------
// Config files

const KEY_LINE = /^([a-z][a-z_\-0-9.]*):\s*(.*?)\s*$/i;

export function parseConfigFile(text: string): ConfigFile {
  const result: ConfigFile = { config: {}, lxc: [], sections: {} };
  let current: PveConfig = result.config;
  let descr = "";
  const flushDescr = () => {
    if (descr && current.description === undefined) current.description = descr;
    descr = "";
  };
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const section = /^\[([a-z][a-z0-9_-]+)\]\s*$/i.exec(line);
    if (section) {
      flushDescr();
      current = result.sections[section[1]!] = {};
      continue;
    }
    if (line.startsWith("#")) {
      descr += `${decodeText(line.slice(1))}\n`;
      continue;
    }
    const m = KEY_LINE.exec(line);
    if (!m) throw new Error(`unable to parse config line: ${line}`);
    const [, key, value] = m as unknown as [string, string, string];
    if (key.startsWith("lxc.") && current === result.config) result.lxc.push([key, value]);
    else current[key] = value;
  }
  flushDescr();
  return result;
}

/** A description as Proxmox returns it after storing it as comment lines: each line ends with a newline. */
export function canonicalDescription(text: string): string {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => `${l}\n`).join("");
}

function printSection(conf: PveConfig): string {
  let raw = "";
  for (const line of canonicalDescription(conf.description ?? "")
    .split("\n")
    .slice(0, -1))
    raw += `#${encodeText(line)}\n`;
  for (const key of Object.keys(conf).sort()) {
    if (key === "description" || key === "digest") continue;
    const value = conf[key]!;
    if (/\n/.test(value)) throw new Error(`detected invalid newline inside property '${key}'`);
    raw += `${key}: ${value}\n`;
  }
  return raw;
}

/** A config file as Proxmox writes it: description comments first, keys sorted, lxc.* entries, then sections. */
export function printConfigFile(file: ConfigFile): string {
  let raw = printSection(file.config);
  for (const [k, v] of file.lxc) raw += `${k}: ${v}\n`;
  for (const name of Object.keys(file.sections).sort()) raw += `\n[${name}]\n${printSection(file.sections[name]!)}`;
  return raw;
}

/** The `digest` Proxmox returns with a config: SHA-1 of the config file's text. */
export function configDigest(file: ConfigFile): string {
  return createHash("sha1").update(printConfigFile(file)).digest("hex");
}

// ---------------------------------------------------------------------------------------------
// Lists and sizes

/** PVE::Tools::split_list: NUL-separated (repeated form fields), else split on commas, semicolons and spaces. */
export function splitList(text: string | undefined): string[] {
  if (!text) return [];
  if (text.includes("\0")) return text.split("\0").filter((s) => s !== "");
  return text
    .replace(/[,;]/g, " ")
    .trim()
    .split(/\s+/)
    .filter((s) => s !== "");
}

const UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** A disk size as Proxmox accepts it (`8G`, `512M`, `1.5G`, plain bytes) → bytes; undefined when malformed. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMGT])?$/.exec(text);
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * (m[2] ? UNITS[m[2]]! : 1));
}

/** Bytes → the largest unit that divides evenly (PVE::JSONSchema::format_size): 4294967296 → "4G". */
export function formatSize(bytes: number): string {
  let size = Math.floor(bytes);
  for (const unit of ["", "K", "M", "G"]) {
    if (size % 1024 !== 0 || size === 0) return `${size}${unit}`;
    size /= 1024;
  }
  return `${size}T`;
}

// ---------------------------------------------------------------------------------------------
// Property strings

export interface PropertyKey {
  /** Printed without `key=`; a bare value in the input belongs to it. */
  defaultKey?: boolean;
  /** Not optional: printed right after the default key. */
  required?: boolean;
  /** Values are sizes: parsed to bytes and printed with formatSize. */
  diskSize?: boolean;
  /** Another key this one stands for. */
  alias?: string;
}

export type PropertyFormat = Record<string, PropertyKey>;

export class PropertyStringError extends Error {
  constructor(
    message: string,
    /** Sub-key the error is about, when there is one. */
    readonly key?: string,
  ) {
    super(message);
  }
}

/** Parses `v,k=v,...` by a format: unknown keys, duplicates and a second bare value are errors. */
export function parsePropertyString(text: string, format: PropertyFormat): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  const defaultKey = Object.keys(format).find((k) => format[k]!.defaultKey);
  for (const part of text.split(",")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    let key: string;
    let value: string;
    if (eq === -1) {
      if (!defaultKey) throw new PropertyStringError(`value without key, but schema does not define a default key`);
      if (out[defaultKey] !== undefined) throw new PropertyStringError(`default key '${defaultKey}' was already set`, defaultKey);
      key = defaultKey;
      value = part;
    } else {
      key = part.slice(0, eq);
      value = part.slice(eq + 1);
      // Own keys only: a key named constructor or __proto__ is not in any format.
      const desc = Object.hasOwn(format, key) ? format[key] : undefined;
      if (!desc)
        throw new PropertyStringError(
          `property is not defined in schema and the schema does not allow additional properties`,
          key,
        );
      if (desc.alias) key = desc.alias;
      if (out[key] !== undefined) throw new PropertyStringError(`duplicate key in comma-separated list property: ${key}`, key);
    }
    if (Object.hasOwn(format, key) && format[key]!.diskSize) {
      const bytes = parseSize(value);
      if (bytes === undefined) throw new PropertyStringError(`invalid size: ${value}`, key);
      value = String(bytes);
    }
    out[key] = value;
  }
  for (const [key, desc] of Object.entries(format))
    if (desc.required && out[key] === undefined) throw new PropertyStringError(`property is missing and it is not optional`, key);
  return out;
}

/** Prints a property string as Proxmox does: default key bare, then required keys, then the rest, each group sorted. */
export function printPropertyString(
  data: Record<string, string | undefined>,
  format: PropertyFormat,
  skip: string[] = [],
): string {
  const parts: string[] = [];
  const done = new Set(skip);
  const add = (key: string, bare: boolean) => {
    if (done.has(key)) return;
    done.add(key);
    const value = data[key];
    if (value === undefined) return;
    const desc = format[key];
    if (!desc) throw new Error(`invalid key '${key}'`);
    const text = desc.diskSize ? formatSize(Number(value)) : value;
    if (text.includes(",")) throw new Error(`illegal value with commas for ${key}`);
    parts.push(bare ? text : `${key}=${text}`);
  };
  const defaultKey = Object.keys(format).find((k) => format[k]!.defaultKey);
  if (defaultKey) add(defaultKey, true);
  const keys = Object.keys(data).sort();
  for (const k of keys) if (format[k]?.required) add(k, false);
  for (const k of keys) add(k, false);
  return parts.join(",");
}

// ---------------------------------------------------------------------------------------------
// Tags

/** Proxmox's stored form of a tag list: split on `;`, `,` and spaces, de-duplicated, sorted, joined with `;`. */
export function normalizeTags(text: string): string {
  return [...new Set(splitList(text))].sort().join(";");
}

/** A QEMU netN value's MAC: the value of its model key (`virtio=BC:24:11:…,bridge=vmbr0`), or undefined. */
export function qemuNicMac(parts: Record<string, string>): string | undefined {
  return Object.entries(parts).find(([k]) => /^(virtio|e1000|e1000e|rtl8139|vmxnet3)$/.test(k))?.[1];
}
