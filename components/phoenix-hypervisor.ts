// The top component: instantiates a plan — providers, host resources, templates, guests — in dependency order.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import type { ConnectionInput } from "../provisioners/engine/script-provider";
import { nvidiaHostDriver } from "../provisioners/nvidia/nvidia-host";
import { portainerEndpoints } from "../provisioners/portainer/portainer";
import type { Plan, PlannedMachine } from "../plan/plan";
import { FEATURE_DEFAULTS, PORTAINER_PORTS, type SecretRef } from "../definition/schema";
import { providerArgs } from "./args/host";
import { templateBuilds } from "./args/template-build";
import { GpuMapping } from "./gpu-mapping";
import { LxcContainer } from "./lxc-container";
import { LxcTemplate } from "./lxc-template";
import { QemuVm } from "./qemu-vm";
import { ZfsDataset } from "./zfs-dataset";

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

    const providers = new Map<string, proxmox.Provider>();
    const hostResources = new Map<string, pulumi.Resource[]>();
    const datasets = new Map<string, ZfsDataset>();
    const nodeSsh = new Map<string, ConnectionInput>();
    for (const node of plan.nodes) {
      const provider = new proxmox.Provider(node.name, providerArgs(node, { apiToken: resolve(node.api?.token), password: resolve(node.api?.password), sshKey: resolve(node.ssh?.privateKey) }), { parent: this });
      providers.set(node.name, provider);
      const usedByVms = new Set(plan.machines.filter((m) => m.node === node.name && m.type === "vm").flatMap((m) => m.gpus));
      hostResources.set(
        node.name,
        node.gpuMappings.filter((g) => usedByVms.has(g.index)).map((g) => new GpuMapping(g.id, { mapping: g, provider }, { parent: this })),
      );
      const ssh = node.ssh;
      if (!ssh) continue;
      const connection = {
        host: ssh.host,
        port: ssh.port,
        user: ssh.user,
        ...(ssh.privateKey ? { privateKey: resolve(ssh.privateKey)! } : {}),
        ...(ssh.hostKey ? { hostKey: ssh.hostKey } : {}),
      };
      nodeSsh.set(node.name, connection);
      // The node's own driver first: every guest on the node waits for it (their userland must match it).
      if (node.nvidiaDriver?.installOnHost)
        hostResources.get(node.name)!.push(nvidiaHostDriver(`${node.name}-nvidia-driver`, connection, node.nvidiaDriver.version, { parent: this }));
      for (const d of node.datasets) {
        // A child dataset is created after its parent.
        const parent = datasets.get(d.name.slice(0, d.name.lastIndexOf("/")));
        datasets.set(d.name, new ZfsDataset(d.name, { dataset: d, connection }, { parent: this, ...(parent ? { dependsOn: [parent] } : {}) }));
      }
    }

    const sshKeys = plan.sshKeys.map((k) => (typeof k === "string" ? pulumi.output(k) : args.secret(k.secret)));
    const templateFiles = new Map<string, pulumi.Output<string>>();
    for (const t of plan.baseTemplates)
      if (t.type === "lxc") templateFiles.set(t.name, new LxcTemplate(t.name, { template: t, provider: providers.get(t.node)! }, { parent: this }).fileId);

    const secrets = Object.fromEntries(plan.secrets.map((n) => [n, args.secret(n)]));
    const builds = templateBuilds(plan, (path) => readFileSync(join(args.definitionDir, path), "utf8"));
    const guestPrivateKey = resolve(plan.sshPrivateKey);
    // A clone of a golden template (an LXC one: VM templates are not built here).
    const goldenSource = (m: PlannedMachine) => {
      const t = m.source.kind === "clone" ? this.machines.get(m.source.template) : undefined;
      return t instanceof LxcContainer ? t : undefined;
    };
    for (const m of plan.machines) {
      const node = plan.nodes.find((n) => n.name === m.node)!;
      const provisioning = { secrets, definitionDir: args.definitionDir, apparmorProfiles: node.apparmorProfiles };
      const dependsOn = [
        ...m.dependsOn.map((d) => this.machines.get(d)!),
        ...(hostResources.get(m.node) ?? []),
        ...m.datasets.flatMap((d) => (datasets.has(d) ? [datasets.get(d)!] : [])),
      ];
      const o = { parent: this, dependsOn };
      const provider = providers.get(m.node)!;
      const golden = goldenSource(m);
      const made =
        m.type === "lxc"
          ? new LxcContainer(
              m.name,
              {
                machine: m,
                provider,
                ...(builds.has(m.name) ? { build: builds.get(m.name)! } : {}),
                ...(golden ? { template: golden } : {}),
                ...(nodeSsh.has(m.node) ? { node: nodeSsh.get(m.node)! } : {}),
                provisioning,
                context: {
                  ...(m.source.kind === "create" ? { templateFileId: templateFiles.get(m.source.template)! } : {}),
                  // Proxmox takes root's keys only at create time (a clone keeps its template's: bpg#1905).
                  ...(sshKeys.length && m.source.kind === "create" ? { sshKeys } : {}),
                },
              },
              o,
            )
          : new QemuVm(
              m.name,
              {
                machine: m,
                provider,
                ...(nodeSsh.has(m.node) ? { node: nodeSsh.get(m.node)! } : {}),
                provisioning: { ...provisioning, ...(guestPrivateKey ? { guestPrivateKey } : {}) },
                context: { sshKeys, ...(m.cloudInit?.password ? { password: resolve(m.cloudInit.password)! } : {}) },
              },
              o,
            );
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
    const portainer = m.features.portainer;
    if (portainer?.role === "server") endpoints.portainer = `https://${host}:${portainer.port ?? PORTAINER_PORTS.server}`;
    if (portainer?.role === "agent") endpoints.portainerAgent = `${host}:${portainer.port ?? PORTAINER_PORTS.agent}`;
  }
  return { vmid: m.vmid, node: m.node, type: m.type, kind: m.kind, addresses, endpoints };
}
