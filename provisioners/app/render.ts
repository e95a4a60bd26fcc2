// An app as the guest gets it, rendered from the definition's files: the compose file with its project-relative paths
// made absolute (Portainer runs Compose elsewhere than the guest), the .env of plain variables, the config files
// rendered from their templates, the secret files, which services each written file reaches, and the services and
// images refresh compares the guest against. Pure data; secret values never enter it (only the names).
import { parseDocument, isMap, isScalar, isSeq, type Document } from "yaml";
import {
  type ComposeDoc,
  jobServices,
  normalizeProjectPath,
  parseCompose,
  projectPaths,
  publishedPorts,
  services,
  startedServices,
  variableUses,
} from "../../definition/compose";
import { interpolateCompose, renderTemplate, templateRefs } from "../../definition/interpolation";
import type { SecretRef } from "../../definition/schema";

/** Where apps live on their guests: one root-only directory per app (its Compose project directory). */
export const APPS_ROOT = "/opt/phoenix/apps";
export const projectDir = (app: string) => `${APPS_ROOT}/${app}`;

export interface AppSource {
  name: string;
  deploy: "compose" | "portainer";
  compose: string;
  variables: Record<string, string | SecretRef>;
  files: { template: string; path: string; mode?: string }[];
  volumes: Record<string, { driver: string; options: Record<string, string> }>;
  externalVolumes: string[];
  removeVolumes: boolean;
}

/** A file written into the project directory. */
export interface RenderedFile {
  path: string;
  mode: string;
  /** Set for plain files; a file whose template uses a secret is rendered with the secret values at deploy time. */
  content?: string;
  /** For secret-bearing files: the template and the secret variables it uses. */
  template?: string;
  secrets?: string[];
  /** Services to restart when its content changes (they mount or read it). */
  services: string[];
}

export interface RenderedApp {
  name: string;
  dir: string;
  /** The compose file as the guest (or Portainer) gets it. */
  compose: string;
  /** Plain variables as .env lines (single-quoted). */
  env: string;
  /** Plain variables, for Portainer's stack env. */
  plain: Record<string, string>;
  /** Secret variables: name → Pulumi config key. */
  secretVariables: Record<string, string>;
  /** Secret variables the compose file interpolates: exported to the compose CLI's environment, never written to .env. */
  interpolatedSecrets: string[];
  files: RenderedFile[];
  /** Lines "service run|job image": what refresh expects to find. */
  services: string;
}

const isSecret = (v: string | SecretRef): v is SecretRef => typeof v === "object";

