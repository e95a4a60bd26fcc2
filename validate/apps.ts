// Apps (Docker Compose projects) and their guests: each target has docker (along the clone chain), a Portainer
// deploy has an agent and a server that can log in, published ports do not collide on a guest, and the compose CLI
// the guest will have understands the file. The compose file and templates are checked in app-compose.ts.
import { type PublishedPort, featuresMissingInV1, portsCollide, publishedPorts } from "../definition/compose";
import { type Problem, error, warning } from "../definition/problems";
import { type Index, type Machine, hasFeature } from "../definition/resolve";
import { type App, FEATURE_DEFAULTS, PORTAINER_PORTS } from "../definition/schema";
import { type ReadApp, checkComposeFile, checkTemplates } from "./app-compose";
import { checkEndpointVariables } from "./app-endpoints";

export interface AppCheckOptions {
  /** The definition's directory: compose files and templates are relative to it. */
  dir?: string;
}

export function checkApps(ix: Index, opts: AppCheckOptions = {}): Problem[] {
  const out: Problem[] = [];
  const apps = ix.def.apps;
  const names = new Map<string, number>();
  const published: { app: string; guest: string; port: PublishedPort }[] = [];
  apps.forEach((app, i) => {
    const path = `apps[${i}]`;
    if (names.has(app.name))
      out.push(
        error(
          `${path}.name`,
          `app name '${app.name}' is also used by apps[${names.get(app.name)}]`,
          "give each app its own name: it is its Compose project name",
        ),
      );
    else names.set(app.name, i);
    const targets = checkTargets(ix, app, path, out);
    const read = checkComposeFile(app, path, opts.dir, out);
    checkTemplates(app, path, opts.dir, out);
    checkEndpointVariables(ix, app, path, out);
    if (read.doc) {
      const plain = (n: string) => {
        const v = app.variables[n];
        return v === undefined || typeof v === "object" ? undefined : String(v);
      };
      const secrets = new Set(
        Object.entries(app.variables).flatMap(([k, v]) => (typeof v === "object" && "secret" in v ? [k] : [])),
      );
      for (const port of publishedPorts(read.doc, plain, secrets).ports)
        for (const t of targets) published.push({ app: app.name, guest: t.name, port });
      for (const t of targets) checkComposeCli(ix, t, app, path, read, out);
    }
    if (app.traefikLabels !== undefined || app.firewallRules !== undefined)
      out.push(
        warning(
          app.traefikLabels !== undefined ? `${path}.traefikLabels` : `${path}.firewallRules`,
          "kept from the original system by an older phoenix import; never applied: the app's expose and firewall are",
          "write them as the app's expose and firewall (phoenix import does it), then remove them",
        ),
      );
  });
  checkPorts(ix, apps, published, out);
  return out;
}

function checkTargets(ix: Index, app: App, path: string, out: Problem[]): Machine[] {
  const targets: Machine[] = [];
  const seen = new Set<string>();
  app.guests.forEach((g, k) => {
    const at = `${path}.guests[${k}]`;
    if (seen.has(g)) return void out.push(error(at, `guest '${g}' is listed twice`, "list each guest once"));
    seen.add(g);
    const m = ix.byName.get(g);
    if (!m || m.kind !== "guest")
      return void out.push(
        error(
          at,
          m ? `'${g}' is a golden template: apps run on guests` : `unknown guest '${g}'`,
          "name a guest (guests[].name) with docker",
        ),
      );
    const eff = ix.effective(m);
    if (!hasFeature(eff.features, "docker"))
      return void out.push(
        error(
          at,
          `app '${app.name}' runs on Docker, and guest '${g}' has no docker feature (itself or along ${eff.chain.join(" → ")})`,
          `add features.docker to guest '${g}', or clone it from a template with docker`,
        ),
      );
    if (app.deploy === "portainer") checkPortainerTarget(ix, m, app, at, out);
    targets.push(m);
  });
  return targets;
}

