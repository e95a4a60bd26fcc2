// The top component: instantiates a plan in dependency order — a NodeHost per node (provider, GPU mappings, driver,
// datasets), base templates, machines (through the machine factory), then Portainer's agent registrations.
import * as pulumi from "@pulumi/pulumi";
import { portainerEndpoints } from "../provisioners/portainer/portainer";
import type { Plan, PlannedMachine } from "../plan/plan";
import { PORTAINER_PORTS, type SecretRef } from "../definition/schema";
import { servingEndpoints } from "../definition/serving";
import { requireProjectFile } from "../definition/files";
import { templateBuilds } from "./args/template-build";
import { LxcContainer } from "./lxc-container";
import { LxcTemplate } from "./lxc-template";
import { createMachine } from "./machine-factory";
import { NodeBackups } from "./node-backups";
import { NodeHost } from "./node-host";
import type { QemuVm } from "./qemu-vm";
import type { Adoption } from "../plan/adoption";
import { type Deployment, deploymentOf, destroyRefusal } from "../plan/deployment";
import { DestroyGuard } from "../provisioners/protection/destroy-guard";
import { AppDeployment } from "./app-deployment";
import { DatacenterFirewall } from "./datacenter-firewall";
import { GuestFirewall } from "./guest-firewall";
import { HighAvailability } from "./high-availability";
import { machineTarget } from "./guest-provisioning";
import type { RemoteScript } from "../provisioners/engine/script-provider";
import { DnsServer } from "./dns-server";
import { resolvesThrough } from "./args/dns";
import type { FeatureTarget } from "../provisioners/engine/feature";
import { type GatewayGuest, HttpsGateway } from "./https-gateway";

/** Resolves a secret reference from Pulumi secret config (phoenix:<name>). */
export type SecretResolver = (name: string) => pulumi.Output<string>;

/** What a machine's component is told of its migration (components/lxc-container.ts). */
const migrationOf = (migrations: PhoenixHypervisorArgs["migrations"], name: string) => ({
  ...(migrations?.now.has(name) ? { from: migrations.now.get(name)! } : {}),
  migrated: !!migrations?.migrated.has(name),
});

export interface PhoenixHypervisorArgs {
  plan: Plan;
  secret: SecretResolver;
  /** Directory of the definition file: custom scripts and AppArmor profiles are relative to it. */
  definitionDir: string;
  /** Guests, templates and PCI mappings `phoenix adopt` took over (plan/adoption.ts). */
  adoption?: Adoption;
  /** Golden templates' builds (components/args/template-build.ts); read from the plan when not given. */
  builds?: ReadonlyMap<string, string>;
  /** Containers this up migrates to their planned node, by the node each leaves, and those migrated (plan/moves.ts). */
  migrations?: { now: ReadonlyMap<string, string>; migrated: ReadonlySet<string> };
}

export interface GuestSummary {
  vmid: number;
  node: string;
  type: "lxc" | "vm";
  kind: "guest" | "template";
  addresses: string[];
  endpoints: Record<string, string>;
}

export interface AppSummary {
  deploy: "compose" | "portainer";
  /** Guest → the app's URLs there. */
  guests: Record<string, string[]>;
}

/** The Proxmox resource of a machine component: what a step in it is replaced with. */
const resourceOf = (x: LxcContainer | QemuVm) => (x instanceof LxcContainer ? x.container : x.vm);

export class PhoenixHypervisor extends pulumi.ComponentResource {
  readonly guests: pulumi.Output<Record<string, GuestSummary>>;
  readonly apps: pulumi.Output<Record<string, AppSummary>>;
  /** What this up leaves deployed (plan/deployment.ts), known once everything else is: the next up compares with it. */
  readonly deployed: pulumi.Output<Deployment>;
  /** The HTTPS gateway's CA root (PEM), when the definition has a gateway. */
  readonly gatewayCaCertificate?: pulumi.Output<string>;
  readonly machines = new Map<string, LxcContainer | QemuVm>();

