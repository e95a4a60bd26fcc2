// `phoenix adopt --stack <env>`: takes over a host that runs already (built by the original scripts or by hand). It
// reads the node(s) through the Proxmox API and SSH, matches what runs to the definition, writes the adoption record
// (stacks/<env>.adopted.json) that makes the program import the matches under its own URNs, and says per guest what
// the next up does with it: adopted as is, updated (which fields), kept where it would be replaced, created.
import { parseArgs } from "node:util";
import { type AdoptionRecord, PROPERTY_PATH, adoptionPath, readAdoption, writeAdoption } from "../definition/adoption";
import { readLockOptions } from "../definition/lock";
import { type AdoptMatch, type GuestMatch, type LiveGuest, type LiveNode, matchLive, sameAsRunning } from "../plan/adopt-match";
import { buildPlan, type Plan, type PlannedMachine } from "../plan/plan";
import { loadDefinition } from "../validate";
import { CommandError, type Io, UsageError, report } from "./io";
import { onNode } from "./node-shell";
import { ProxmoxReader } from "./proxmox-api";
import { type OpenStack, type PlannedStep, heldResources, openStack, previewSteps } from "./stack";

/** What the provider keeps for itself (its timeouts, the vmid an import id already holds): recorded, nothing on the host. */
export const BOOKKEEPING = /^(timeout[A-Z]\w*|vmId)$/;

export const MACHINE_TYPES = { lxc: "proxmoxve:index/containerLegacy:ContainerLegacy", vm: "proxmoxve:index/vmLegacy:VmLegacy" };

/** Every node of the plan as its API and SSH show it, and the cluster's PCI mapping ids. */
export async function readNodes(plan: Plan, s: Pick<OpenStack, "secret">): Promise<{ live: LiveNode[]; pci: string[] }> {
  const live: LiveNode[] = [];
  let pci: string[] = [];
  for (const n of plan.nodes) {
    if (!n.api) throw new UsageError(`node '${n.name}' has no api in the definition: adopt reads the node through its API`);
    const token = await s.secret(n.api.token);
    const password = await s.secret(n.api.password);
    const api = new ProxmoxReader({
      endpoint: n.api.endpoint,
      insecure: n.api.insecure,
      ...(n.api.fingerprint !== undefined ? { fingerprint: n.api.fingerprint } : {}),
      ...(token ? { token } : {}),
      ...(n.api.username && password ? { username: n.api.username, password } : {}),
    });
    const names = (await api.get<{ node: string }[]>("nodes")).map((x) => x.node);
    if (!names.includes(n.name))
      throw new CommandError(
        `node '${n.name}' is not a node of ${n.api.endpoint} (it has: ${names.join(", ")}): nodes[].name must be the Proxmox ` +
          `node's name (phoenix import --node <name>)`,
      );
    const guests: LiveGuest[] = [];
    for (const type of ["lxc", "vm"] as const) {
      const area = type === "lxc" ? "lxc" : "qemu";
      for (const g of await api.get<{ vmid: number | string; name?: string }[]>(`nodes/${n.name}/${area}`)) {
        const config = await api.get<Record<string, unknown>>(`nodes/${n.name}/${area}/${g.vmid}/config`);
        const name = String(config.hostname ?? config.name ?? g.name ?? "");
        guests.push({ vmid: Number(g.vmid), node: n.name, type, name, template: String(config.template ?? "0") === "1", config });
      }
    }
    let datasets: string[] | undefined;
    if (n.ssh) {
      const key = await s.secret(n.ssh.privateKey);
      const out = await onNode(
        {
          host: n.ssh.host,
          port: n.ssh.port,
          user: n.ssh.user,
          ...(key ? { privateKey: key } : {}),
          ...(n.ssh.hostKey ? { hostKey: n.ssh.hostKey } : {}),
        },
        "zfs list -H -o name",
      );
      datasets = out.split("\n").filter((l) => l.trim() !== "");
    }
    live.push({ node: n.name, guests, ...(datasets ? { datasets } : {}) });
    if (pci.length === 0) pci = (await api.get<{ id: string }[]>("cluster/mapping/pci").catch(() => [])).map((m) => m.id);
  }
  return { live, pci };
}

