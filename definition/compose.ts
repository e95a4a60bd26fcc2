// What an app's compose file says, read without running Compose: its services and images, the variables it
// interpolates, the ports it publishes, its external volumes, the files it expects in its project directory, and
// the compose-file features the Compose v1 line (Debian 12's docker-compose 1.29) lacks. Pure.
import { parseDocument } from "yaml";
import { type VariableRef, composeRefs, interpolateCompose } from "./interpolation";

export type ComposeDoc = Record<string, unknown>;

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The compose file as data, or why it is not a compose file. */
export function parseCompose(text: string): { doc?: ComposeDoc; problem?: string } {
  const d = parseDocument(text, { uniqueKeys: true });
  if (d.errors.length > 0) {
    const e = d.errors[0]!;
    const at = e.linePos?.[0];
    return { problem: `not valid YAML${at ? ` at line ${at.line}, column ${at.col}` : ""}: ${e.message.split("\n")[0]}` };
  }
  const doc = d.toJS({ maxAliasCount: 100 }) as unknown;
  if (!isMap(doc)) return { problem: "not a compose file: the top level is not a mapping" };
  if (!isMap(doc.services) || Object.keys(doc.services).length === 0)
    return { problem: "not a compose file: it has no services" };
  for (const [name, s] of Object.entries(doc.services)) if (!isMap(s)) return { problem: `services.${name} is not a mapping` };
  return { doc };
}

export const services = (doc: ComposeDoc) => doc.services as Record<string, Record<string, unknown>>;

/** Every string value with its path (keys are not interpolated), e.g. services.web.environment.GREETING. */
export function stringValues(v: unknown, path = ""): { path: string; value: string }[] {
  if (typeof v === "string") return [{ path, value: v }];
  if (Array.isArray(v)) return v.flatMap((x, i) => stringValues(x, `${path}[${i}]`));
  if (isMap(v)) return Object.entries(v).flatMap(([k, x]) => stringValues(x, path ? `${path}.${k}` : k));
  return [];
}

export interface VariableUse extends VariableRef {
  /** Where in the compose file, e.g. services.web.environment[0]. */
  at: string;
}

/** Every variable the compose file interpolates, and the strings whose interpolation Compose would refuse. */
export function variableUses(doc: ComposeDoc): { uses: VariableUse[]; errors: { at: string; message: string }[] } {
  const uses: VariableUse[] = [];
  const errors: { at: string; message: string }[] = [];
  for (const { path, value } of stringValues(doc)) {
    // Extension fields (x-…) are interpolated too, but only where they are used; Compose reads them as they are.
    const { refs, error } = composeRefs(value);
    uses.push(...refs.map((r) => ({ ...r, at: path })));
    if (error) errors.push({ at: path, message: error });
  }
  return { uses, errors };
}

export interface PublishedPort {
  service: string;
  /** "" for every address. */
  hostIp: string;
  first: number;
  last: number;
  protocol: string;
  at: string;
}

/** The host side of `[ip:]host:container[/proto]`, or undefined when nothing is published on a fixed host port. */
function parseShortPort(spec: string): Omit<PublishedPort, "service" | "at"> | undefined {
  const [body, protocol = "tcp"] = spec.split("/") as [string, string?];
  // [ip:]host:container, where ip may be an IPv6 address in brackets
  const m = /^(?:(\[[^\]]+\]|[^:]*):)?([0-9-]*):([0-9-]+)$/.exec(body);
  if (!m || !m[2]) return undefined; // "80": an ephemeral host port
  const [first, last = first] = m[2].split("-").map(Number) as [number, number?];
  if (!Number.isInteger(first) || !Number.isInteger(last)) return undefined;
  const ip = (m[1] ?? "").replace(/^\[|\]$/g, "");
  return { hostIp: ip === "0.0.0.0" || ip === "::" ? "" : ip, first, last, protocol };
}