  constructor(name: string, args: PhoenixHypervisorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:PhoenixHypervisor", name, {}, opts);
    const { plan } = args;
    const resolve = (ref: SecretRef | string | undefined) =>
      ref === undefined ? undefined : typeof ref === "string" ? pulumi.secret(ref) : args.secret(ref.secret);

    const hosts = this.nodeHosts(args, resolve);

    const sshKeys = plan.sshKeys.map((k) => (typeof k === "string" ? pulumi.output(k) : args.secret(k.secret)));
    const templateFiles = new Map<string, pulumi.Output<string>>();
    const everything: pulumi.Resource[] = [...hosts.values()];
    for (const t of plan.baseTemplates)
      if (t.type === "lxc") {
        const file = new LxcTemplate(t.name, { template: t, provider: hosts.get(t.node)!.provider }, { parent: this });
        everything.push(file);
        templateFiles.set(t.name, file.fileId);
      }

    const secrets = Object.fromEntries(plan.secrets.map((n) => [n, args.secret(n)]));
    // The same resolver as the script step itself: a build hashes exactly the file that step sends.
    const builds =
      args.builds ?? templateBuilds(plan, (path) => requireProjectFile(args.definitionDir, path, "features.script.path"));
    // Before the guests that resolve through it (their addresses are the plan's, pool ones included: allocated there).
    const dns = plan.dns ? new DnsServer("dns", { dns: plan.dns, host: hosts.get(plan.dns.node)! }, { parent: this }) : undefined;
    if (dns) everything.push(dns);
    const adopted = args.adoption?.guests;
    const guestPrivateKey = resolve(plan.sshPrivateKey);
    for (const m of plan.machines) {
      const host = hosts.get(m.node)!;
      const source = m.source.kind === "clone" ? this.machines.get(m.source.template) : undefined;
      const dependsOn = [
        ...m.dependsOn.map((d) => this.machines.get(d)!),
        ...host.ready,
        ...m.datasets.flatMap((d) => (host.datasets.has(d) ? [host.datasets.get(d)!] : [])),
        ...(dns && resolvesThrough(plan.dns, m) ? [dns] : []),
      ];
      const vmPassword = m.cloudInit?.password ? resolve(m.cloudInit.password) : undefined;
      const made = createMachine(m, {
        host,
        node: plan.nodes.find((n) => n.name === m.node)!,
        secrets,
        definitionDir: args.definitionDir,
        sshKeys,
        ...(guestPrivateKey ? { guestPrivateKey } : {}),
        templateFiles,
        builds,
        // A clone of a golden template (an LXC one: VM templates are not built here).
        ...(source instanceof LxcContainer ? { golden: source } : {}),
        ...(vmPassword ? { vmPassword } : {}),
        ...(adopted?.has(m.name) ? { adoption: adopted.get(m.name)! } : {}),
        migration: migrationOf(args.migrations, m.name),
        opts: { parent: this, dependsOn },
      });
      this.machines.set(m.name, made);
    }

    everything.push(...this.firewall(plan, hosts), ...this.highAvailability(plan, hosts));
    const registrations = this.registerAgents(plan, secrets);
    everything.push(...registrations.values());
    const apps = this.deployApps(plan, { hosts, registrations, secrets, guestPrivateKey, definitionDir: args.definitionDir });
    everything.push(...apps.resources);
    this.apps = pulumi.output(apps.summaries);
    if (plan.gateway) {
      const gw = this.httpsGateway(plan, hosts, guestPrivateKey);
      everything.push(gw);
      this.gatewayCaCertificate = gw.caCertificate;
    }
    // Backups before deletions: inside the destroy guard, which a protected guest keeps from starting any backup.
    everything.push(...this.backups(plan, hosts));

    // Last: depending on everything, it is what a destroy deletes first, alone; protected, it refuses.
    const deployment = deploymentOf(plan, builds, adopted, args.migrations?.migrated);
    const guard = new DestroyGuard(
      `${name}-destroy-guard`,
      { refusal: destroyRefusal(deployment) },
      { parent: this, dependsOn: [...everything, ...this.machines.values()] },
    );
    this.deployed = guard.refusal.apply(() => deployment);
    this.guests = pulumi.output(Object.fromEntries(plan.machines.map((m) => [m.name, summarize(m)])));
    this.registerOutputs({
      guests: this.guests,
      apps: this.apps,
      deployed: this.deployed,
      ...(this.gatewayCaCertificate ? { gatewayCaCertificate: this.gatewayCaCertificate } : {}),
    });
  }

