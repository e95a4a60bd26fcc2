// A stack as the day-two verbs (backups, restore, rollback, run-job) see it, through Pulumi's Automation API in the
// project directory (like `pulumi`): its config and secrets, its definition (validated and planned as the program does),
// each node's API with the stack's credentials, and the resources a guest's restore or rollback changes under (refreshed
// after it): the guest's own, and those of every app deployed on it or through a Portainer server on it.
import { resolve } from "node:path";
import { readLockOptions } from "../definition/lock";
import { errorsOf, formatProblem } from "../definition/problems";
import type { SecretRef } from "../definition/schema";
import { type Plan, type PlannedMachine, type PlannedNode, buildPlan } from "../plan/plan";
import { loadDefinition } from "../validate";
import type { NodeApi } from "./proxmox";

/** What the day-two verbs need of a stack (an interface so tests can give their own). */
export interface StackContext {
  name: string;
  plan: Plan;
  /** The node's API with its credentials resolved from the stack's secrets. */
  api(node: PlannedNode): NodeApi;
  /** URNs of these components and everything under them in the stack's state (those the state holds). */
  resourcesUnder(components: readonly ComponentRef[]): Promise<string[]>;
  /** Refreshes those resources, so the next `pulumi up` converges what changed under them. */
  refresh(urns: string[]): Promise<void>;
}

export class StackError extends Error {}

/** A component of the stack by its Pulumi type (`phoenix:index:<type>`) and name. */
export interface ComponentRef {
  type: "LxcContainer" | "QemuVm" | "AppDeployment";
  name: string;
}

/**
 * The components whose resources read differently once `guest` is put back to an earlier state: the guest's own, each
 * app deployed on it (its containers and files are rolled back with it) and each app deployed through a Portainer
 * server on it (the server's database forgets stacks made after the snapshot). Names as components/ gives them.
 */
export function affectedBy(plan: Plan, guest: PlannedMachine): ComponentRef[] {
  const own: ComponentRef = { type: guest.type === "vm" ? "QemuVm" : "LxcContainer", name: guest.name };
  const apps = plan.apps.flatMap((a) =>
    a.targets
      .filter((t) => t.guest === guest.name || t.portainer?.server === guest.name)
      .map((t): ComponentRef => ({ type: "AppDeployment", name: `${a.name}-on-${t.guest}` })),
  );
  return [own, ...apps];
}

/** Opens the stack `name` of the project in `workDir` (the current directory by default). */
export async function openStack(name: string, workDir = process.cwd()): Promise<StackContext> {
  const { LocalWorkspace } = await import("@pulumi/pulumi/automation/index.js");
  const stack = await LocalWorkspace.selectStack({ stackName: name, workDir }).catch((e: Error) => {
    throw new StackError(`cannot open stack '${name}' in ${workDir}: ${e.message.split("\n").find(Boolean) ?? e.message}`);
  });
  const config = await stack.getAllConfig();
  const defined = config["phoenix:definition"]?.value;
  if (!defined) throw new StackError(`stack '${name}' has no phoenix:definition config (pulumi config set phoenix:definition …)`);
  const file = resolve(workDir, defined);
  const loaded = loadDefinition(file);
  if (!loaded.definition) throw new StackError(`${file} is invalid:\n${errorsOf(loaded.problems).map(formatProblem).join("\n")}`);
  const plan = buildPlan(loaded.definition, readLockOptions(file));
  const secret = (ref: SecretRef | string | undefined): string | undefined => {
    if (ref === undefined || typeof ref === "string") return ref;
    const v = config[`phoenix:${ref.secret}`]?.value;
    if (v === undefined) throw new StackError(`stack '${name}' has no secret phoenix:${ref.secret}`);
    return v;
  };
  const resources = async () =>
    ((await stack.exportStack()).deployment?.resources ?? []) as { urn: string; parent?: string; type: string }[];
  return {
    name,
    plan,
    api: (node) => {
      if (!node.api) throw new StackError(`node '${node.name}' has no api in the definition`);
      const token = secret(node.api.token);
      const password = secret(node.api.password);
      return {
        endpoint: node.api.endpoint,
        insecure: node.api.insecure,
        ...(node.api.fingerprint !== undefined ? { fingerprint: node.api.fingerprint } : {}),
        ...(token ? { token } : {}),
        ...(node.api.username && password ? { username: node.api.username, password } : {}),
      };
    },
    resourcesUnder: async (components) => underComponents(await resources(), components),
    refresh: async (urns) => {
      if (urns.length) await stack.refresh({ target: urns });
    },
  };
}

/** URNs of the components' resources in a stack's state: each component that is there and everything under it. */
export function underComponents(
  state: readonly { urn: string; parent?: string }[],
  components: readonly ComponentRef[],
): string[] {
  const ends = components.map((c) => `$phoenix:index:${c.type}::${c.name}`);
  const out = new Set(state.filter((r) => ends.some((e) => r.urn.endsWith(e))).map((r) => r.urn));
  for (let grew = true; grew;) {
    grew = false;
    for (const r of state)
      if (r.parent && out.has(r.parent) && !out.has(r.urn)) {
        out.add(r.urn);
        grew = true;
      }
  }
  return [...out];
}

/** A guest (or golden template) of the plan by name; the names there are when it is not one. */
export function machineOf(plan: Plan, name: string): PlannedMachine {
  const m = plan.machines.find((x) => x.name === name);
  if (!m)
    throw new StackError(
      `no guest is named '${name}' in the definition (guests: ${plan.machines.map((x) => x.name).join(", ")})`,
    );
  return m;
}

export function nodeOf(plan: Plan, m: PlannedMachine): PlannedNode {
  return plan.nodes.find((n) => n.name === m.node)!;
}