/** A Portainer deploy goes through the server's API onto the guest's agent, which the server registered. */
function checkPortainerTarget(ix: Index, m: Machine, app: App, at: string, out: Problem[]) {
  const p = ix.effective(m).features.portainer;
  if (p?.role !== "agent")
    return void out.push(
      error(
        at,
        `app '${app.name}' is deployed through Portainer, and guest '${m.name}' runs no Portainer agent`,
        `add features.portainer: { role: agent } to guest '${m.name}', or deploy: compose`,
      ),
    );
  const servers = ix.machines.filter((x) => x.kind === "guest" && ix.effective(x).features.portainer?.role === "server");
  const server = p.server !== undefined ? ix.byName.get(p.server) : servers.length === 1 ? servers[0] : undefined;
  // An unknown or ambiguous server is reported at the agent's feature (validate/features.ts).
  if (!server || ix.effective(server).features.portainer?.role !== "server") return;
  if (ix.effective(server).features.portainer?.adminPassword === undefined)
    out.push(
      error(
        at,
        `app '${app.name}' is deployed through Portainer server '${server.name}', whose API needs its admin password`,
        `set features.portainer.adminPassword: { secret: portainerAdminPassword } on '${server.name}'`,
      ),
    );
}

type ComposeLine = { line: "v1" | "v2"; what: string };

/** Which compose CLI a guest's docker feature installs: Docker's plugin, Ubuntu's docker-compose-v2, or Debian 12's 1.29. */
export function composeLine(ix: Index, m: Machine): ComposeLine | undefined {
  const eff = ix.effective(m);
  const docker = eff.features.docker;
  const source = (typeof docker === "object" ? docker.source : undefined) ?? FEATURE_DEFAULTS.docker.source;
  if (source === "docker") return { line: "v2", what: "Docker's compose plugin (docker.source: docker)" };
  const base = eff.base;
  const os = `${base?.os ?? ""} ${base && "file" in base.source ? base.source.file : ""} ${base && "url" in base.source ? base.source.url : ""}`;
  if (/ubuntu/i.test(os)) return { line: "v2", what: "Ubuntu's docker-compose-v2 (docker.source: debian)" };
  if (/debian-12|bookworm/i.test(os)) return { line: "v1", what: "Debian 12's docker-compose 1.29 (docker.source: debian)" };
  return undefined;
}

function checkComposeCli(ix: Index, m: Machine, app: App, path: string, read: ReadApp, out: Problem[]) {
  // Portainer runs its own bundled Compose v2 against the agent.
  if (app.deploy !== "compose" || !read.doc) return;
  const cli = composeLine(ix, m);
  if (cli?.line !== "v1") return;
  const fix = `set features.docker.source: docker where '${m.name}' gets docker (Docker's compose plugin), or remove it from the compose file`;
  for (const f of featuresMissingInV1(read.doc, read.uses))
    out.push(error(`${path}.compose`, `${app.compose}: ${f.at} uses ${f.feature}, which ${cli.what} on '${m.name}' lacks`, fix));
}

/** Ports published on a guest: the apps' and those of the features that run there (Portainer, vLLM). */
function checkPorts(ix: Index, apps: App[], published: { app: string; guest: string; port: PublishedPort }[], out: Problem[]) {
  const pathOf = new Map(apps.map((a, i) => [a.name, `apps[${i}]`]));
  published.forEach((a, i) => {
    const other = published.slice(0, i).find((b) => b.guest === a.guest && portsCollide(a.port, b.port));
    const feature = featurePorts(ix, a.guest).find((f) => portsCollide(a.port, f.port));
    const range = a.port.first === a.port.last ? `${a.port.first}` : `${a.port.first}-${a.port.last}`;
    const by = other
      ? `app '${other.app}' (${other.port.at}) publishes it too`
      : feature
        ? `${feature.what} listens there`
        : undefined;
    if (by)
      out.push(
        error(
          `${pathOf.get(a.app)}.compose`,
          `${a.port.at} publishes ${a.port.protocol} port ${range} on guest '${a.guest}', where ${by}`,
          "publish another host port (the left side of host:container), or run the app on another guest",
        ),
      );
  });
}

function featurePorts(ix: Index, guest: string): { what: string; port: PublishedPort }[] {
  const m = ix.byName.get(guest);
  if (!m) return [];
  const f = ix.effective(m).features;
  const port = (what: string, n: number) => ({
    what,
    port: { service: "", at: "", hostIp: "", first: n, last: n, protocol: "tcp" },
  });
  const out = [];
  if (f.portainer?.role === "server")
    out.push(
      port("the Portainer server", f.portainer.port ?? PORTAINER_PORTS.server),
      port("the Portainer server's tunnel", 8000),
    );
  if (f.portainer?.role === "agent") out.push(port("the Portainer agent", f.portainer.port ?? PORTAINER_PORTS.agent));
  if (f.vllm) out.push(port("vLLM", f.vllm.port ?? FEATURE_DEFAULTS.vllm.port));
  return out;
}