  private nodeHosts(
    args: PhoenixHypervisorArgs,
    resolve: (ref: SecretRef | string | undefined) => pulumi.Output<string> | undefined,
  ): Map<string, NodeHost> {
    const { plan } = args;
    const hosts = new Map<string, NodeHost>();
    for (const node of plan.nodes) {
      const vmGpus = new Set(plan.machines.filter((m) => m.node === node.name && m.type === "vm").flatMap((m) => m.gpus));
      const secrets = {
        apiToken: resolve(node.api?.token),
        password: resolve(node.api?.password),
        sshKey: resolve(node.ssh?.privateKey),
      };
      const pciImports = args.adoption?.pciMappings;
      hosts.set(
        node.name,
        new NodeHost(node.name, { node, vmGpus, ...secrets, ...(pciImports ? { pciImports } : {}) }, { parent: this }),
      );
    }
    return hosts;
  }

  /** The Proxmox firewall: the datacenter's, then each guest's once its machine is there (see *-firewall.ts). */
  private firewall(plan: Plan, hosts: Map<string, NodeHost>): pulumi.Resource[] {
    const fw = plan.firewall;
    if (!fw) return [];
    const provider = hosts.get(plan.nodes[0]!.name)!.provider;
    const dc = fw.datacenter
      ? new DatacenterFirewall("datacenter-firewall", { firewall: fw, provider }, { parent: this })
      : undefined;
    const guests = fw.guests.map(
      (g) =>
        new GuestFirewall(
          `${g.guest}-firewall`,
          {
            firewall: g,
            provider: hosts.get(g.node)!.provider,
            dependsOn: [this.machines.get(g.guest)!, ...(dc?.objects ?? [])],
          },
          { parent: this },
        ),
    );
    return [...(dc ? [dc] : []), ...guests];
  }

  /** Proxmox HA for the guests with `ha:`, through any node's provider (HA is the cluster's). */
  private highAvailability(plan: Plan, hosts: Map<string, NodeHost>): pulumi.Resource[] {
    if (!plan.ha) return [];
    const guests = new Map(plan.ha.resources.map((r) => [r.guest, resourceOf(this.machines.get(r.guest)!)]));
    const provider = hosts.get(plan.nodes[0]!.name)!.provider;
    return [new HighAvailability("ha", { ha: plan.ha, provider, guests }, { parent: this })];
  }

  /** Agents become environments of their server once both run: a step in the server's guest, per server. */
  private registerAgents(plan: Plan, secrets: Record<string, pulumi.Output<string>>): Map<string, RemoteScript> {
    const registrations = new Map<string, RemoteScript>();
    for (const r of plan.portainer) {
      const server = this.machines.get(r.server)!;
      const machines = [server, ...r.agents.map((a) => this.machines.get(a.name)!)];
      const registration = portainerEndpoints(
        `${r.server}-portainer-agents`,
        server.provisioning!.target,
        r.adminPassword,
        r.agents,
        secrets,
        {
          parent: this,
          dependsOn: machines,
          // a new server has none of them, a new agent another identity
          replaceWith: machines.map(resourceOf),
        },
      );
      registrations.set(r.server, registration);
    }
    return registrations;
  }

  /** Apps, once their guest is provisioned (and, through Portainer, once the server registered its agent). */
  private deployApps(
    plan: Plan,
    c: {
      hosts: Map<string, NodeHost>;
      registrations: Map<string, RemoteScript>;
      secrets: Record<string, pulumi.Output<string>>;
      guestPrivateKey: pulumi.Output<string> | undefined;
      definitionDir: string;
    },
  ): { summaries: Record<string, AppSummary>; resources: pulumi.Resource[] } {
    const targetOf = (name: string) => stepTarget(plan, c.hosts, c.guestPrivateKey, name, "apps");
    const apps: Record<string, AppSummary> = {};
    const resources: pulumi.Resource[] = [];
    for (const a of plan.apps) {
      apps[a.name] = { deploy: a.deploy, guests: {} };
      for (const t of a.targets) {
        const machine = this.machines.get(t.guest)!;
        const server = t.portainer ? this.machines.get(t.portainer.server) : undefined;
        const registration = t.portainer ? c.registrations.get(t.portainer.server) : undefined;
        const deployment = new AppDeployment(
          `${a.name}-on-${t.guest}`,
          {
            app: a,
            target: t,
            guest: targetOf(t.guest),
            ...(t.portainer ? { server: targetOf(t.portainer.server) } : {}),
            definitionDir: c.definitionDir,
            secrets: c.secrets,
            dependsOn: [machine, ...(server ? [server] : []), ...(registration ? [registration] : [])],
            replaceWith: [resourceOf(machine), ...(server ? [resourceOf(server)] : [])],
          },
          { parent: this },
        );
        apps[a.name]!.guests[t.guest] = deployment.urls;
        resources.push(deployment);
      }
    }
    return { summaries: apps, resources };
  }

