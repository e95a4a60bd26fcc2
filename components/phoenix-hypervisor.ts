// The top component: instantiates a plan in dependency order — a NodeHost per node (provider, GPU mappings, driver,
// datasets), base templates, machines (through the machine factory), then Portainer's agent registrations.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { portainerEndpoints } from "../provisioners/portainer/portainer";
import type { Plan, PlannedMachine } from "../plan/plan";
import { FEATURE_DEFAULTS, PORTAINER_PORTS, type SecretRef } from "../definition/schema";
import { templateBuilds } from "./args/template-build";
import { LxcContainer } from "./lxc-container";
import { LxcTemplate } from "./lxc-template";
import { createMachine } from "./machine-factory";
import { NodeHost } from "./node-host";
import type { QemuVm } from "./qemu-vm";

/** Resolves a secret reference from Pulumi secret config (phoenix:<name>). */
export type SecretResolver = (name: string) => pulumi.Output<string>;

export interface PhoenixHypervisorArgs {
  plan: Plan;
  secret: SecretResolver;
  /** Directory of the definition file: custom scripts and AppArmor profiles are relative to it. */
  definitionDir: string;
}

export interface GuestSummary {
  vmid: number;
  node: string;
  type: "lxc" | "vm";
  kind: "guest" | "template";
  addresses: string[];
  endpoints: Record<string, string>;
}

export class PhoenixHypervisor extends pulumi.ComponentResource {
  readonly guests: pulumi.Output<Record<string, GuestSummary>>;
  readonly machines = new Map<string, LxcContainer | QemuVm>();

  constructor(name: string, args: PhoenixHypervisorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:PhoenixHypervisor", name, {}, opts);
    const { plan } = args;
    const resolve = (ref: SecretRef | string | undefined) =>
      ref === undefined ? undefined : typeof ref === "string" ? pulumi.secret(ref) : args.secret(ref.secret);

    const hosts = new Map<string, NodeHost>();
    for (const node of plan.nodes) {
      const vmGpus = new Set(plan.machines.filter((m) => m.node === node.name && m.type === "vm").flatMap((m) => m.gpus));
      const secrets = {
        apiToken: resolve(node.api?.token),
        password: resolve(node.api?.password),
        sshKey: resolve(node.ssh?.privateKey),
      };
      hosts.set(node.name, new NodeHost(node.name, { node, vmGpus, ...secrets }, { parent: this }));
    }

    const sshKeys = plan.sshKeys.map((k) => (typeof k === "string" ? pulumi.output(k) : args.secret(k.secret)));
    const templateFiles = new Map<string, pulumi.Output<string>>();
    for (const t of plan.baseTemplates)
      if (t.type === "lxc")
        templateFiles.set(
          t.name,
          new LxcTemplate(t.name, { template: t, provider: hosts.get(t.node)!.provider }, { parent: this }).fileId,
        );

    const secrets = Object.fromEntries(plan.secrets.map((n) => [n, args.secret(n)]));
    const builds = templateBuilds(plan, (path) => readFileSync(join(args.definitionDir, path), "utf8"));
    const guestPrivateKey = resolve(plan.sshPrivateKey);
    for (const m of plan.machines) {
      const host = hosts.get(m.node)!;
      const source = m.source.kind === "clone" ? this.machines.get(m.source.template) : undefined;
      const dependsOn = [
        ...m.dependsOn.map((d) => this.machines.get(d)!),
        ...host.ready,
        ...m.datasets.flatMap((d) => (host.datasets.has(d) ? [host.datasets.get(d)!] : [])),
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
        opts: { parent: this, dependsOn },
      });
      this.machines.set(m.name, made);
    }

    // Agents become environments of their server once both run: a step in the server's guest.
    for (const r of plan.portainer) {
      const server = this.machines.get(r.server)!;
      const machines = [server, ...r.agents.map((a) => this.machines.get(a.name)!)];
      portainerEndpoints(`${r.server}-portainer-agents`, server.provisioning!.target, r.adminPassword, r.agents, secrets, {
        parent: this,
        dependsOn: machines,
        // a new server has none of them, a new agent another identity
        replaceWith: machines.map((x) => (x instanceof LxcContainer ? x.container : x.vm)),
      });
    }

    this.guests = pulumi.output(Object.fromEntries(plan.machines.map((m) => [m.name, summarize(m)])));
    this.registerOutputs({ guests: this.guests });
  }
}

export function summarize(m: PlannedMachine): GuestSummary {
  const addresses = m.network.map((n) => n.ip.split("/")[0]!).filter((a) => a !== "dhcp");
  const host = addresses[0];
  const endpoints: Record<string, string> = {};
  if (host) {
    endpoints.ssh = m.type === "vm" ? `ssh ${m.cloudInit?.user ?? "phoenix"}@${host}` : `ssh root@${host}`;
    const vllm = m.features.vllm;
    if (vllm) endpoints.vllm = `http://${host}:${vllm.port ?? FEATURE_DEFAULTS.vllm.port}/v1`;
    const ollama = m.features.ollama;
    if (ollama) endpoints.ollama = `http://${host}:${ollama.port ?? FEATURE_DEFAULTS.ollama.port}`;
    const portainer = m.features.portainer;
    if (portainer?.role === "server") endpoints.portainer = `https://${host}:${portainer.port ?? PORTAINER_PORTS.server}`;
    if (portainer?.role === "agent") endpoints.portainerAgent = `${host}:${portainer.port ?? PORTAINER_PORTS.agent}`;
  }
  return { vmid: m.vmid, node: m.node, type: m.type, kind: m.kind, addresses, endpoints };
}
