// `phoenix import`: the original system's three JSON files → one native definition.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { basename } from "node:path";
import { stringify } from "yaml";
import type { DefinitionInput } from "../../definition/schema";

type GuestInput = NonNullable<DefinitionInput["guests"]>[number];
import { readDns } from "./dns";
import {
  Addresses,
  dedupeGuests,
  readDatacenterFirewall,
  readGuestFirewall,
  templateFirewall,
  warnNewlyFiltered,
} from "./firewall";
import { readHypervisor } from "./hypervisor";
import { type MachineSource, readMachines } from "./machines";
import { ollamaOffSharedGpus } from "./ollama-gpus";
import { type StacksInput, readStacks } from "./stacks";
import { ImportError, Reader, type ImportWarning, Warnings } from "./reader";
import { readGateway, readGuestExpose } from "./routes";

export { ImportError, type ImportWarning };

export interface ImportInput {
  hypervisor: { file: string; json: unknown };
  lxc: { file: string; json: unknown };
  vm?: { file: string; json: unknown };
  /** The Proxmox node's name (the original files do not say it). */
  node?: string;
  /** The original's Docker stacks (stacks/<name>/ and phoenix_stacks_config.json), for the VMs' docker_stacks. */
  stacks?: StacksInput;
}

export interface ImportResult {
  definition: DefinitionInput;
  warnings: ImportWarning[];
  /** Files the definition references (apps' compose files and templates), by path relative to it. */
  files: Record<string, string>;
}

export function importPhoenix(input: ImportInput): ImportResult {
  const w = new Warnings();
  const hv = Reader.root(basename(input.hypervisor.file), input.hypervisor.json, w);
  const lxc = Reader.root(basename(input.lxc.file), input.lxc.json, w);
  const vm = input.vm ? Reader.root(basename(input.vm.file), input.vm.json, w) : undefined;
  const host = readHypervisor(hv, w, input.node ?? "pve");
  const { templates, guests, stackRefs, sources } = readMachines(lxc, vm, host, w);
  // Network services: each guest's firewall and route, the gateway, then the global rules (some move to guests).
  const addrs = new Addresses(guests, host.node.ssh?.host);
  readGuestsNetwork(sources, guests, addrs, w);
  const gateway = readGateway(sources, w);
  const firewall = host.firewall ? readDatacenterFirewall(host.firewall, guests, addrs, gateway?.guest, w) : undefined;
  const dns = readDns(hv, host, w);
  const net = { addrs, ...(host.domain ? { domain: host.domain } : {}) };
  const stacks = input.stacks ? readStacks(input.stacks, stackRefs, guests, net, w) : { apps: [], files: {} };
  finishGuestFirewalls(sources, guests, w, `${lxc.file}, ${vm?.file ?? "vm configs"}: firewall`);
  if (!input.stacks)
    for (const r of stackRefs)
      w.add(
        r.where,
        `stack '${r.stack}' not imported: the stacks were not given`,
        "pass the original's stacks/ directory with --stacks (and --stacks-config)",
      );

  const ids = new Set([...templates, ...guests].map((m) => String(m.vmid ?? "")));
  for (const [ctid, mounts] of host.sharedMounts)
    if (!ids.has(ctid))
      for (const m of mounts) w.add(m.where, `guest ${ctid} is not in the input; mount of ${m.hostPath} skipped`);
  const gpuIndexes = new Set([...templates, ...guests].flatMap((m) => ("gpus" in m && Array.isArray(m.gpus) ? m.gpus : [])));
  host.node.gpus = [...gpuIndexes].sort((a, b) => a - b).map((index) => ({ index }));
  if (gpuIndexes.size > 0)
    w.add(
      `${hv.file}: (node)`,
      `GPUs ${[...gpuIndexes].join(", ")} are declared on node '${host.node.name}' without PCI addresses`,
      "add each GPU's pci (lspci -D | grep -i nvidia) before passing GPUs to VMs",
    );

  // The original reached its VMs with the operator's own SSH key; Phoenix needs it as a secret.
  const provisionedVms = guests.filter(
    (g) => g.type === "vm" && (Object.keys(g.features ?? {}).length > 0 || (g.healthChecks?.length ?? 0) > 0),
  );
  if (provisionedVms.length > 0)
    w.add(
      `${vm?.file ?? "vm configs"}: (VMs)`,
      `VMs ${provisionedVms.map((g) => g.name).join(", ")} are provisioned over SSH; the definition references secret 'guestSshPrivateKey'`,
      "pulumi config set --secret phoenix:guestSshPrivateKey < ~/.ssh/id_ed25519 (the key whose public half the VMs get)",
    );

  hv.reportUnused();
  lxc.reportUnused();
  vm?.reportUnused();
  const definition: DefinitionInput = {
    $schema: "./definition.schema.json",
    version: 1,
    ...(provisionedVms.length > 0 ? { access: { sshKeys: [], sshPrivateKey: { secret: "guestSshPrivateKey" } } } : {}),
    nodes: [host.node],
    network: { ...(host.domain ? { domain: host.domain } : {}), ...(dns ? { dns } : {}), bridges: [host.bridge] },
    templates,
    guests,
    ...(stacks.apps.length > 0 ? { apps: stacks.apps } : {}),
    ...(firewall ? { firewall } : {}),
    ...(gateway ? { gateway } : {}),
  };
  ollamaOffSharedGpus(
    definition,
    (guest) => `phoenix_lxc_configs.json: lxc_configs.${guests.find((g) => g.name === guest)?.vmid}.gpu_assignment`,
    w,
  );
  return { definition, warnings: w.list, files: stacks.files };
}