/** The ports the services publish on the host, resolved with `lookup`; entries that depend on unknown values are listed apart. */
export function publishedPorts(
  doc: ComposeDoc,
  lookup: (name: string) => string | undefined,
  unknown = new Set<string>(),
): { ports: PublishedPort[]; unresolved: string[] } {
  const ports: PublishedPort[] = [];
  const unresolved: string[] = [];
  for (const [service, s] of Object.entries(services(doc))) {
    const list = Array.isArray(s.ports) ? s.ports : [];
    list.forEach((p, i) => {
      const at = `services.${service}.ports[${i}]`;
      if (typeof p === "string" || typeof p === "number") {
        const spec = interpolateCompose(String(p), lookup, unknown);
        if (spec === undefined) return void unresolved.push(at);
        const parsed = parseShortPort(spec);
        if (parsed) ports.push({ service, at, ...parsed });
      } else if (isMap(p) && p.published !== undefined) {
        const published = interpolateCompose(String(p.published), lookup, unknown);
        if (published === undefined) return void unresolved.push(at);
        const [first, last = first] = published.split("-").map(Number) as [number, number?];
        const ip = typeof p.host_ip === "string" ? p.host_ip : "";
        if (Number.isInteger(first) && Number.isInteger(last))
          ports.push({
            service,
            at,
            hostIp: ip === "0.0.0.0" || ip === "::" ? "" : ip,
            first,
            last,
            protocol: typeof p.protocol === "string" ? p.protocol : "tcp",
          });
      }
    });
  }
  return { ports, unresolved };
}

/** Two published ports that cannot both be bound on one host. */
export function portsCollide(a: PublishedPort, b: PublishedPort): boolean {
  return (
    a.protocol === b.protocol &&
    a.first <= b.last &&
    b.first <= a.last &&
    (a.hostIp === "" || b.hostIp === "" || a.hostIp === b.hostIp)
  );
}

/** Top-level volumes marked external, by their key and the name Docker knows them by. */
export function externalVolumes(doc: ComposeDoc): { key: string; name: string }[] {
  if (!isMap(doc.volumes)) return [];
  return Object.entries(doc.volumes).flatMap(([key, v]) => {
    if (!isMap(v) || !v.external) return [];
    const legacy = isMap(v.external) && typeof v.external.name === "string" ? v.external.name : undefined;
    return [{ key, name: legacy ?? (typeof v.name === "string" ? v.name : key) }];
  });
}

/** A path in the compose file relative to its directory (the app's project directory on the guest). */
export interface ProjectPath {
  at: string;
  path: string;
  /** file: Compose reads or mounts exactly this file (secret, config, env_file); bind: a bind mount's source. */
  kind: "file" | "bind";
  /** Services that mount or read it. */
  services: string[];
}

const isRelative = (p: string) => p === "." || p.startsWith("./") || p.startsWith("../");

/** A bind source of a volume entry (short `src:dst[:mode]` or long syntax), when it is a relative path. */
function bindSource(v: unknown): string | undefined {
  if (typeof v === "string") {
    const src = v.split(":")[0]!;
    return isRelative(src) ? src : undefined;
  }
  if (isMap(v) && v.type === "bind" && typeof v.source === "string" && isRelative(v.source)) return v.source;
  return undefined;
}

/** Names of a service's secrets or configs (short names or { source }). */
function refNames(list: unknown): string[] {
  return Array.isArray(list)
    ? list.flatMap((x) => (typeof x === "string" ? [x] : isMap(x) && typeof x.source === "string" ? [x.source] : []))
    : [];
}

