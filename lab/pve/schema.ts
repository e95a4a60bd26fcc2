// Parameter checking the way Proxmox's JSON schema does it (PVE::JSONSchema): types, ranges, enums,
// patterns, named formats and property-string formats, unknown parameters refused. Pure. Messages
// follow Proxmox's wording so a rejected request reads the same as on a real node.
import { type PropertyFormat, PropertyStringError, parsePropertyString, parseSize, splitList } from "./pve-config";

interface Base {
  optional?: boolean;
  /** Property strings: printed bare / receives a bare value. */
  defaultKey?: boolean;
  alias?: string;
}
export interface IntegerSchema extends Base {
  type: "integer";
  minimum?: number;
  maximum?: number;
}
export interface NumberSchema extends Base {
  type: "number";
  minimum?: number;
  maximum?: number;
}
export interface BooleanSchema extends Base {
  type: "boolean";
}
export interface StringSchema extends Base {
  type: "string";
  enum?: readonly string[];
  /** Anchored like Proxmox does: ^(?:pattern)$ */
  pattern?: string;
  maxLength?: number;
  minLength?: number;
  format?: FormatName | PropertyStringSchema;
  /** A format with its own parser (e.g. a VM's net[n]): records errors and says whether the value is fine. */
  verify?: (value: string, path: string, errors: Errors) => boolean;
}
export interface ArraySchema extends Base {
  type: "array";
  items: StringSchema;
}
export type Schema = IntegerSchema | NumberSchema | BooleanSchema | StringSchema | ArraySchema;
/** A property-string format: sub-key → schema. */
export type PropertyStringSchema = Record<string, Schema>;
export type ParamSchema = Record<string, Schema>;

export type Errors = Record<string, string>;

/**
 * The entry of a schema, format or option table for a name the request chose, or undefined: only the table's own
 * keys count, so `constructor`, `toString` or `__proto__` never reach Object.prototype.
 */
export function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** An error map that takes any parameter name as a plain key (`__proto__` included). */
export function emptyErrors(): Errors {
  return Object.create(null) as Errors;
}

// ---------------------------------------------------------------------------------------------
// Named formats

const DNS_LABEL = "([a-zA-Z0-9]([a-zA-Z0-9\\-]*[a-zA-Z0-9])?)";
const DNS_NAME = new RegExp(`^(${DNS_LABEL}\\.)*${DNS_LABEL}$`);
const IPV4_OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = new RegExp(`^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`);
const STORAGE_ID = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;
const CONFIG_ID = /^[a-z][a-z_\-0-9]*[a-z0-9]$/i;
const TAG = /^[a-z0-9_][a-z0-9_\-+.]*$/i;

export function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

export function isIPv6(s: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(":")) return false;
  let text = s;
  let groups = 8;
  const last = text.slice(text.lastIndexOf(":") + 1);
  if (last.includes(".")) {
    if (!isIPv4(last)) return false;
    text = text.slice(0, text.lastIndexOf(":") + 1) + "0:0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const parts = (h: string) => (h === "" ? [] : h.split(":"));
  const all = halves.flatMap(parts);
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  if (halves.length === 2) return all.length < groups;
  groups = all.length;
  return groups === 8;
}

function cidr(s: string, v: 4 | 6): boolean {
  const m = /^(.+)\/(\d+)$/.exec(s);
  if (!m) return false;
  const bits = Number(m[2]);
  return v === 4 ? isIPv4(m[1]!) && bits >= 0 && bits <= 32 : isIPv6(m[1]!) && bits >= 0 && bits <= 128;
}

export function isUnicastMac(s: string): boolean {
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(s) && (parseInt(s.slice(0, 2), 16) & 1) === 0;
}