  /** The HTTPS gateway once every machine it runs in or is trusted by is provisioned (and the apps it routes to). */
  private httpsGateway(
    plan: Plan,
    hosts: Map<string, NodeHost>,
    guestPrivateKey: pulumi.Output<string> | undefined,
  ): HttpsGateway {
    const g = plan.gateway!;
    const guests = new Map<string, GatewayGuest>();
    for (const n of new Set([g.guest, ...g.trustedBy])) {
      const x = this.machines.get(n)!;
      guests.set(n, {
        target: stepTarget(plan, hosts, guestPrivateKey, n, "the gateway's steps"),
        dependsOn: [x],
        replaceWith: [resourceOf(x)],
      });
    }
    return new HttpsGateway("gateway", { gateway: g, guests }, { parent: this });
  }

  /** Backups before deletions and scheduled jobs, per node, after every machine of the node (see node-backups.ts). */
  private backups(plan: Plan, hosts: Map<string, NodeHost>): NodeBackups[] {
    return plan.nodes.map((node) => {
      const here = plan.machines.filter((m) => m.node === node.name);
      const unprotected = here.filter((m) => (m.backup?.beforeReplace ?? m.kind === "guest") && !node.backup).map((m) => m.name);
      if (unprotected.length > 0)
        pulumi.log.warn(
          `node '${node.name}' has no storage with backup content: deleting or replacing ${unprotected.join(", ")} will stop ` +
            "until nodes[].backup.storage names one (or backupBeforeReplace: false opts a guest out)",
          this,
        );
      return new NodeBackups(
        node.name,
        { node, host: hosts.get(node.name)!, machines: here.map((m) => ({ plan: m, component: this.machines.get(m.name)! })) },
        { parent: this },
      );
    });
  }
}

/** Where steps about a guest run (apps, the gateway): into the container through its node, or over SSH to a VM. */
function stepTarget(
  plan: Plan,
  hosts: Map<string, NodeHost>,
  guestPrivateKey: pulumi.Output<string> | undefined,
  name: string,
  what: string,
): FeatureTarget {
  const m = plan.machines.find((x) => x.name === name)!;
  const host = hosts.get(m.node)!;
  if (!host.ssh) throw new Error(`${what} on '${name}' run through SSH to node '${m.node}': set nodes[].ssh`);
  const ip = m.network[0]?.ip.split("/")[0];
  const guest =
    m.type === "vm" && guestPrivateKey && ip
      ? { host: ip, user: m.cloudInit?.user ?? "phoenix", privateKey: guestPrivateKey }
      : undefined;
  return machineTarget(m, { node: host.ssh, ...(guest ? { guest } : {}) });
}

export function summarize(m: PlannedMachine): GuestSummary {
  const addresses = m.network.map((n) => n.ip.split("/")[0]!).filter((a) => a !== "dhcp");
  const host = addresses[0];
  const endpoints: Record<string, string> = {};
  if (host) {
    endpoints.ssh = m.type === "vm" ? `ssh ${m.cloudInit?.user ?? "phoenix"}@${host}` : `ssh root@${host}`;
    Object.assign(endpoints, servingEndpoints(m.features, host));
    const portainer = m.features.portainer;
    if (portainer?.role === "server") endpoints.portainer = `https://${host}:${portainer.port ?? PORTAINER_PORTS.server}`;
    if (portainer?.role === "agent") endpoints.portainerAgent = `${host}:${portainer.port ?? PORTAINER_PORTS.agent}`;
  }
  return { vmid: m.vmid, node: m.node, type: m.type, kind: m.kind, addresses, endpoints };
}
