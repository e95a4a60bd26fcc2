// An app's compose file and templates, read from the project directory and checked before anything is touched:
// the file parses, every ${VAR} is given or has a default, secrets stay out of argv and Portainer's database, the
// files it expects in its project directory are provided, templates resolve.
import { readProjectFile } from "../definition/files";
import {
  type ComposeDoc,
  type VariableUse,
  externalVolumes,
  normalizeProjectPath,
  parseCompose,
  projectPaths,
  services,
  variableUses,
} from "../definition/compose";
import { IMAGE_REF_FIX, IMAGE_REF_MESSAGE, isImageRef } from "../definition/formats";
import { composeRefs, hasFallback, interpolateCompose, templateRefs } from "../definition/interpolation";
import { type Problem, error, warning } from "../definition/problems";
import type { App } from "../definition/schema";

/** Where Phoenix writes a secret variable's value in the project directory (root-only). */
export const secretFilePath = (variable: string) => `secrets/${variable}`;
/** Names Phoenix itself writes in the project directory. */
export const RESERVED_PROJECT_PATHS = ["compose.yaml", ".env", ".phoenix"];

export interface ReadApp {
  doc?: ComposeDoc;
  uses: VariableUse[];
}

const isSecret = (v: App["variables"][string] | undefined) => typeof v === "object" && v !== null && "secret" in v;

/** Reads and checks the compose file; returns what the other checks need. */
export function checkComposeFile(app: App, path: string, dir: string | undefined, out: Problem[]): ReadApp {
  // An in-memory definition (no file, so no directory): its apps' files are read when it is loaded from a file
  // (loadDefinition), and by the components when they deploy.
  if (dir === undefined) return { uses: [] };
  const read = readProjectFile(dir, app.compose);
  if (!read.ok) {
    out.push(error(`${path}.compose`, read.message, read.fix));
    return { uses: [] };
  }
  const parsed = parseCompose(read.text);
  if (!parsed.doc) {
    out.push(
      error(
        `${path}.compose`,
        `${app.compose}: ${parsed.problem}`,
        "fix the compose file (docker compose config shows what Compose reads)",
      ),
    );
    return { uses: [] };
  }
  const doc = parsed.doc;
  for (const [name, s] of Object.entries(services(doc))) {
    if (s.build !== undefined)
      out.push(
        error(
          `${path}.compose`,
          `${app.compose}: services.${name} has build: Phoenix deploys images the guest pulls, it builds none`,
          "build and push the image to a registry the guest pulls from, and give services." + name + ".image instead",
        ),
      );
    else if (typeof s.image !== "string" || s.image === "")
      out.push(error(`${path}.compose`, `${app.compose}: services.${name} has no image`, `set services.${name}.image`));
  }
  const plain = (n: string) => {
    const v = app.variables[n];
    return v === undefined || typeof v === "object" ? undefined : String(v);
  };
  const secretNames = new Set(Object.keys(app.variables).filter((k) => isSecret(app.variables[k])));
  for (const [name, s] of Object.entries(services(doc))) {
    if (typeof s.image !== "string") continue;
    // Variables reported missing elsewhere leave the image unknown here, rather than wrongly empty.
    const missing = composeRefs(s.image).refs.filter((r) => app.variables[r.name] === undefined && !hasFallback(r));
    const image = interpolateCompose(s.image, plain, new Set([...secretNames, ...missing.map((r) => r.name)]));
    if (image !== undefined && !isImageRef(image))
      out.push(
        error(`${path}.compose`, `${app.compose}: services.${name}.image '${image}': ${IMAGE_REF_MESSAGE}`, IMAGE_REF_FIX),
      );
  }
  const { uses, errors } = variableUses(doc);
  for (const e of errors)
    out.push(
      error(
        `${path}.compose`,
        `${app.compose}: ${e.at}: ${e.message}`,
        "write $$ for a literal $, and ${NAME}, ${NAME:-default} or ${NAME:?message} for a variable",
      ),
    );
  checkVariables(app, path, uses, out);
  checkProjectPaths(app, path, doc, out);
  checkDeclaredVolumes(app, path, doc, out);
  return { doc, uses };
}