/** Every relative path the compose file uses, with the services that use it. */
export function projectPaths(doc: ComposeDoc): ProjectPath[] {
  const out: ProjectPath[] = [];
  for (const [service, s] of Object.entries(services(doc))) {
    (Array.isArray(s.volumes) ? s.volumes : []).forEach((v, i) => {
      const src = bindSource(v);
      if (src !== undefined) out.push({ at: `services.${service}.volumes[${i}]`, path: src, kind: "bind", services: [service] });
    });
    const envFiles = typeof s.env_file === "string" ? [s.env_file] : Array.isArray(s.env_file) ? s.env_file : [];
    envFiles.forEach((e, i) => {
      const p = typeof e === "string" ? e : isMap(e) && typeof e.path === "string" ? e.path : undefined;
      if (p !== undefined) out.push({ at: `services.${service}.env_file[${i}]`, path: p, kind: "file", services: [service] });
    });
  }
  for (const top of ["secrets", "configs"] as const) {
    const section = doc[top];
    if (!isMap(section)) continue;
    for (const [key, v] of Object.entries(section)) {
      if (!isMap(v) || typeof v.file !== "string") continue;
      const users = Object.entries(services(doc))
        .filter(([, s]) => refNames(s[top]).includes(key))
        .map(([name]) => name);
      out.push({ at: `${top}.${key}.file`, path: v.file, kind: "file", services: users });
    }
  }
  return out;
}

/** Normalises ./a/../b forms; undefined when the path leaves the project directory. */
export function normalizeProjectPath(p: string): string | undefined {
  const parts: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(seg);
  }
  return parts.join("/");
}

/** Services another service waits for with `condition: service_completed_successfully`: one-shot jobs, done once exited 0. */
export function jobServices(doc: ComposeDoc): string[] {
  const jobs = new Set<string>();
  for (const s of Object.values(services(doc)))
    if (isMap(s.depends_on))
      for (const [dep, v] of Object.entries(s.depends_on))
        if (isMap(v) && v.condition === "service_completed_successfully") jobs.add(dep);
  return [...jobs].sort();
}

/** Services `up` starts: those without profiles (a profile has to be asked for). */
export function startedServices(doc: ComposeDoc): string[] {
  return Object.entries(services(doc))
    .filter(([, s]) => !(Array.isArray(s.profiles) && s.profiles.length > 0))
    .map(([n]) => n)
    .sort();
}

/** A compose-file feature the Compose v1 line (docker-compose 1.29) does not have, where the file uses it. */
export interface MissingInV1 {
  at: string;
  feature: string;
}

/** What a file relies on that docker-compose 1.29 lacks (it refuses it, or silently ignores it). */
export function featuresMissingInV1(doc: ComposeDoc, uses: readonly VariableUse[]): MissingInV1[] {
  const out: MissingInV1[] = [];
  if (doc.name !== undefined) out.push({ at: "name", feature: "the top-level name (Compose v2.3+)" });
  if (doc.include !== undefined) out.push({ at: "include", feature: "include (Compose v2.20+)" });
  if (doc.configs !== undefined) out.push({ at: "configs", feature: "configs outside swarm mode (1.29 ignores them)" });
  if (isMap(doc.secrets))
    for (const [k, v] of Object.entries(doc.secrets))
      if (isMap(v) && (v.environment !== undefined || v.content !== undefined))
        out.push({ at: `secrets.${k}`, feature: "secrets from environment or content (Compose v2)" });
  for (const [name, s] of Object.entries(services(doc))) {
    for (const key of ["develop", "post_start", "pre_stop", "gpus", "models", "provider"])
      if (s[key] !== undefined) out.push({ at: `services.${name}.${key}`, feature: `${key} (Compose v2)` });
    if (Array.isArray(s.env_file) && s.env_file.some(isMap))
      out.push({ at: `services.${name}.env_file`, feature: "env_file entries with path/required (Compose v2.24+)" });
    if (isMap(s.depends_on))
      for (const [dep, v] of Object.entries(s.depends_on))
        if (isMap(v) && (v.required !== undefined || v.restart !== undefined))
          out.push({ at: `services.${name}.depends_on.${dep}`, feature: "depends_on with required/restart (Compose v2.17+)" });
  }
  for (const u of uses) {
    if (u.operator === ":+" || u.operator === "+")
      out.push({ at: u.at, feature: `\${${u.name}${u.operator}…} (alternative values: Compose v2)` });
    if (u.nested) out.push({ at: u.at, feature: `nested interpolation in \${${u.name}${u.operator}…} (Compose v2)` });
  }
  return out;
}