/** Format verifiers: undefined when fine, else Proxmox's message. */
const FORMATS = {
  "pve-node": (v: string) =>
    /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(v) ? undefined : `value does not look like a valid node name`,
  "dns-name": (v: string) => (DNS_NAME.test(v) ? undefined : `value does not look like a valid DNS name`),
  "dns-name-list": (v: string) =>
    splitList(v).every((n) => DNS_NAME.test(n)) ? undefined : `value does not look like a valid DNS name`,
  "pve-configid": (v: string) => (CONFIG_ID.test(v) ? undefined : `invalid configuration ID '${v}'`),
  "pve-configid-list": (v: string) =>
    splitList(v)
      .map((id) => (CONFIG_ID.test(id) ? undefined : `invalid configuration ID '${id}'`))
      .find(Boolean),
  "pve-ha-resource-id-list": (v: string) =>
    splitList(v).every((s) => /^[a-z]+:\S+$/.test(s)) ? undefined : `value does not look like a valid ha resource id`,
  "pve-ha-node-list": (v: string) =>
    splitList(v).every((n) => /^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)(:\d+)?$/.test(n))
      ? undefined
      : `value does not look like a valid ha node`,
  "pve-storage-id": (v: string) => (STORAGE_ID.test(v) ? undefined : `storage ID '${v}' contains illegal characters`),
  "pve-volume-id": (v: string) =>
    /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i.test(v) ? undefined : `unable to parse volume ID '${v}'`,
  "pve-poolid": (v: string) => (/^[A-Za-z0-9_-]+$/.test(v) ? undefined : `pool name '${v}' contains illegal characters`),
  "pve-bridge-id": (v: string) => (/^[-_.\w\d]+$/.test(v) ? undefined : `invalid bridge ID '${v}'`),
  "mac-addr": (v: string) => (isUnicastMac(v) ? undefined : `value does not look like a valid unicast MAC address`),
  ipv4: (v: string) => (isIPv4(v) ? undefined : `value does not look like a valid IPv4 address`),
  ipv6: (v: string) => (isIPv6(v) ? undefined : `value does not look like a valid IPv6 address`),
  ip: (v: string) => (isIPv4(v) || isIPv6(v) ? undefined : `value does not look like a valid IP address`),
  "address-list": (v: string) =>
    splitList(v).every((a) => isIPv4(a) || isIPv6(a)) ? undefined : `value does not look like a valid IP address`,
  "pve-ipv4-config": (v: string) =>
    v === "dhcp" || v === "manual" || cidr(v, 4) ? undefined : `value does not look like a valid ipv4 network configuration`,
  "pve-ipv6-config": (v: string) =>
    v === "auto" || v === "dhcp" || v === "manual" || cidr(v, 6)
      ? undefined
      : `value does not look like a valid ipv6 network configuration`,
  CIDRv4: (v: string) => (cidr(v, 4) ? undefined : `value does not look like a valid IPv4 CIDR network`),
  CIDRv6: (v: string) => (cidr(v, 6) ? undefined : `value does not look like a valid IPv6 CIDR network`),
  "pve-tag-list": (v: string) => {
    const tags = splitList(v);
    if (!tags.length) return `no tags given`;
    return tags.map((t) => (TAG.test(t) ? undefined : `invalid tag '${t}'`)).find(Boolean);
  },
  "disk-size": (v: string) => (parseSize(v) === undefined ? `unable to parse size '${v}'` : undefined),
  "pve-lxc-mp-string": (v: string) =>
    /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i.test(v) || v.startsWith("/") ? undefined : `unable to parse mount point volume '${v}'`,
  "pve-lxc-mp-path": (v: string) =>
    v.startsWith("/") && !v.split("/").includes("..") ? undefined : `invalid path '${v}' (must be absolute, without '..')`,
  "pve-lxc-dev-string": (v: string) =>
    /^\/dev\/.+/.test(v) && !v.split("/").includes("..") ? undefined : `not a valid device path`,
  urlencoded: (v: string) => {
    try {
      decodeURIComponent(v);
      return /[^A-Za-z0-9%._~-]/.test(v) ? `invalid urlencoded string: ${v}` : undefined;
    } catch {
      return `invalid urlencoded string: ${v}`;
    }
  },
  "pve-startup-order": (v: string) =>
    /^(?:(?:order=)?\d+)?(?:,?up=\d+)?(?:,?down=\d+)?$/.test(v) && v !== "" ? undefined : `unable to parse startup options`,
  "pve-hotplug-features": (v: string) =>
    /^(?:(?:network|disk|cpu|memory|usb|cloudinit)(?:,(?:network|disk|cpu|memory|usb|cloudinit))*|0|1)$/.test(v)
      ? undefined
      : `invalid hotplug feature '${v}'`,
  "pci-id": (v: string) =>
    v.split(";").every((p) => /^(?:[a-f0-9]{4,}:)?[a-f0-9]{2}:[a-f0-9]{2}(?:\.[a-f0-9])?$/i.test(p))
      ? undefined
      : `value does not look like a valid PCI address`,
  "pci-vendor-device": (v: string) => (/^[0-9a-f]{4}:[0-9a-f]{4}$/i.test(v) ? undefined : `invalid PCI ID '${v}'`),
} satisfies Record<string, (v: string) => string | undefined>;

export type FormatName = keyof typeof FORMATS;

// ---------------------------------------------------------------------------------------------
// Checking values

/** An integer in what Perl's and Proxmox's typed clients hold (64-bit signed); beyond that it is no integer to them. */
export function isInteger(v: string): boolean {
  if (!/^[+-]?\d+$/.test(v)) return false;
  const n = BigInt(v);
  return n >= -(2n ** 63n) && n < 2n ** 63n;
}

export function isNumber(v: string): boolean {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v);
}

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off)$/i;