/** Each guest's own firewall block and traefik_service; a template's are reported. */
function readGuestsNetwork(sources: MachineSource[], guests: GuestInput[], addrs: Addresses, w: Warnings) {
  for (const s of sources) {
    const guest = guests.find((g) => g.name === s.name);
    if (!guest) {
      templateFirewall(s.r);
      s.r.unmapped("traefik_service", "a template serves nothing; the guests cloned from it expose their services");
      continue;
    }
    readGuestFirewall(s.r, guest, addrs, w);
    readGuestExpose(s.r, guest, w);
  }
}

/** Each guest's rules once (its block's and those moved to it), and what the new per-guest filtering changes. */
function finishGuestFirewalls(sources: MachineSource[], guests: GuestInput[], w: Warnings, where: string) {
  const fwWhere = new Map(sources.map((s) => [s.name, `${s.r.where("firewall")}.rules`]));
  dedupeGuests(guests, (g) => fwWhere.get(g) ?? `guests ${g}: firewall.rules`, w);
  warnNewlyFiltered(guests, w, where);
}

export function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ImportError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ImportError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

export function toYaml(r: ImportResult, sources: string[]): string {
  const header = [
    "# yaml-language-server: $schema=./definition.schema.json",
    `# Imported by \`phoenix import\` from ${sources.join(", ")}.`,
    `# ${r.warnings.length} field(s) were not mapped or need attention; \`phoenix import\` printed them.`,
  ];
  return `${header.join("\n")}\n${stringify(r.definition, { lineWidth: 0 })}`;
}

/** The original's stacks/ directory: one StackSource per sub-directory holding docker-compose.yml (small text files only). */
export function readStackDir(dir: string): StacksInput["stacks"] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ImportError(`${dir} is not a directory`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, "docker-compose.yml")))
    .map((d) => {
      const root = join(dir, d.name);
      const files: Record<string, string> = {};
      for (const rel of readdirSync(root, { recursive: true }) as string[]) {
        const p = join(root, rel);
        if (statSync(p).isFile() && statSync(p).size <= 1024 * 1024 && !["docker-compose.yml", "phoenix.json"].includes(rel))
          files[rel] = readFileSync(p, "utf8");
      }
      const manifest = join(root, "phoenix.json");
      return {
        name: d.name,
        where: `stacks/${d.name}`,
        compose: readFileSync(join(root, "docker-compose.yml"), "utf8"),
        ...(existsSync(manifest) ? { manifest: readJson(manifest) } : {}),
        files,
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}