/** The replacements the preview still finds for adopted guests (beyond what the record keeps): kept too, and said. */
export function replacedPaths(step: PlannedStep | undefined): string[] {
  if (!step || !step.ops.includes("replace")) return [];
  const paths = Object.entries(step.detailed)
    .filter(([, kind]) => kind.endsWith("-replace"))
    .map(([p]) => p);
  return paths.length > 0 ? paths : step.keys.filter((k) => k !== "replaceWith");
}

function stepOf(steps: Map<string, PlannedStep>, m: PlannedMachine): PlannedStep | undefined {
  return [...steps.values()].find((s) => s.type === MACHINE_TYPES[m.type] && s.name === m.name);
}

function what(m: PlannedMachine): string {
  return `${m.kind === "template" ? "template " : ""}${m.name} (${m.type === "lxc" ? "CT" : "VM"} ${m.vmid} on ${m.node})`;
}

const featuresOf = (m: PlannedMachine) => [
  ...(m.type === "lxc" && (m.lxcOptions.length > 0 || m.features.apparmor) ? ["apparmor"] : []),
  ...m.provisioners.filter((p) => p.feature !== "apparmor").map((p) => p.feature),
  ...(m.healthChecks.length > 0 ? ["health checks"] : []),
  ...(m.kind === "template" ? ["freeze"] : []),
];

function describeGuest(g: GuestMatch, step: PlannedStep | undefined, stack: string, extra: string[]): string[] {
  const m = g.machine;
  if (g.status === "in-stack") return [`${what(m)}: in the stack already`];
  if (g.status === "missing") return [`${what(m)}: missing: will be created`];
  if (g.status === "conflict") return [`${what(m)}: CONFLICT: ${g.why}; change its vmid or remove it from the node`];
  const paths = (
    step?.ops.includes("update")
      ? Object.keys(step.detailed).length > 0
        ? Object.entries(step.detailed)
            .filter(([, k]) => !k.endsWith("-replace"))
            .map(([p]) => p)
        : step.diffs
      : []
  ).filter((p) => !BOOKKEEPING.test(p));
  const recorded = paths.filter((p) => step?.values[p] && sameAsRunning(p, step.values[p]!.new, g.live));
  const updates = paths
    .filter((p) => !recorded.includes(p))
    .map((p) => {
      const v = step?.values[p];
      return v && v.old !== undefined && typeof v.new !== "object"
        ? `${p} (${JSON.stringify(v.old)} → ${JSON.stringify(v.new)})`
        : p;
    });
  const lines = [`${what(m)}: ${updates.length > 0 ? `adopted; will be updated: ${updates.join(", ")}` : "adopted as is"}`];
  if (recorded.length > 0)
    lines.push(
      `  the up records ${recorded.join(", ")} as it runs (the import left Proxmox's defaults out): nothing changes on the node`,
    );
  const kept = [...g.keep, ...extra.map((path) => ({ path, why: "the provider would replace it for this change" }))];
  for (const k of kept) lines.push(`  would be replaced because ${k.path} differs${k.why ? ` (${k.why})` : ""}: kept as it runs`);
  lines.push(
    `  kept as it runs unless you ask for the rebuild: phoenix adopt --stack ${stack} --rebuild ${m.name}, then pulumi up`,
  );
  const features = featuresOf(m);
  if (features.length > 0) lines.push(`  its ${features.join(", ")} check first and install only what is missing`);
  return lines;
}

const DATASET_STATUS = {
  "in-stack": "in the stack already",
  exists: "exists: adopted (the up sets only the properties that differ; it never destroys it)",
  missing: "missing: will be created",
  unknown: "unknown (the definition gives no SSH to the node)",
};

