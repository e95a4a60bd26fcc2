// The original's Docker stacks → apps: each stack's compose file and phoenix.json (variables, files, per-service
// Traefik labels, firewall rules, per environment), phoenix_stacks_config.json (which the original never read: used
// only where phoenix.json is silent, with a warning), and the VMs' docker_stacks lists (which guest runs what).
import { isMap, parseDocument } from "yaml";
import { type ComposeDoc, parseCompose, services } from "../../definition/compose";
import type { DefinitionInput } from "../../definition/schema";
import { appSecretName, looksSecret, secretFix } from "../../definition/secrets";
import { type Addresses, addGuestRules, dedupe, readRule } from "./firewall";
import type { StackRef } from "./machines";
import { Reader, type Warnings } from "./reader";
import { type EnvSettings, environmentSettings } from "./stack-environment";
import { exposeFromLabels } from "./routes";

type AppInput = NonNullable<DefinitionInput["apps"]>[number];
type GuestInput = NonNullable<DefinitionInput["guests"]>[number];

/** A stack directory of the original (stacks/<name>/): docker-compose.yml, phoenix.json and the files beside them. */
export interface StackSource {
  name: string;
  /** How messages name the directory, e.g. stacks/qdrant_service. */
  where: string;
  compose?: string;
  manifest?: unknown;
  /** Other files of the directory, by path relative to it (configs/prod.env). */
  files: Record<string, string>;
}

export interface StacksInput {
  stacks: StackSource[];
  config?: { file: string; json: unknown };
  /** The environment to import (the original hard-coded production). */
  environment?: string;
}

export interface StacksOut {
  apps: AppInput[];
  /** Files to write beside the definition, by path relative to it (apps/<app>/…). */
  files: Record<string, string>;
}

const appNameOf = (stack: string) =>
  stack
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "") || "app";

/** What the stacks' network settings are read against: the guests' addresses and the definition's domain. */
export interface StacksNet {
  addrs: Addresses;
  domain?: string;
}