/** Variables that are given, where secret values would surface, names Compose or Docker would act on. */
function checkVariables(app: App, path: string, uses: VariableUse[], out: Problem[]) {
  for (const name of Object.keys(app.variables))
    if (/^(COMPOSE|DOCKER)_/.test(name))
      out.push(
        error(
          `${path}.variables.${name}`,
          `${name} would change how the compose CLI runs (its own settings come from COMPOSE_* and DOCKER_* variables in .env)`,
          "rename the variable",
        ),
      );
  const missing = new Map<string, string>();
  for (const u of uses) {
    const v = app.variables[u.name];
    if (v === undefined) {
      if (!hasFallback(u) && !missing.has(u.name)) missing.set(u.name, u.at);
      continue;
    }
    if (!isSecret(v)) continue;
    const at = `${app.compose}: ${u.at}`;
    if (app.deploy === "portainer")
      out.push(
        error(
          `${path}.variables.${u.name}`,
          `${at} interpolates secret ${u.name}: Portainer keeps a stack's variables in its database and shows them in its UI`,
          `use it as a compose secret instead (secrets: { x: { file: ./${secretFilePath(u.name)} } }), which reaches the guest as a root-only file`,
        ),
      );
    else if (/^services\.[^.]+\.(command|entrypoint|image|ports|labels|container_name|healthcheck)/.test(u.at))
      out.push(
        error(
          `${path}.variables.${u.name}`,
          `${at} interpolates secret ${u.name} where docker ps and docker inspect show it (arguments, image, ports, labels)`,
          `read it from a compose secret instead (secrets: { x: { file: ./${secretFilePath(u.name)} } }, /run/secrets/x in the container)`,
        ),
      );
    else if (/^services\.[^.]+\.environment/.test(u.at))
      out.push(
        warning(
          `${path}.variables.${u.name}`,
          `${at} puts secret ${u.name} into the container's environment, which docker inspect shows`,
          `prefer a compose secret (./${secretFilePath(u.name)}) and the image's *_FILE variable when it has one`,
        ),
      );
  }
  for (const [name, at] of missing)
    out.push(
      error(
        `${path}.variables`,
        `${app.compose}: ${at} uses \${${name}}, which ${path}.variables does not give`,
        `add ${name} under ${path}.variables, or give it a default in the compose file: \${${name}:-value}`,
      ),
    );
}

/** Files the compose file reads from its project directory must be ones the app writes there. */
function checkProjectPaths(app: App, path: string, doc: ComposeDoc, out: Problem[]) {
  const provided = new Set<string>([
    ".env",
    ...app.files.map((f) => normalizeProjectPath(f.path) ?? f.path),
    ...Object.entries(app.variables).flatMap(([k, v]) => (isSecret(v) ? [secretFilePath(k)] : [])),
  ]);
  for (const p of projectPaths(doc)) {
    const norm = normalizeProjectPath(p.path);
    if (norm === undefined) {
      out.push(
        error(
          `${path}.compose`,
          `${app.compose}: ${p.at} refers to ${p.path}, outside the app's project directory`,
          "refer to files inside it (./…), and provide them with files: or secret variables",
        ),
      );
      continue;
    }
    if (p.kind === "file" && !provided.has(norm))
      out.push(
        error(
          `${path}.compose`,
          `${app.compose}: ${p.at} reads ./${norm}, which the app does not provide`,
          norm.startsWith("secrets/")
            ? `add a secret variable ${norm.slice("secrets/".length)}: { secret: <name> } (its value is written to ./${norm})`
            : `add a files entry with path: ${norm} and its template`,
        ),
      );
  }
  app.files.forEach((f, k) => {
    const norm = normalizeProjectPath(f.path) ?? f.path;
    if (RESERVED_PROJECT_PATHS.includes(norm.split("/")[0]!) || norm.startsWith("secrets/"))
      out.push(
        error(
          `${path}.files[${k}].path`,
          `${norm} is where Phoenix writes the compose file, .env or the secrets`,
          "write the file elsewhere in the project directory, e.g. config/…",
        ),
      );
  });
}

function checkDeclaredVolumes(app: App, path: string, doc: ComposeDoc, out: Problem[]) {
  const external = externalVolumes(doc);
  for (const v of external)
    if (app.volumes[v.name] === undefined && !app.externalVolumes.includes(v.name))
      out.push(
        error(
          `${path}.volumes`,
          `${app.compose}: volume ${v.name} is external, so Compose expects it on the guest, and the app neither declares it nor says it exists`,
          `declare it under ${path}.volumes.${v.name} (driver and options; NFS: { type: nfs, o: "addr=<server>,rw,nfsvers=4", device: ":<export path>" }) ` +
            `so Phoenix creates it, or list it in ${path}.externalVolumes when it is made outside Phoenix`,
        ),
      );
  for (const name of Object.keys(app.volumes))
    if (!external.some((v) => v.name === name))
      out.push(
        warning(
          `${path}.volumes.${name}`,
          `the compose file does not use ${name} as an external volume, so its services never see the one Phoenix creates`,
          `declare it in the compose file: volumes: { ${name}: { external: true } }, or remove it here`,
        ),
      );
}

/** Templates exist inside the project directory, and every ${VAR} they use is given or has a default. */
export function checkTemplates(app: App, path: string, dir: string | undefined, out: Problem[]) {
  if (dir === undefined) return;
  const seen = new Set<string>();
  app.files.forEach((f, k) => {
    const at = `${path}.files[${k}]`;
    const norm = normalizeProjectPath(f.path) ?? f.path;
    if (seen.has(norm))
      out.push(error(`${at}.path`, `${norm} is written by another files entry too`, "give each file its own path"));
    seen.add(norm);
    const read = readProjectFile(dir, f.template);
    if (!read.ok) return void out.push(error(`${at}.template`, read.message, read.fix));
    const missing = [
      ...new Set(
        templateRefs(read.text)
          .filter((r) => r.default === undefined && app.variables[r.name] === undefined)
          .map((r) => r.name),
      ),
    ];
    for (const name of missing)
      out.push(
        error(
          `${at}.template`,
          `${f.template} uses \${${name}}, which ${path}.variables does not give`,
          `add ${name} under ${path}.variables, or write \${${name}:-default} (write $\${ for a literal \${)`,
        ),
      );
  });
}