function printReport(io: Io, match: AdoptMatch, steps: Map<string, PlannedStep>, stack: string, extra: Map<string, string[]>) {
  io.out("guests:");
  for (const g of match.guests) {
    for (const l of describeGuest(g, stepOf(steps, g.machine), stack, extra.get(g.machine.name) ?? [])) io.out(`  ${l}`);
    if (match.record.guests[g.machine.name]?.rebuild)
      io.out(
        g.status === "in-stack"
          ? "  marked for rebuild: the next up replaces it from the definition (what it holds in its rootfs goes with it)"
          : "  marked for rebuild: the up after the one that imports it replaces it from the definition",
      );
  }
  for (const u of match.unmanaged)
    io.out(
      `  ${u.name || "-"} (${u.type === "lxc" ? "CT" : "VM"} ${u.vmid} on ${u.node}): unmanaged, left alone (the definition does not name it)`,
    );
  if (match.datasets.length > 0) io.out("datasets:");
  for (const d of match.datasets) io.out(`  ${d.name} on ${d.node}: ${DATASET_STATUS[d.status]}`);
  if (match.pciMappings.length > 0) io.out("PCI mappings:");
  for (const p of match.pciMappings)
    io.out(`  ${p.id}: ${p.status === "exists" ? "exists: imported" : "missing: will be created"}`);
}

export async function adoptCmd(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { stack: { type: "string" }, rebuild: { type: "string", multiple: true } },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (!values.stack) throw new UsageError("missing --stack <env>");
  const started = Date.now();
  const s = await openStack(values.stack);
  const file = s.definitionFile;
  const loaded = loadDefinition(file);
  const adoption = readAdoption(file);
  if (!report(io, file, loaded.problems)) return 1;
  const plan = buildPlan(loaded.definition!, readLockOptions(file));
  const held = await heldResources(s.stack);
  const inState = new Set(held.filter((r) => r.type === MACHINE_TYPES.lxc || r.type === MACHINE_TYPES.vm).map((r) => r.name));
  const rebuild = new Set(values.rebuild ?? []);
  for (const name of rebuild)
    if (!adoption.record.guests[name] && !plan.machines.some((m) => m.name === name && !inState.has(name)))
      throw new UsageError(`'${name}' was not adopted: to rebuild a guest the stack built, use pulumi up --replace <its URN>`);

  const { live, pci } = await readNodes(plan, s);
  const datasetsHeld = new Set(held.filter((r) => r.type === "pulumi-nodejs:dynamic/phoenix:ZfsDataset").map((r) => r.name));
  const match = matchLive(plan, live, adoption.record, inState, pci, rebuild, datasetsHeld);
  const conflicts = match.guests.filter((g) => g.status === "conflict");
  let wrote = writeAdoption(file, match.record);

  // What the up would do, as the engine sees it (the program only reports: protection does not stop this preview).
  const preview = await previewSteps(s.stack, { PHOENIX_REPORT_ONLY: "1" });
  const extra = new Map<string, string[]>();
  const record: AdoptionRecord = structuredClone(match.record);
  for (const g of match.guests) {
    const more =
      g.status === "adopt"
        ? replacedPaths(stepOf(preview.steps, g.machine)).filter(
            (p) => PROPERTY_PATH.test(p) && !g.keep.some((k) => k.path === p),
          )
        : [];
    if (more.length === 0) continue;
    extra.set(g.machine.name, more);
    record.guests[g.machine.name]!.keep = [...new Set([...record.guests[g.machine.name]!.keep, ...more])];
  }
  if (extra.size > 0) wrote = writeAdoption(file, record) || wrote;

  printReport(io, match, preview.steps, values.stack, extra);
  for (const d of preview.diagnostics.filter((x) => x.severity === "warning")) io.out(`note: ${d.message}`);
  if (preview.error) io.err(`phoenix: the preview failed:\n${preview.error.split("\n").slice(-15).join("\n")}`);
  io.out(
    `${wrote ? "wrote" : "left unchanged:"} ${adoptionPath(file)} (${Object.keys(record.guests).length} adopted); ` +
      `next: pulumi preview --stack ${values.stack}, then pulumi up --stack ${values.stack}`,
  );
  io.out(`adopt took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (conflicts.length > 0) {
    io.err(`phoenix: ${conflicts.length} conflict(s): the up would fail on them (see above)`);
    return 1;
  }
  return preview.error ? 1 : 0;
}