/** A config file as a template: values of secret-looking KEY=VALUE lines become ${KEY}; a literal ${ is escaped. */
function templateOf(text: string): { template: string; secrets: string[] } {
  const secrets: string[] = [];
  const lines = text
    .replace(/\$\{/g, "$${")
    .split("\n")
    .map((line) => {
      const m = /^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
      if (!m || !looksSecret(m[2]!) || m[3] === "") return line;
      secrets.push(m[2]!);
      return `${m[1]}${m[2]}=\${${m[2]}}`;
    });
  return { template: lines.join("\n"), secrets };
}

export function readStacks(input: StacksInput, refs: StackRef[], guests: GuestInput[], net: StacksNet, w: Warnings): StacksOut {
  const env = input.environment ?? "production";
  const central = input.config ? Reader.root(input.config.file, input.config.json, w) : undefined;
  central?.skip("$schema");
  const centralStacks = central?.obj("docker_stacks");
  const out: StacksOut = { apps: [], files: {} };
  const byStack = new Map<string, StackRef[]>();
  for (const r of refs) byStack.set(r.stack, [...(byStack.get(r.stack) ?? []), r]);
  const entries = new Map(centralStacks?.entries() ?? []);
  for (const entry of entries.values())
    entry.unmapped(
      "compose_file_path",
      "the original never read this file; the compose file is stacks/<name>/docker-compose.yml",
    );
  for (const s of input.stacks) {
    const targets = byStack.get(s.name) ?? [];
    if (targets.length === 0) {
      w.add(
        s.where,
        `stack '${s.name}' is in no VM's docker_stacks, so nothing ran it; not imported`,
        "add it under apps by hand, with the guests it runs on",
      );
      continue;
    }
    const entry = entries.get(s.name);
    const app = importStack(s, targets, guests, entry, env, net, out, w);
    if (app) out.apps.push(app);
  }
  // Entries of stacks not imported were reported where they were dropped.
  for (const [name, entry] of entries)
    if (!out.apps.some((a) => a.name === appNameOf(name))) entry.skip(...Object.keys(entry.value));
  for (const [stack, rs] of byStack)
    if (!input.stacks.some((s) => s.name === stack))
      for (const r of rs)
        w.add(
          r.where,
          `stack '${stack}' has no directory with a docker-compose.yml among --stacks; not imported`,
          "pass the original's stacks/ directory with --stacks",
        );
  central?.reportUnused();
  return out;
}

function importStack(
  s: StackSource,
  targets: StackRef[],
  guests: GuestInput[],
  entry: Reader | undefined,
  env: string,
  net: StacksNet,
  out: StacksOut,
  w: Warnings,
): AppInput | undefined {
  const name = appNameOf(s.name);
  const parsed = s.compose !== undefined ? parseCompose(s.compose) : undefined;
  if (!parsed?.doc) {
    w.add(
      s.where,
      `no usable docker-compose.yml${parsed?.problem ? `: ${parsed.problem}` : ""}; not imported`,
      "fix the compose file and import again",
    );
    return undefined;
  }
  const placed = placement(s, parsed.doc, targets, guests, w);
  if (!placed) {
    portainerRules(s, targets, guests, entry, env, net, w);
    return undefined;
  }
  const { onGuests, deploy } = placed;
  const settings = environmentSettings(s, entry, env, w);
  const description = (s.manifest as { description?: unknown } | undefined)?.description;

  const variables: Record<string, unknown> = {};
  const secretVar = (v: string, where: string) => {
    const key = appSecretName(name, v);
    variables[v] = { secret: key };
    w.add(
      where,
      `plaintext ${v} not copied; app '${name}' references secret '${key}'`,
      secretFix(key).replace(/ and write .*/, ""),
    );
  };
  for (const v of settings.variables)
    if (looksSecret(v.name) && v.value !== "") secretVar(v.name, `${settings.where}.variables (${v.name})`);
    else variables[v.name] = v.value;

  const composeDoc = parseDocument(s.compose!);
  const files = settings.files.flatMap((f) => importFile(s, name, f, composeDoc, variables, secretVar, out, w));
  out.files[`apps/${name}/docker-compose.yml`] = composeDoc.toString({ lineWidth: 0 });
  for (const [svc, x] of Object.entries(services(parsed.doc)))
    if (x.build === undefined && typeof x.image === "string" && [svc, s.name].includes(x.image.split(":")[0]!))
      w.add(
        `${s.where}/docker-compose.yml`,
        `services.${svc}.image ${x.image} is the app's own image, and nothing builds it`,
        "build and push it to a registry the guest pulls from, and reference it there",
      );
  // The original injected no labels (its label code never ran) and wrote these rules into cluster.fw (the node's).
  const expose = exposeFromLabels(settings.labels, parsed.doc, net.domain, settings.where, w);
  const firewall = dedupe(
    settings.firewall.flatMap((r) => readRule(r, net.addrs, w) ?? []),
    `${settings.where}.firewall_rules`,
    w,
  );
  settings.manifest?.reportUnused();
  if (firewall.length > 0)
    w.add(
      `${settings.where}.firewall_rules`,
      `imported as apps.${name}.firewall: the rules follow the app onto ${onGuests.map((t) => t.guest).join(", ")} (the original wrote them into the datacenter-wide set, where Proxmox applies them to the node)`,
    );
  return {
    name,
    ...(typeof description === "string" ? { description } : {}),
    compose: `apps/${name}/docker-compose.yml`,
    guests: onGuests.map((t) => t.guest),
    ...(deploy === "portainer" ? { deploy } : {}),
    ...(Object.keys(variables).length > 0 ? { variables: variables as AppInput["variables"] } : {}),
    ...(files.length > 0 ? { files } : {}),
    ...(expose.length > 0 ? { expose } : {}),
    ...(firewall.length > 0 ? { firewall } : {}),
  };
}

/** Portainer's own stack, run by the server feature: its firewall_rules go to the server's guest firewall. */
function portainerRules(
  s: StackSource,
  targets: StackRef[],
  guests: GuestInput[],
  entry: Reader | undefined,
  env: string,
  net: StacksNet,
  w: Warnings,
): void {
  const servers = guests.filter((g) => g.features?.portainer?.role === "server" && targets.some((t) => t.guest === g.name));
  if (servers.length === 0) return;
  const settings = environmentSettings(s, entry, env, w);
  const rules = settings.firewall.flatMap((r) => readRule(r, net.addrs, w) ?? []);
  settings.manifest?.reportUnused();
  if (rules.length === 0) return;
  for (const g of servers) addGuestRules(g, rules);
  w.add(
    `${settings.where}.firewall_rules`,
    `added to the firewall of ${servers.map((g) => g.name).join(", ")}, whose portainer feature runs the server`,
  );
}

/** The guests a stack runs on (not Portainer itself where the server feature runs it), and how it is deployed there. */
function placement(
  s: StackSource,
  doc: ComposeDoc,
  targets: StackRef[],
  guests: GuestInput[],
  w: Warnings,
): { onGuests: StackRef[]; deploy: "compose" | "portainer" } | undefined {
  const guestOf = (n: string) => guests.find((g) => g.name === n);
  const images = Object.values(services(doc)).map((x) => String(x.image ?? ""));
  // The stack that is Portainer itself, on a guest whose portainer feature already runs the server.
  const isPortainer = images.some((i) => /^portainer\/portainer-(ce|ee)\b/.test(i));
  const onGuests = targets.filter((t) => {
    if (isPortainer && guestOf(t.guest)?.features?.portainer?.role === "server") {
      w.add(
        t.where,
        `'${s.name}' runs Portainer, which features.portainer (role: server) on '${t.guest}' already runs; not imported as an app`,
      );
      return false;
    }
    return true;
  });
  if (onGuests.length === 0) return undefined;
  const agentGuests = onGuests.filter((t) => guestOf(t.guest)?.features?.portainer?.role === "agent");
  const deploy = agentGuests.length === onGuests.length ? "portainer" : "compose";
  if (agentGuests.length > 0 && deploy === "compose")
    w.add(
      onGuests[0]!.where,
      `'${s.name}' runs on Portainer agents and on other guests; imported as deploy: compose on all of them`,
      "split it into one app per deploy mode if that matters",
    );

  return { onGuests, deploy };
}

/** A files entry: the source found in the stack directory, made a template, mounted where the original meant it. */
function importFile(
  s: StackSource,
  app: string,
  f: EnvSettings["files"][number],
  composeDoc: ReturnType<typeof parseDocument>,
  variables: Record<string, unknown>,
  secretVar: (v: string, where: string) => void,
  out: StacksOut,
  w: Warnings,
): { template: string; path: string }[] {
  const base = f.source.split("/").pop()!;
  const rel = s.files[f.source] !== undefined ? f.source : Object.keys(s.files).find((p) => p.split("/").pop() === base);
  if (rel === undefined) {
    w.add(f.where, `${f.source} is not in ${s.where}; file not imported`, "add it under the app's files by hand");
    return [];
  }
  if (rel !== f.source)
    w.add(f.where, `the original looked for ${s.where}/${f.source}, which does not exist; took ${s.where}/${rel}`);
  const { template, secrets } = templateOf(s.files[rel]!);
  for (const k of secrets)
    if (variables[k] === undefined || typeof variables[k] === "string") secretVar(k, `${s.where}/${rel} (${k})`);
  out.files[`apps/${app}/${rel}`] = template;
  // The original meant a Portainer config (swarm only, never worked); a bind mount of the rendered file does it.
  const svcs = composeDoc.get("services");
  const names = isMap(svcs) ? svcs.items.map((p) => String((p.key as { value?: unknown })?.value ?? p.key)) : [];
  if (names.length === 1 && isMap(svcs)) {
    const svc = svcs.get(names[0]!) as { get(k: string): unknown; set(k: string, v: unknown): void } | undefined;
    const vols = svc?.get("volumes") as { add?(v: unknown): void } | undefined;
    const mount = `./${rel}:${f.destination}:ro`;
    if (vols?.add) vols.add(mount);
    else svc?.set("volumes", composeDoc.createNode([mount]));
    w.add(
      f.where,
      `mounted ./${rel} at ${f.destination} in services.${names[0]} (the original's Portainer config, which works only in swarm mode)`,
    );
  } else
    w.add(
      f.where,
      `mount ./${rel} at ${f.destination} in the service that reads it`,
      `add to that service: volumes: ["./${rel}:${f.destination}:ro"]`,
    );
  return [{ template: `apps/${app}/${rel}`, path: rel }];
}