/** Docker's normal form of an image reference: docker.io/library/ dropped, :latest added when untagged. */
export function normalizeImage(ref: string): string {
  let r = ref.replace(/^docker\.io\//, "").replace(/^library\//, "");
  const name = r.split("@")[0]!;
  if (!r.includes("@") && !/:[^/]+$/.test(name)) r = `${r}:latest`;
  return r;
}

/** .env line for a plain value, single-quoted (both Compose lines read a single-quoted value literally, \' aside). */
export function envLine(name: string, value: string): string {
  return `${name}='${value.replace(/'/g, "\\'")}'`;
}

function rewriteValue(v: string, dir: string): string | undefined {
  const norm = normalizeProjectPath(v);
  return norm === undefined ? undefined : norm === "" ? dir : `${dir}/${norm}`;
}

/** Project-relative paths made absolute (bind sources, env_file, secret and config files); the file's comments kept. */
function absolutePaths(doc: Document, dir: string): void {
  const rel = (s: unknown) => typeof s === "string" && (s === "." || s.startsWith("./") || s.startsWith("../"));
  const svcs = doc.get("services");
  if (isMap(svcs))
    for (const pair of svcs.items) {
      const s = pair.value;
      if (!isMap(s)) continue;
      const vols = s.get("volumes");
      if (isSeq(vols))
        vols.items.forEach((item, i) => {
          if (isScalar(item) && typeof item.value === "string") {
            const [src, ...rest] = item.value.split(":");
            if (rel(src)) vols.set(i, [rewriteValue(src!, dir), ...rest].join(":"));
          } else if (isMap(item) && item.get("type") === "bind" && rel(item.get("source")))
            item.set("source", rewriteValue(String(item.get("source")), dir));
        });
      const envFile = s.get("env_file");
      if (typeof envFile === "string" && rel(envFile)) s.set("env_file", rewriteValue(envFile, dir));
      else if (isSeq(envFile))
        envFile.items.forEach((item, i) => {
          if (isScalar(item) && rel(item.value)) envFile.set(i, rewriteValue(String(item.value), dir));
          else if (isMap(item) && rel(item.get("path"))) item.set("path", rewriteValue(String(item.get("path")), dir));
        });
    }
  for (const top of ["secrets", "configs"]) {
    const section = doc.get(top);
    if (isMap(section))
      for (const pair of section.items)
        if (isMap(pair.value) && rel(pair.value.get("file")))
          pair.value.set("file", rewriteValue(String(pair.value.get("file")), dir));
  }
}

/** Services that mount or read `path` (or a directory above it). */
function servicesUsing(doc: ComposeDoc, path: string): string[] {
  const users = new Set<string>();
  for (const p of projectPaths(doc)) {
    const norm = normalizeProjectPath(p.path);
    if (norm === undefined) continue;
    if (norm === path || norm === "" || path.startsWith(`${norm}/`)) p.services.forEach((s) => users.add(s));
  }
  return [...users].sort();
}

/**
 * Renders an app from its compose text and template texts (by template path). Throws on what validation refuses
 * (an unreadable compose file), so a definition that passed validation always renders.
 */
export function renderApp(app: AppSource, composeText: string, templates: Readonly<Record<string, string>>): RenderedApp {
  const dir = projectDir(app.name);
  const parsed = parseCompose(composeText);
  if (!parsed.doc) throw new Error(`app ${app.name}: ${app.compose}: ${parsed.problem}`);
  const doc = parsed.doc;
  const yamlDoc = parseDocument(composeText);
  absolutePaths(yamlDoc, dir);
  const plain = Object.fromEntries(Object.entries(app.variables).flatMap(([k, v]) => (isSecret(v) ? [] : [[k, v]])));
  const secretVariables = Object.fromEntries(
    Object.entries(app.variables).flatMap(([k, v]) => (isSecret(v) ? [[k, v.secret]] : [])),
  );
  const uses = variableUses(doc).uses;
  const interpolatedSecrets = [...new Set(uses.map((u) => u.name).filter((n) => n in secretVariables))].sort();
  const files: RenderedFile[] = app.files.map((f) => {
    const text = templates[f.template] ?? "";
    const path = normalizeProjectPath(f.path) ?? f.path;
    const usesSecrets = [...new Set(templateRefs(text).map((r) => r.name))].filter((n) => n in secretVariables).sort();
    const mode = f.mode ?? (usesSecrets.length > 0 ? "0600" : "0644");
    const users = servicesUsing(doc, path);
    if (usesSecrets.length > 0) return { path, mode, template: text, secrets: usesSecrets, services: users };
    return { path, mode, content: renderTemplate(text, plain).text, services: users };
  });
  for (const name of Object.keys(secretVariables).sort())
    files.push({ path: `secrets/${name}`, mode: "0600", secrets: [name], services: servicesUsing(doc, `secrets/${name}`) });
  const unknown = new Set(Object.keys(secretVariables));
  const lookup = (n: string) => plain[n];
  const jobs = new Set(jobServices(doc));
  const expected = startedServices(doc).map((s) => {
    const image = interpolateCompose(String(services(doc)[s]!.image ?? ""), lookup, unknown) ?? "";
    return `${s} ${jobs.has(s) ? "job" : "run"} ${normalizeImage(image)}`;
  });
  return {
    name: app.name,
    dir,
    compose: yamlDoc.toString({ lineWidth: 0 }),
    env: Object.entries(plain)
      .map(([k, v]) => envLine(k, v))
      .join("\n"),
    plain,
    secretVariables,
    interpolatedSecrets,
    files,
    services: expected.join("\n"),
  };
}

/** A secret-bearing file's content, once the secret values are known (at deploy time, inside an Output). */
export function renderSecretFile(f: RenderedFile, plain: Record<string, string>, secrets: Record<string, string>): string {
  if (f.template === undefined) return secrets[f.secrets![0]!] ?? "";
  return renderTemplate(f.template, { ...plain, ...secrets }).text;
}

/** http://<address>:<port>/ for each TCP port the app publishes on every address of the guest. */
export function appUrls(composeText: string, plain: Record<string, string>, address: string): string[] {
  const doc = parseCompose(composeText).doc;
  if (!doc) return [];
  const { ports } = publishedPorts(doc, (n) => plain[n]);
  return ports
    .filter((p) => p.protocol === "tcp" && (p.hostIp === "" || p.hostIp === address))
    .flatMap((p) => Array.from({ length: Math.min(p.last - p.first + 1, 4) }, (_, k) => `http://${address}:${p.first + k}/`));
}
