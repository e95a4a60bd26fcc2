// One guest's in-guest provisioning: its node-side LXC config, then its features one at a time, then its health checks.
import * as pulumi from "@pulumi/pulumi";
import { apparmor, profileText } from "../provisioners/apparmor/apparmor";
import { docker, type DockerSettings } from "../provisioners/docker/docker";
import type { ConnectionInput, RemoteScript } from "../provisioners/engine/script-provider";
import { type FeatureTarget, settingsOf } from "../provisioners/engine/feature";
import { healthChecks } from "../provisioners/health-check/health-check";
import { nvidia, type NvidiaSettings } from "../provisioners/nvidia/nvidia";
import { nvidiaContainerToolkit } from "../provisioners/nvidia-container-toolkit/nvidia-container-toolkit";
import { ollama, type OllamaSettings } from "../provisioners/ollama/ollama";
import { portainer, type PortainerSettings } from "../provisioners/portainer/portainer";
import { customScript, type ScriptSettings } from "../provisioners/script/script";
import { vllm, type VllmOptions, type VllmSettings } from "../provisioners/vllm/vllm";
import type { PlannedFeature, PlannedMachine, PlannedNode } from "../plan/plan";

export interface GuestProvisioningArgs {
  machine: PlannedMachine;
  /** SSH to the machine's node: the pct transport and the node-side AppArmor/LXC config go through it. */
  node: ConnectionInput;
  /** SSH to the guest itself, for the ssh transport (VMs). */
  guest?: ConnectionInput;
  /** Pulumi secret config values by key (hfToken, portainerAdminPassword, …). */
  secrets: Record<string, pulumi.Output<string>>;
  /** Directory of the definition file: custom scripts and AppArmor profiles are relative to it. */
  definitionDir: string;
  /** What must exist first: the guest's container or VM (started). */
  dependsOn: pulumi.Resource[];
  /** The guest's container or VM: when it is replaced, every step runs anew in the new one. */
  replaceWith?: pulumi.Resource[];
  /** The node's declared AppArmor profiles (PlannedNode.apparmorProfiles). */
  apparmorProfiles?: PlannedNode["apparmorProfiles"];
  /** The vLLM feature's overrides: another server binary (the lab's stand-in), image, start timeout. */
  vllm?: VllmOptions;
  /** The machine ran before the stack (phoenix adopt): each step checks first and installs only what is missing. */
  adopt?: boolean;
}

/** A guest's provisioning. Depend on the component itself to wait for all of it (a golden template's freeze does). */
export class GuestProvisioning extends pulumi.ComponentResource {
  /** Every step, in the order they run. */
  readonly steps: RemoteScript[];
  /** Where the guest's in-guest steps run; other steps about this guest (Portainer's agents) run there too. */
  readonly target: FeatureTarget;

  constructor(name: string, args: GuestProvisioningArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:GuestProvisioning", name, {}, opts);
    const m = args.machine;
    const inGuest = m.provisioners.some((p) => p.feature !== "apparmor") || m.healthChecks.length > 0;
    const triggers = incarnation(m, args.adopt);
    const timeouts = { values: m.timeouts ?? {}, where: `${m.kind === "template" ? "template" : "guest"} '${m.name}'` };
    const target = {
      ...(inGuest ? targetOf(m, args) : { connection: args.node }),
      triggers,
      timeouts,
      ...(args.adopt ? { adopt: true } : {}),
    };
    this.target = target;
    const steps: RemoteScript[] = [];
    // Each step waits for the one before: features in one guest share apt's locks and build on each other.
    const next = () => ({
      parent: this,
      dependsOn: steps.length > 0 ? [steps[steps.length - 1]!] : args.dependsOn,
      ...(args.replaceWith ? { replaceWith: args.replaceWith } : {}),
      // The old step's delete (the node-side lines' removal) must run before the new one writes them again.
      deleteBeforeReplace: true,
    });

    // Node side first, as the original applied them when configuring the container: its lxc.* lines (AppArmor
    // profile, lxcOptions) restart a running container, which is better done before anything is installed in it.
    const profile = m.type === "lxc" ? m.features.apparmor?.profile : undefined;
    if (m.type === "lxc" && (profile !== undefined || m.lxcOptions.length > 0)) {
      const text = profileText(profile, args.apparmorProfiles ?? [], args.definitionDir);
      steps.push(
        apparmor(
          `${name}-apparmor`,
          args.node,
          {
            vmid: m.vmid,
            ...(profile ? { profile } : {}),
            ...(text !== undefined ? { profileText: text } : {}),
            lxcOptions: m.lxcOptions,
          },
          next(),
          { triggers, timeouts, ...(args.adopt ? { adopt: true } : {}) },
        ),
      );
    }
    for (const p of m.provisioners) {
      const step = this.feature(`${name}-${p.feature}`, p, m, target, args, next());
      if (step) steps.push(step);
    }
    if (m.healthChecks.length > 0)
      steps.push(
        healthChecks(
          `${name}-health`,
          target,
          m.healthChecks,
          // A step's hash never covers secret values; its secrets' revision says when they changed.
          steps.map((s) =>
            pulumi.all([s.hash, s.secretsRevision]).apply(([hash, revision]) => (revision ? `${hash}+${revision}` : hash)),
          ),
          next(),
        ),
      );
    this.steps = steps;
    this.registerOutputs({});
  }

