// One environment of a stack's settings (variables, files, Traefik labels, firewall rules): phoenix.json's, which the
// original read, with the central phoenix_stacks_config.json filling in where phoenix.json is silent.
import type { StackSource } from "./stacks";
import { Reader, type Warnings } from "./reader";

export interface EnvSettings {
  variables: { name: string; value: string }[];
  files: { source: string; destination: string; where: string }[];
  labels: Record<string, string[]>;
  firewall: Reader[];
  where: string;
  /** phoenix.json, to report its unread fields once everything was read. */
  manifest?: Reader;
}

/** One environment of a manifest (phoenix.json or the central file's entry), read through the Reader. */
function readEnvironment(m: Reader | undefined, env: string, w: Warnings): EnvSettings | undefined {
  const envs = m?.obj("environments");
  if (!m || !envs) return undefined;
  let found: EnvSettings | undefined;
  for (const [name, e] of envs.entries()) {
    if (name !== env) {
      w.add(
        e.where(),
        `environment '${name}' not imported (importing '${env}')`,
        `import it into its own stacks/<env>.yaml with --environment ${name}`,
      );
      e.skip(...Object.keys(e.value));
      continue;
    }
    const labels: Record<string, string[]> = {};
    for (const [svc, s] of e.obj("services")?.entries() ?? []) labels[svc] = s.strings("traefik_labels");
    found = {
      variables: e.objs("variables").flatMap((v) => {
        const n = v.str("name");
        return n ? [{ name: n, value: v.str("value") ?? "" }] : [];
      }),
      files: e.objs("files").flatMap((f) => {
        const source = f.str("source");
        const destination = f.str("destination_in_container");
        return source && destination ? [{ source, destination, where: f.where() }] : [];
      }),
      labels,
      firewall: e.objs("firewall_rules"),
      where: e.where(),
    };
  }
  return found;
}

export /** The environment's settings: phoenix.json's (what the original read), the central file's where it is silent. */
function environmentSettings(s: StackSource, entry: Reader | undefined, env: string, w: Warnings): EnvSettings {
  const manifest = s.manifest !== undefined ? Reader.root(`${s.where}/phoenix.json`, s.manifest, w) : undefined;
  const mine = readEnvironment(manifest, env, w);
  const theirs = readEnvironment(entry, env, w);
  const settings: EnvSettings = mine ?? theirs ?? { variables: [], files: [], labels: {}, firewall: [], where: s.where };
  const fromCentral = (what: string) =>
    w.add(
      settings.where,
      `${what} taken from ${entry?.where() ?? "phoenix_stacks_config.json"}: the original read only phoenix.json, which has none`,
    );
  if (mine && theirs && mine.variables.length === 0 && theirs.variables.length > 0) {
    settings.variables = theirs.variables;
    fromCentral("variables");
  }
  if (mine && theirs && mine.files.length === 0 && theirs.files.length > 0) {
    settings.files = theirs.files;
    fromCentral("files");
  }
  if (mine && theirs && theirs.firewall.length > 0) {
    if (mine.firewall.length === 0) {
      settings.firewall = theirs.firewall;
      fromCentral("firewall_rules");
    } else theirs.firewall.forEach((r) => r.skip(...Object.keys(r.value)));
  }
  manifest?.skip("description");
  entry?.skip("description");
  settings.manifest = manifest;
  return settings;
}