/** Checks one value; records errors under `path` (and `path.sub` for property strings). Returns the normalized value. */
export function checkValue(schema: Schema, value: string, path: string, errors: Errors): string | undefined {
  switch (schema.type) {
    case "integer":
    case "number": {
      if (!(schema.type === "integer" ? isInteger(value) : isNumber(value))) {
        errors[path] = `type check ('${schema.type}') failed - got '${value}'`;
        return undefined;
      }
      const n = Number(value);
      if (schema.minimum !== undefined && n < schema.minimum) {
        errors[path] = `value must have a minimum value of ${schema.minimum}`;
        return undefined;
      }
      if (schema.maximum !== undefined && n > schema.maximum) {
        errors[path] = `value must have a maximum value of ${schema.maximum}`;
        return undefined;
      }
      return value;
    }
    case "boolean":
      if (TRUE.test(value)) return "1";
      if (FALSE.test(value)) return "0";
      errors[path] = `type check ('boolean') failed - got '${value}'`;
      return undefined;
    case "array":
      return checkValue(schema.items, value, path, errors);
    case "string": {
      if (schema.maxLength !== undefined && value.length > schema.maxLength) {
        errors[path] = `value may only be ${schema.maxLength} characters long`;
        return undefined;
      }
      if (schema.minLength !== undefined && value.length < schema.minLength) {
        errors[path] = `value must be at least ${schema.minLength} characters long`;
        return undefined;
      }
      if (schema.enum && !schema.enum.includes(value)) {
        errors[path] = `value '${value}' does not have a value in the enumeration '${schema.enum.join(", ")}'`;
        return undefined;
      }
      if (schema.pattern && !new RegExp(`^(?:${schema.pattern})$`).test(value)) {
        errors[path] = `value does not match the regex pattern`;
        return undefined;
      }
      if (schema.verify) return schema.verify(value, path, errors) ? value : undefined;
      if (schema.format === undefined) return value;
      if (typeof schema.format === "string") {
        const problem = FORMATS[schema.format](value);
        if (problem) {
          errors[path] = `invalid format - ${problem}\n`;
          return undefined;
        }
        return value;
      }
      return checkPropertyString(schema.format, value, path, errors) ? value : undefined;
    }
  }
}

export function propertyFormat(format: PropertyStringSchema): PropertyFormat {
  return Object.fromEntries(
    Object.entries(format).map(([k, s]) => [
      k,
      {
        ...(s.defaultKey ? { defaultKey: true } : {}),
        ...(!s.optional ? { required: true } : {}),
        ...(s.type === "string" && s.format === "disk-size" ? { diskSize: true } : {}),
        ...(s.alias ? { alias: s.alias } : {}),
      },
    ]),
  );
}

/** Parses and checks a property string; undefined (with errors recorded) when Proxmox would refuse it. */
export function checkPropertyString(
  format: PropertyStringSchema,
  value: string,
  path: string,
  errors: Errors,
): Record<string, string> | undefined {
  let parsed: Record<string, string>;
  try {
    parsed = parsePropertyString(value, propertyFormat(format));
  } catch (e) {
    const err = e as PropertyStringError;
    errors[path] = `invalid format - ${err.key ? `${path}.${err.key}: ` : ""}${err.message}\n`;
    return undefined;
  }
  const sub = emptyErrors();
  for (const [k, v] of Object.entries(parsed)) {
    const s = own(format, k)!;
    // disk sizes are already bytes
    if (s.type === "string" && s.format === "disk-size") continue;
    const normalized = checkValue(s, v, `${path}.${k}`, sub);
    if (normalized !== undefined) parsed[k] = normalized;
  }
  const problems = Object.entries(sub);
  if (problems.length) {
    errors[path] = `invalid format - ${problems.map(([p, m]) => `${p}: ${m.trimEnd()}`).join("\n")}\n`;
    return undefined;
  }
  return parsed;
}

export type Params = Record<string, string | string[]>;

/**
 * Checks request parameters against an endpoint's schema, as Proxmox does before running the handler:
 * unknown parameters, missing required ones and malformed values are all reported at once.
 */
export function validateParams(
  schema: ParamSchema,
  params: Params,
  patterns: [RegExp, Schema][] = [],
): { values: Record<string, string>; arrays: Record<string, string[]>; errors: Errors } {
  const errors = emptyErrors();
  const values: Record<string, string> = Object.create(null);
  const arrays: Record<string, string[]> = Object.create(null);
  for (const [key, raw] of Object.entries(params)) {
    const s = own(schema, key) ?? patterns.find(([re]) => re.test(key))?.[1];
    if (!s) {
      errors[key] = "property is not defined in schema and the schema does not allow additional properties";
      continue;
    }
    const list = Array.isArray(raw) ? raw : [raw];
    if (s.type === "array") {
      const out: string[] = [];
      list.forEach((v, i) => {
        const n = checkValue(s, v, `${key}[${i}]`, errors);
        if (n !== undefined) out.push(n);
      });
      arrays[key] = out;
      continue;
    }
    // repeated fields arrive NUL-joined, as Proxmox's HTTP layer passes them on
    const value = list.join("\0");
    if (value.includes("\0") && !(s.type === "string" && typeof s.format === "string" && s.format.endsWith("-list"))) {
      errors[key] = `type check ('${s.type}') failed - got '${value.replace(/\0/g, "\\0")}'`;
      continue;
    }
    const n = checkValue(s, value, key, errors);
    if (n !== undefined) values[key] = n;
  }
  for (const [key, s] of Object.entries(schema))
    if (!s.optional && !Object.hasOwn(params, key) && errors[key] === undefined)
      errors[key] = "property is missing and it is not optional";
  return { values, arrays, errors };
}