  private feature(
    name: string,
    p: PlannedFeature,
    m: PlannedMachine,
    target: FeatureTarget,
    args: GuestProvisioningArgs,
    opts: pulumi.CustomResourceOptions,
  ): RemoteScript | undefined {
    // The docker settings in effect, possibly inherited from the template: both features write its daemon.json.
    const dockerDaemon = typeof m.features.docker === "object" ? (m.features.docker.daemon ?? {}) : {};
    switch (p.feature) {
      case "nvidia":
        return nvidia(name, target, settingsOf<NvidiaSettings>(p.settings), opts);
      case "docker":
        return docker(
          name,
          target,
          settingsOf<DockerSettings>(p.settings),
          { nvidiaRuntime: m.features["nvidia-container-toolkit"] !== undefined },
          opts,
        );
      case "nvidia-container-toolkit":
        return nvidiaContainerToolkit(name, target, dockerDaemon, { unprivileged: m.unprivileged }, opts);
      case "vllm":
        return vllm(name, target, settingsOf<VllmSettings>(p.settings), args.secrets, args.vllm ?? {}, opts);
      case "ollama":
        return ollama(name, target, settingsOf<OllamaSettings>(p.settings), opts);
      case "portainer":
        return portainer(name, target, settingsOf<PortainerSettings>(p.settings), args.secrets, opts);
      case "script":
        return customScript(name, target, settingsOf<ScriptSettings>(p.settings), args.definitionDir, opts);
      case "apparmor":
        return undefined; // node side, created first (see the constructor)
      default: {
        // A feature added to FEATURE_ORDER without a case here fails to compile.
        const unhandled: never = p.feature;
        throw new Error(`no provisioner for feature '${String(unhandled)}'`);
      }
    }
  }
}

/**
 * What the provider cannot change in place (it replaces the machine when one of these changes). A replaced machine
 * is a fresh one: its steps must run again even though their scripts did not change. An adopted machine keeps its
 * origin and what Proxmox cannot change in place, so only its identity counts until it is rebuilt.
 */
export function incarnation(m: PlannedMachine, adopted = false): unknown[] {
  if (adopted) return [m.type, m.node, m.vmid, "adopted"];
  const s = m.source;
  return [
    m.type,
    m.node,
    m.vmid,
    s.kind === "clone" ? `clone:${s.template}` : `create:${s.template}`,
    m.unprivileged,
    m.disk?.storage ?? null,
  ];
}

/** Whether a machine has anything to provision: features, health checks, or raw LXC options set on the node. */
export function needsProvisioning(m: PlannedMachine): boolean {
  return (
    m.provisioners.length > 0 ||
    m.healthChecks.length > 0 ||
    (m.type === "lxc" && (m.lxcOptions.length > 0 || m.features.apparmor !== undefined))
  );
}

/** Where steps about a machine run (apps, registrations), whether or not it has features of its own. */
export function machineTarget(m: PlannedMachine, args: Pick<GuestProvisioningArgs, "node" | "guest">): FeatureTarget {
  return { ...targetOf(m, args), triggers: incarnation(m) };
}

/** pct: through the node into the container; ssh: straight to the guest. */
export function targetOf(m: PlannedMachine, args: Pick<GuestProvisioningArgs, "node" | "guest">): FeatureTarget {
  const transport = m.provisioners[0]?.transport ?? (m.type === "lxc" ? "pct" : "ssh");
  if (transport === "pct") return { connection: args.node, inContainer: m.vmid };
  if (!args.guest) throw new Error(`${m.name} is provisioned over SSH to the guest, but no guest connection was given`);
  return { connection: args.guest };
}
