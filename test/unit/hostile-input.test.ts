// Hostile values in every string field the schema has, found by walking the generated JSON Schema (not a hand list):
// newline, CR, NUL, quotes, $(), backticks, commas, leading dashes, 100 kB. Each one is either refused by validation
// at (or around) the field's path, or, when accepted, inert wherever it goes: every rendered script parses
// (`bash -n`) and runs against the recording test doubles without running the injected command, adding an option
// or writing an injected line; the vLLM unit keeps its directives (`systemd-analyze verify` where available); the
// provider's arguments carry it only in free-text fields.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { definitionJsonSchema } from "../../cli/main";
import { requireProjectFile } from "../../definition/files";
import { checkShape } from "../../definition/load";
import { HAS_CONTROL } from "../../definition/grammar";
import { formatPath } from "../../definition/problems";
import { type FeatureName } from "../../definition/schema";
import { buildPlan } from "../../plan/plan";
import type { Plan, PlannedApp, PlannedFeature, PlannedMachine } from "../../plan/plan";
import { backupJobArgs } from "../../components/args/backup";
import { containerArgs } from "../../components/args/container";
import { haResourceArgs, haRuleArgs } from "../../components/args/ha";
import { downloadArgs, pciMappingArgs, providerArgs } from "../../components/args/host";
import { vmArgs } from "../../components/args/vm";
import { appParams, COMPOSE_SCRIPTS, composeParams, FILES_SCRIPTS, STACK_SCRIPTS, stackParams } from "../../provisioners/app/app";
import { renderApp } from "../../provisioners/app/render";
import { profileText, renderAppArmor } from "../../provisioners/apparmor/apparmor";
import { renderDocker } from "../../provisioners/docker/docker";
import type { RenderedFeature } from "../../provisioners/engine/feature";
import { renderHealthChecks } from "../../provisioners/health-check/health-check";
import { renderNvidia } from "../../provisioners/nvidia/nvidia";
import { renderNvidiaHost } from "../../provisioners/nvidia/nvidia-host";
import { renderNvidiaContainerToolkit } from "../../provisioners/nvidia-container-toolkit/nvidia-container-toolkit";
import { renderOllama } from "../../provisioners/ollama/ollama";
import { renderPortainer, renderPortainerEndpoints } from "../../provisioners/portainer/portainer";
import { renderCustomScript } from "../../provisioners/script/script";
import { renderVllm } from "../../provisioners/vllm/vllm";
import { createRun } from "../../provisioners/zfs-dataset/zfs-dataset";
import { validated, validate } from "../../validate";
import { GuestSandbox, type RunResult } from "../support/guest-sandbox";
import { LAB_FINGERPRINT, PROJECT_DIR } from "./validate/support";

/** What an injected command would run: a recording test double on the sandbox's PATH. */
const MARK = "phx_pwned";
const HOSTILE: Record<string, string> = {
  newline: `v\n${MARK}\nExecStartPre=/usr/bin/${MARK}\n`,
  "carriage return": `v\rExecStartPre=/usr/bin/${MARK}\r${MARK}`,
  NUL: `v\0${MARK}`,
  quotes: `v'"; ${MARK}; echo "'`,
  "command substitution": `v$(${MARK})`,
  backticks: `v\`${MARK}\``,
  "shell operators": `v;${MARK}|${MARK}&&${MARK}`,
  commas: `v,${MARK}=1,mp=/`,
  "leading dashes": `--${MARK}`,
  "100 kB": "A".repeat(100_000) + MARK,
};

/** Fields whose value is code by design, written by the definition's trusted author: executed, so never "inert". */
const CODE_FIELDS: Record<string, string> = {
  "guests.[].healthChecks.[].command": "a health check is a shell command run in the guest",
  "templates.[].healthChecks.[].command": "a health check is a shell command run in the guest",
};

/** Provider arguments that are free text to Proxmox: a description (kept as comment lines of the config). */
const FREE_TEXT_ARGS = new Set(["description", "notesTemplate"]);
/**
 * Provider arguments sent as whole API parameters or connection settings rather than inside a property string, where
 * ',' and '=' are data: the API endpoint, a download URL, SSH public keys (bpg sends them URL-encoded).
 */
const WHOLE_PARAMETER_ARGS = new Set(["endpoint", "url", "initialization.userAccount.keys[]", "comment"]);

/**
 * Steps the recording doubles cannot run to the end, and where they run for real instead. A hostile value that
 * reaches one is still run against the doubles up to where the rich definition's run stops: it must stop there, with
 * the same error, and inject nothing on the way (what comes after is covered only by the real run named here).
 */
const NOT_RUNNABLE: Record<string, string> = {
  "902 portainer": "the server step logs in to Portainer's API (test/host/portainer-feature.test.ts runs it for real)",
  "200 portainer": "the server step logs in to Portainer's API (test/host/portainer-feature.test.ts runs it for real)",
  "200 agents": "registering agents talks to Portainer's API (test/e2e/features.test.ts runs it against the lab)",
  "200 app 1 stack": "the stack is deployed through Portainer's API (test/e2e/apps.test.ts runs it against the lab)",
};
const RUNNABLE = new Set<string>();
/** Where the rich definition's run of each NOT_RUNNABLE step stops: its last line of stderr. */
const STOPS_AT = new Map<string, string>();
const lastLine = (r: RunResult) => r.stderr.trim().split("\n").at(-1) ?? "";

// ---------------------------------------------------------------------------------------------
// The schema's string fields

/** Every path of a string-taking field, as segments: names, "[]" (array items), "{}" (map values), "<key>" (map keys). */
function stringFields(schema: any): string[][] {
  const out = new Map<string, string[]>();
  const walk = (node: any, segs: string[]) => {
    if (!node || typeof node !== "object") return;
    const types: string[] = Array.isArray(node.type) ? node.type : node.type ? [node.type] : [];
    const meaningful = Object.keys(node).filter((k) => !["default", "description", "$schema"].includes(k));
    // z.unknown() is {}: it takes strings (and anything else) too.
    if (types.includes("string") || meaningful.length === 0) out.set(segs.join("."), segs);
    for (const k of ["anyOf", "oneOf", "allOf"]) (node[k] ?? []).forEach((b: any) => walk(b, segs));
    for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, [...segs, k]);
    if (node.additionalProperties && typeof node.additionalProperties === "object")
      walk(node.additionalProperties, [...segs, "{}"]);
    if (node.propertyNames) walk(node.propertyNames, [...segs, "<key>"]);
    if (node.items) walk(node.items, [...segs, "[]"]);
  };
  walk(schema, []);
  return [...out.values()];
}

interface Instance {
  /** Where the value is (for a map key: the map). */
  at: (string | number)[];
  key?: string;
}

/** Concrete places of a field in a definition; the first one where the field is set is used. */
function instances(obj: any, segs: string[], at: (string | number)[] = []): Instance[] {
  if (segs.length === 0) return [{ at }];
  const [seg, ...rest] = segs;
  if (seg === "[]") return Array.isArray(obj) ? obj.flatMap((v, i) => instances(v, rest, [...at, i])) : [];
  const isMap = obj && typeof obj === "object" && !Array.isArray(obj);
  if (seg === "{}") return isMap ? Object.keys(obj).flatMap((k) => instances(obj[k], rest, [...at, k])) : [];
  if (seg === "<key>") return isMap ? Object.keys(obj).map((k) => ({ at, key: k })) : [];
  return isMap && seg! in obj ? instances(obj[seg!], rest, [...at, seg!]) : [];
}

function parentOf(root: any, at: (string | number)[]): any {
  return at.reduce((o, k) => o[k], root);
}

/**
 * The definition with one field set to `hostile` (replacing its value), or to its value with `hostile` appended (what
 * a grammar with a free tail — an option's value, a key's comment — lets through); and the path the field then has.
 */
function withValue(rich: () => any, inst: Instance, hostile: string, append: boolean): { raw: any; field: string } {
  const raw = rich();
  if (inst.key !== undefined) {
    const map = parentOf(raw, inst.at);
    const v = map[inst.key];
    delete map[inst.key];
    const key = append ? inst.key + hostile : hostile;
    map[key] = v;
    return { raw, field: formatPath([...inst.at, key]) };
  }
  const parent = parentOf(raw, inst.at.slice(0, -1));
  const old = parent[inst.at.at(-1)!];
  parent[inst.at.at(-1)!] = append && typeof old === "string" ? old + hostile : hostile;
  return { raw, field: formatPath(inst.at) };
}

/**
 * Rules elsewhere that a field's value decides: a hostile value that is valid on its own (a user name that is not
 * root) may be refused where the rule is (id maps need SSH as root), which is a refusal of it.
 */
const DECIDES: Record<string, RegExp> = {
  "nodes.[].ssh.user": /\.idMaps$/,
  // a renamed alias, IP set or group leaves the rules that name it pointing at nothing
  "firewall.aliases.[].name": /\.(source|dest)$/,
  "firewall.ipsets.[].name": /\.(source|dest)$/,
  "firewall.groups.[].name": /\.group$/,
};

const related = (p: string, field: string) =>
  p !== "" && (p === field || [".", "["].some((c) => field.startsWith(p + c) || p.startsWith(field + c)));

/** The sha256 of what the curl double downloads as NVIDIA's runfile, so the host driver step runs to the end. */
const RUNFILE_SHA256 = createHash("sha256")
  .update("downloaded from https://us.download.nvidia.com/XFree86/Linux-x86_64/535.247.01/NVIDIA-Linux-x86_64-535.247.01.run\n")
  .digest("hex");

/**
 * A release of Ollama as the curl double serves it (the file the test puts in its state), with its sha256sum.txt: the
 * Ollama steps run to the end (both forms of source), so a hostile run proves something.
 */
const OLLAMA_RELEASE = (() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "phx-hostile-ollama-"));
  fs.mkdirSync(path.join(dir, "pkg", "bin"), { recursive: true });
  fs.mkdirSync(path.join(dir, "pkg", "lib", "ollama"), { recursive: true });
  fs.writeFileSync(path.join(dir, "pkg", "bin", "ollama"), "#!/bin/sh\n# test double of Ollama's binary: never run\n", {
    mode: 0o755,
  });
  const tgz = path.join(dir, "ollama-linux-amd64.tgz");
  execFileSync("tar", ["-czf", tgz, "-C", path.join(dir, "pkg"), "bin", "lib"]);
  const sha256 = createHash("sha256").update(fs.readFileSync(tgz)).digest("hex");
  fs.writeFileSync(path.join(dir, "sha256sum.txt"), `${sha256}  ./ollama-linux-amd64.tgz\n`);
  return { dir, tgz, sha256 };
})();
afterAll(() => fs.rmSync(OLLAMA_RELEASE.dir, { recursive: true, force: true }));
const OLLAMA_MODELS = ["llama3.2:1b", "registry.example.org:5000/team/qwen3:0.6b"];

// ---------------------------------------------------------------------------------------------
// A definition with every field set: every feature, both kinds of template and source, VMs and containers

function rich(): any {
  return {
    $schema: "./definition.schema.json",
    version: 1,
    access: {
      sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyForTests ops@example", { secret: "guestSshPublicKey" }],
      sshPrivateKey: { secret: "guestSshPrivateKey" },
    },
    nodes: [
      {
        name: "lab",
        cores: 64,
        memory: 262144,
        api: {
          endpoint: "https://10.100.0.2:8006/",
          fingerprint: LAB_FINGERPRINT,
          username: "root@pam",
          password: { secret: "proxmoxRootPassword" },
        },
        ssh: {
          host: "10.100.0.2",
          port: 22,
          user: "root",
          privateKey: { secret: "nodeSshKey" },
          hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheLabNode root@lab",
        },
        storage: [
          { id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl", "iso", "backup", "snippets", "import"] },
          { id: "tank-lxc", type: "zfspool", pool: "tank/lxc-disks", content: ["rootdir", "images"] },
        ],
        zfs: {
          pools: [{ name: "tank" }],
          datasets: [
            { name: "tank/lxc-disks", properties: { compression: "lz4" } },
            { name: "tank/models", properties: { recordsize: "1M", mountpoint: "/mnt/models", "com.example:note": "models" } },
          ],
        },
        gpus: [
          {
            index: 0,
            pci: "0000:01:00.0",
            deviceId: "10de:2d04",
            model: "RTX 5060 Ti",
            memory: 16,
            iommuGroup: 12,
            iommuGroupDevices: [{ pci: "0000:01:00.1", deviceId: "10de:22eb" }],
          },
          { index: 1, pci: "0000:02:00.0", deviceId: "10de:2d04", model: "RTX 5060 Ti", memory: 16 },
        ],
        nvidia: { driverVersion: "535.247.01", installOnHost: true, runfileSha256: RUNFILE_SHA256 },
        apparmorProfiles: [{ name: "lxc-phoenix-test", file: "apparmor/lxc-phoenix-test" }],
        backup: { storage: "local", mode: "snapshot", compress: "zstd" },
        backupJobs: [
          {
            id: "nightly",
            schedule: "mon..fri 02:30",
            storage: "local",
            guests: ["portainer"],
            mode: "snapshot",
            compress: "zstd",
            notes: "{{guestname}} nightly",
            mailto: ["admin@example.org"],
          },
          {
            id: "weekly-all",
            schedule: "sat 03:00",
            storage: "local",
            all: true,
            exclude: ["llm"],
            mode: "stop",
            compress: "gzip",
          },
        ],
      },
      {
        name: "edge",
        api: { endpoint: "https://10.100.0.3:8006/", fingerprint: LAB_FINGERPRINT, token: { secret: "edgeApiToken" } },
      },
    ],
    network: {
      domain: "lab.internal",
      bridges: [
        {
          name: "vmbr0",
          subnet: "10.100.0.0/24",
          gateway: "10.100.0.1",
          dns: ["10.100.0.1"],
          pools: [{ name: "guests", range: "10.100.0.100-10.100.0.199" }],
        },
      ],
      dns: { node: "lab", listen: "10.100.0.2", upstream: ["10.100.0.1"] },
    },
    firewall: {
      enable: true,
      policyIn: "DROP",
      policyOut: "ACCEPT",
      rules: [
        { type: "in", action: "ACCEPT", macro: "SSH", source: "admins", comment: "the nodes' SSH" },
        { group: "web", iface: "vmbr0", comment: "the web group" },
        {
          type: "in",
          action: "ACCEPT",
          proto: "tcp",
          dport: "8006",
          sport: "1024:65535",
          dest: "10.100.0.2",
          iface: "vmbr0",
          log: "nolog",
        },
      ],
      groups: [
        {
          name: "web",
          comment: "web traffic",
          rules: [
            { type: "in", action: "ACCEPT", proto: "tcp", dport: "80,443", comment: "http" },
            { type: "in", action: "ACCEPT", macro: "HTTPS", source: "admins", dest: "+trusted", iface: "net0", log: "info" },
            { type: "in", action: "ACCEPT", proto: "udp", dport: "53", sport: "53" },
          ],
        },
      ],
      aliases: [{ name: "admins", cidr: "10.100.0.0/24", comment: "the admins' LAN" }],
      ipsets: [{ name: "trusted", comment: "trusted hosts", cidrs: [{ cidr: "10.100.0.30", comment: "the workstation" }] }],
    },
    gateway: { guest: "portainer", trustInGuests: true },
    templates: [
      {
        name: "debian-12-base",
        type: "lxc",
        node: "lab",
        os: "debian-12",
        source: { storage: "local", file: "vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" },
      },
      {
        name: "ubuntu-base",
        node: "lab",
        source: {
          storage: "local",
          url: "https://images.example.org/ubuntu.tar.zst",
          checksum: "sha256:ab12",
          file: "vztmpl/u.tar.zst",
        },
      },
      { name: "cloud-base", type: "vm", node: "lab", vmid: 9000, source: { storage: "local", file: "iso/noble.img" } },
      {
        name: "gpu-golden",
        vmid: 901,
        node: "lab",
        parent: "debian-12-base",
        description: "NVIDIA, Docker and the toolkit",
        tags: ["golden"],
        nesting: true,
        idMaps: [
          { type: "uid", containerId: 0, hostId: 100000, size: 65536 },
          { type: "gid", containerId: 0, hostId: 100000, size: 33 },
          { type: "gid", containerId: 33, hostId: 100033, size: 1 },
          { type: "gid", containerId: 34, hostId: 100034, size: 65502 },
        ],
        gpus: [0, 1],
        disk: { storage: "tank-lxc", size: 8 },
        network: [{ name: "eth0", bridge: "vmbr0", ip: "10.100.0.91/24", gateway: "10.100.0.1", mac: "52:54:00:12:34:91" }],
        nameservers: ["10.100.0.1"],
        searchDomain: "lab.internal",
        features: {
          nvidia: { source: "debian" },
          docker: { source: "debian", daemon: { "log-driver": "local", "log-opts": { "max-size": "10m" } } },
          "nvidia-container-toolkit": true,
          apparmor: { profile: "lxc-phoenix-test" },
          script: { path: "scripts/setup.sh", env: { MODEL_DIR: "/models" } },
        },
        mountPoints: [{ dataset: "tank/models", subdir: "hf", path: "/models", readOnly: true }],
        lxcOptions: ["lxc.cgroup2.devices.allow: c 195:* rwm"],
        allowHostAccess: { reason: "the GPU's device nodes" },
        healthChecks: [{ name: "docker-up", command: "true" }],
        dependsOn: [],
        snapshot: "golden",
      },
      {
        name: "vllm-golden",
        vmid: 902,
        node: "lab",
        parent: "gpu-golden",
        network: [{ name: "eth0", bridge: "vmbr0", ip: "auto", pool: "guests" }],
        features: {
          nvidia: { cudaVersion: "12.8" },
          vllm: {
            model: "Qwen/Qwen2.5-7B-Instruct-AWQ",
            servedModelName: "qwen-golden",
            host: "0.0.0.0",
            quantization: "awq",
            dtype: "auto",
            args: { "max-num-seqs": "8" },
            install: "venv",
            image: "vllm/vllm-openai:v0.6.3",
            hfToken: { secret: "hfToken" },
            version: "0.10.2",
            torchIndex: "https://download.pytorch.org/whl/cu128",
            cudaArchList: "12.0",
          },
          ollama: {
            version: "0.6.5",
            source: { url: "https://mirror.example.org/ollama/ollama-linux-amd64.tgz", sha256: OLLAMA_RELEASE.sha256 },
            host: "0.0.0.0",
            port: 11434,
            models: [...OLLAMA_MODELS],
            modelsDir: "/srv/ollama",
            env: { OLLAMA_KEEP_ALIVE: "10m" },
          },
          portainer: { role: "server", image: "portainer/portainer-ce:lts", adminPassword: { secret: "portainerAdminPassword" } },
        },
        mountPoints: [{ hostPath: "/srv/models", path: "/srv" }],
      },
      {
        name: "agent-golden",
        vmid: 903,
        node: "lab",
        parent: "gpu-golden",
        network: [{ name: "eth0", bridge: "vmbr0", ip: "10.100.0.93/24" }],
        features: {
          portainer: { role: "agent", server: "portainer" },
          ollama: {
            version: "0.6.5",
            source: { baseUrl: "https://mirror.example.org/ollama" },
            host: "::",
            models: [...OLLAMA_MODELS],
            modelsDir: "/var/lib/ollama/models",
            env: { OLLAMA_CONTEXT_LENGTH: "8192" },
            gpus: [1],
            gpuMemory: 4,
          },
        },
        dependsOn: ["portainer"],
      },
      {
        name: "vm-golden",
        type: "vm",
        vmid: 9100,
        node: "lab",
        parent: "cloud-base",
        network: [{ name: "eth0", bridge: "vmbr0", ip: "10.100.0.94/24" }],
        cloudInit: {
          user: "ops",
          sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITemplateKey ops@example"],
          password: { secret: "vmPassword" },
        },
      },
    ],
    guests: [
      {
        vmid: 200,
        name: "portainer",
        node: "lab",
        template: "gpu-golden",
        spread: "management",
        ha: { state: "started", nodes: ["lab"], strict: true, comment: "the Portainer server" },
        description: "the Portainer server",
        tags: ["mgmt"],
        disk: { storage: "tank-lxc", size: 16 },
        network: [
          {
            name: "eth0",
            bridge: "vmbr0",
            ip: "10.100.0.10/24",
            gateway: "10.100.0.1",
            mac: "52:54:00:12:34:10",
            firewall: true,
          },
        ],
        nameservers: ["10.100.0.1"],
        firewall: {
          enable: true,
          policyIn: "DROP",
          policyOut: "ACCEPT",
          logLevelIn: "info",
          logLevelOut: "nolog",
          rules: [
            { type: "in", action: "ACCEPT", macro: "SSH", source: "admins", iface: "net0", log: "nolog", comment: "SSH" },
            { group: "web", iface: "net0", comment: "the web group" },
            {
              type: "in",
              action: "ACCEPT",
              proto: "tcp",
              dport: "9443",
              sport: "1024:65535",
              source: "+trusted",
              dest: "10.100.0.10",
            },
          ],
        },
        expose: [{ name: "manage", port: 9443, scheme: "https" }],
        searchDomain: "lab.internal",
        features: {
          nvidia: { source: "debian", cudaVersion: "12.8" },
          docker: { source: "debian", daemon: { "live-restore": "true" } },
          apparmor: { profile: "lxc-phoenix-test" },
          portainer: { role: "server", image: "portainer/portainer-ce:lts", adminPassword: { secret: "portainerAdminPassword" } },
          ollama: {
            version: "0.6.5",
            source: { baseUrl: "https://mirror.example.org/ollama" },
            host: "0.0.0.0",
            port: 11434,
            models: [...OLLAMA_MODELS],
            prune: true,
            gpus: [0],
            gpuMemory: 4,
            modelsDir: "/shared/ollama",
            env: { OLLAMA_KEEP_ALIVE: "30m" },
            insecure: true,
          },
        },
        mountPoints: [{ dataset: "tank/models", subdir: "shared", path: "/shared" }],
        healthChecks: [{ name: "portainer-up", command: "true" }],
        snapshots: { afterProvision: true, keep: 3, name: "final-form" },
        idMaps: [
          { type: "uid", containerId: 0, hostId: 100000, size: 65536 },
          { type: "gid", containerId: 0, hostId: 100000, size: 33 },
          { type: "gid", containerId: 33, hostId: 100033, size: 1 },
          { type: "gid", containerId: 34, hostId: 100034, size: 65502 },
        ],
      },
      {
        vmid: 210,
        name: "llm",
        node: "lab",
        template: "gpu-golden",
        network: [{ name: "eth0", bridge: "vmbr0", ip: "auto", pool: "guests" }],
        features: {
          vllm: {
            model: "Qwen/Qwen2.5-7B-Instruct-AWQ",
            servedModelName: "qwen",
            host: "0.0.0.0",
            quantization: "awq",
            dtype: "auto",
            args: { "download-dir": "/models" },
            install: "container",
            image: "vllm/vllm-openai:v0.6.3",
            hfToken: { secret: "hfToken" },
            gpuMemoryUtilization: 0.5,
            version: "0.6.3",
            torchIndex: "https://download.pytorch.org/whl/cu124",
            cudaArchList: "8.9 12.0+PTX",
          },
          ollama: {
            version: "0.6.5",
            source: { url: "https://mirror.example.org/ollama/ollama-linux-amd64.tgz", sha256: OLLAMA_RELEASE.sha256 },
            host: "0.0.0.0",
            port: 11435,
            models: [...OLLAMA_MODELS],
            gpus: [],
            modelsDir: "/data/ollama",
            env: { OLLAMA_NUM_PARALLEL: "2" },
          },
          portainer: { role: "agent", server: "portainer" },
        },
        lxcOptions: ["lxc.mount.entry: /dev/nvidia-caps dev/nvidia-caps none bind,optional,create=dir"],
        allowHostAccess: { reason: "NVIDIA's capability devices" },
        mountPoints: [{ hostPath: "/srv/data", path: "/data" }],
        dependsOn: ["portainer"],
      },
      {
        vmid: 300,
        name: "workstation",
        type: "vm",
        node: "lab",
        template: "cloud-base",
        network: [{ name: "eth0", bridge: "vmbr0", ip: "10.100.0.30/24" }],
        cloudInit: {
          user: "phoenix",
          sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAnotherKey me@laptop"],
          password: { secret: "wsPassword" },
        },
        features: { script: { path: "scripts/setup.sh", env: { ROLE: "ws" } } },
      },
    ],
    apps: [
      {
        name: "shop",
        description: "a shop deployed by the compose CLI",
        compose: "apps/shop/compose.yaml",
        guests: ["portainer"],
        deploy: "compose",
        variables: {
          GREETING: "hello",
          TAG: "1.27",
          DB_PASSWORD: { secret: "shopDbPassword" },
          CHAT_URL: { endpoint: "llm", service: "ollama" },
        },
        files: [{ template: "apps/shop/index.html.tmpl", path: "html/index.html", mode: "0644" }],
        volumes: { "shop-nfs": { driver: "local", options: { type: "nfs", o: "addr=10.0.0.13,rw" } } },
        // The first (the one the cases change) is one the compose file does not use: any valid name stays valid.
        externalVolumes: ["shop-archive", "shop-old"],
        removeVolumes: false,
        expose: [{ name: "shop", port: 8080, scheme: "http" }],
        firewall: [
          { type: "in", action: "ACCEPT", proto: "tcp", dport: "8080", source: "llm", comment: "from the llm guest" },
          { group: "web", iface: "net0" },
          { type: "in", action: "ACCEPT", macro: "HTTP", source: "admins", dest: "10.100.0.10", iface: "net0", log: "nolog" },
          { type: "out", action: "ACCEPT", proto: "tcp", sport: "8080", dest: "admins" },
        ],
        traefikLabels: { web: ["traefik.enable=true"] },
        firewallRules: [
          {
            type: "in",
            action: "ACCEPT",
            source: "10.100.0.0/24",
            dest: "10.100.0.10",
            proto: "tcp",
            port: "8080",
            comment: "web",
          },
        ],
      },
      {
        name: "board",
        compose: "apps/board/compose.yaml",
        guests: ["llm"],
        deploy: "portainer",
        variables: { TITLE: "board" },
      },
    ],
  };
}

/** The apps' compose files and template, in the definition's directory. */
for (const [rel, text] of Object.entries({
  "apps/shop/compose.yaml": [
    "services:",
    "  web:",
    "    image: nginx:${TAG}",
    '    ports: ["8080:80"]',
    "    environment:",
    "      GREETING: ${GREETING}",
    "    volumes:",
    "      - ./html/index.html:/usr/share/nginx/html/index.html:ro",
    "      - shop-nfs:/data",
    "      - shop-old:/old",
    "    secrets: [db_password]",
    "secrets:",
    "  db_password:",
    "    file: ./secrets/DB_PASSWORD",
    "volumes:",
    "  shop-nfs: { external: true }",
    "  shop-old: { external: true }",
    "",
  ].join("\n"),
  "apps/shop/index.html.tmpl": "<h1>${GREETING}</h1>\n",
  "apps/board/compose.yaml": 'services:\n  board:\n    image: busybox:1.36\n    command: ["echo", "${TITLE}"]\n',
})) {
  fs.mkdirSync(path.dirname(path.join(PROJECT_DIR, rel)), { recursive: true });
  fs.writeFileSync(path.join(PROJECT_DIR, rel), text);
}

// ---------------------------------------------------------------------------------------------
// Rendering what a plan runs: every feature of every machine, node-side steps, datasets, agent registrations

const FAKE_SERVER = "/usr/local/bin/openai-server-test-double";

interface Step {
  label: string;
  f: RenderedFeature;
}

const FEATURES: { [K in FeatureName]: (p: PlannedFeature, m: PlannedMachine) => RenderedFeature | undefined } = {
  nvidia: (p) => renderNvidia(p.settings as never),
  docker: (p, m) => renderDocker(p.settings as never, { nvidiaRuntime: m.features["nvidia-container-toolkit"] !== undefined }),
  "nvidia-container-toolkit": (_p, m) =>
    renderNvidiaContainerToolkit(typeof m.features.docker === "object" ? (m.features.docker.daemon ?? {}) : {}),
  // A model the doubles do not list fails the start-up wait at once instead of after 15 minutes.
  vllm: (p) =>
    renderVllm(p.settings as never, {
      startTimeoutSeconds: 0,
      ...((p.settings as { install: string }).install === "venv" ? { bin: FAKE_SERVER } : {}),
    }),
  ollama: (p) => renderOllama(p.settings as never),
  portainer: (p) => renderPortainer(p.settings as never),
  apparmor: () => undefined, // node side, below
  script: (p) => renderCustomScript(p.settings as never, PROJECT_DIR),
};

function renderPlan(plan: Plan): Step[] {
  const steps: Step[] = [];
  // Labels by index and vmid, never by a name the hostile value may have changed.
  plan.nodes.forEach((n, i) => {
    n.datasets.forEach((d, k) => {
      const run = createRun(d.name, d.properties, "dev/dataset@2026-01-01T00:00:00.000Z#0123456789ab");
      steps.push({ label: `node ${i} dataset ${k}`, f: { script: run.script, params: run.env, secretRefs: {} } });
    });
    if (n.nvidiaDriver?.installOnHost)
      steps.push({
        label: `node ${i} NVIDIA driver`,
        f: renderNvidiaHost({ version: n.nvidiaDriver.version, runfileSha256: n.nvidiaDriver.runfileSha256 ?? "" }),
      });
  });
  for (const m of plan.machines) {
    const profile = m.type === "lxc" ? m.features.apparmor?.profile : undefined;
    if (m.type === "lxc" && (profile !== undefined || m.lxcOptions.length > 0)) {
      const node = plan.nodes.find((n) => n.name === m.node)!;
      const text = profileText(profile, node.apparmorProfiles, PROJECT_DIR);
      steps.push({
        label: `${m.vmid} apparmor`,
        f: renderAppArmor({
          vmid: m.vmid,
          ...(profile ? { profile } : {}),
          ...(text ? { profileText: text } : {}),
          lxcOptions: m.lxcOptions,
        }),
      });
    }
    for (const p of m.provisioners) {
      const f = FEATURES[p.feature](p, m);
      if (f) steps.push({ label: `${m.vmid} ${p.feature}`, f });
    }
    if (m.healthChecks.length > 0) steps.push({ label: `${m.vmid} health`, f: renderHealthChecks(m.healthChecks) });
  }
  for (const r of plan.portainer)
    steps.push({
      label: `${plan.machines.find((m) => m.name === r.server)!.vmid} agents`,
      f: renderPortainerEndpoints(r.adminPassword, r.agents),
    });
  plan.apps.forEach((a, i) => steps.push(...appSteps(plan, a, i)));
  return steps;
}

/** An app's steps on each of its guests, as components/app-deployment.ts makes them (labelled by index and vmid). */
function appSteps(plan: Plan, app: PlannedApp, i: number): Step[] {
  const composeText = requireProjectFile(PROJECT_DIR, app.compose, "compose");
  const templates = Object.fromEntries(app.files.map((f) => [f.template, requireProjectFile(PROJECT_DIR, f.template, "files")]));
  const r = renderApp(app, composeText, templates);
  const secretFiles = Object.fromEntries(
    r.files.flatMap((f, k) => (f.content === undefined ? [[`APP_SECRET_FILE_${k}`, f.secrets![0]!]] : [])),
  );
  return app.targets.flatMap((t): Step[] => {
    if (app.deploy === "compose" || !t.portainer) {
      const interpolated = Object.fromEntries(r.interpolatedSecrets.map((v) => [`APP_VAR_${v}`, r.secretVariables[v]!]));
      const secretRefs = { ...secretFiles, ...interpolated };
      return [{ label: `${t.vmid} app ${i}`, f: { ...COMPOSE_SCRIPTS, params: composeParams(r, app), secretRefs } }];
    }
    const server = plan.machines.find((m) => m.name === t.portainer!.server)!;
    const stack = stackParams(r, app, { environment: t.portainer.environment });
    return [
      { label: `${t.vmid} app ${i} files`, f: { ...FILES_SCRIPTS, params: appParams(r, app), secretRefs: secretFiles } },
      {
        label: `${server.vmid} app ${i} stack`,
        f: { ...STACK_SCRIPTS, params: stack, secretRefs: { PORTAINER_ADMIN_PASSWORD: "x" } },
      },
    ];
  });
}

/** The provider's arguments of every resource the plan makes, as [argument path, string] pairs. */
function providerStrings(plan: Plan): [string, string][] {
  const out: [string, string][] = [];
  const walk = (v: unknown, p: string) => {
    if (typeof v === "string") out.push([p, v]);
    else if (Array.isArray(v)) v.forEach((x) => walk(x, `${p}[]`));
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
  };
  const keys = plan.sshKeys.filter((k): k is string => typeof k === "string");
  for (const n of plan.nodes) {
    if (n.api) walk(providerArgs(n, {}, n.api.endpoint), "");
    for (const g of n.gpuMappings.filter((g) => g.deviceId)) walk(pciMappingArgs(g), "");
  }
  for (const t of plan.baseTemplates) walk(downloadArgs(t) ?? {}, "");
  for (const n of plan.nodes) for (const j of n.backupJobs ?? []) walk(backupJobArgs(j), "");
  for (const m of plan.machines)
    walk(
      m.type === "lxc" ? containerArgs(m, { sshKeys: keys }) : m.source.kind === "clone" ? vmArgs(m, { sshKeys: keys }) : {},
      "",
    );
  for (const r of plan.ha?.resources ?? []) walk(haResourceArgs(r), "");
  for (const r of plan.ha?.rules ?? []) walk(haRuleArgs(r), "");
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running a step against the recording doubles, and what counts as an injection

function prepared(): GuestSandbox {
  const s = new GuestSandbox();
  s.setState("candidate-nvidia-smi", "535.247.01-1~deb12u1");
  s.setState("candidate-nvidia-cuda-toolkit", "12.8.93-1");
  s.setState("candidate-proxmox-headers-6.8.12-4-pve", "6.8.12-4");
  s.setState("docker-installed");
  s.setState("active-docker");
  s.setState("ct-running");
  s.setState("compose-plugin");
  for (const v of ["shop-old", "shop-archive"]) s.setState(`volume-${v}`);
  s.addTool("install");
  for (const t of ["jq", "tar", "gzip", "readlink"]) s.addTool(t);
  fs.mkdirSync(path.join(s.state, "files"), { recursive: true });
  for (const f of ["ollama-linux-amd64.tgz", "sha256sum.txt"])
    fs.copyFileSync(path.join(OLLAMA_RELEASE.dir, f), path.join(s.state, "files", f));
  s.setState("ollama-registry", OLLAMA_MODELS.join("\n") + "\n");
  for (const vmid of [200, 210, 901, 902, 903]) s.write(`etc/pve/lxc/${vmid}.conf`, "arch: amd64\ncores: 2\nhostname: ct\n");
  s.write(FAKE_SERVER.slice(1), "#!/bin/sh\n# test double of an OpenAI-compatible server\n");
  s.write("usr/bin/nvcc", "#!/bin/sh\necho 'Cuda compilation tools, release 12.8, V12.8.93'\n");
  fs.chmodSync(s.file("usr/bin/nvcc"), 0o755);
  fs.chmodSync(s.file(FAKE_SERVER.slice(1)), 0o755);
  const pwned = path.join(s.dir, "dynbin", MARK);
  fs.writeFileSync(pwned, `#!/bin/bash\n. "${path.join(__dirname, "..", "support", "guest-doubles", "_record.sh")}"\n`);
  fs.chmodSync(pwned, 0o755);
  return s;
}

const SECRETS = { HF_TOKEN: "hf_test", PORTAINER_ADMIN_PASSWORD: "test-password" };

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/** What the injected value did, if anything: commands run, options added, lines written. */
function injections(s: GuestSandbox, r: RunResult): string[] {
  const found: string[] = [];
  for (const c of r.calls) {
    if (c.startsWith(`${MARK}`)) found.push(`ran the injected command: ${c.slice(0, 120)}`);
    else if (new RegExp(`(^| )-+${MARK}`).test(c)) found.push(`passed an injected option: ${c.slice(0, 200)}`);
  }
  for (const f of filesUnder(s.root)) {
    const text = fs.readFileSync(f, "utf8");
    if (!text.includes(MARK)) continue;
    const lines = text.split(/[\n\r]/);
    const bad = lines.find((l) => l.startsWith(MARK) || l.startsWith(`ExecStartPre=/usr/bin/${MARK}`));
    if (bad !== undefined) found.push(`wrote an injected line to ${path.relative(s.root, f)}: ${bad.slice(0, 120)}`);
    if (f.endsWith(".service")) {
      const exec = lines.filter((l) => /^Exec/.test(l)).join("\n");
      if (new RegExp(`(^| )-+${MARK}`).test(exec)) found.push(`added an option to a unit's command: ${exec.slice(0, 200)}`);
    }
  }
  return found;
}

const hasSystemdAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0;

/**
 * systemd-analyze verify's complaints about a unit, with paths and the binary's absence taken out (compared, not
 * judged). Asynchronous: the sandboxes of other cases keep running meanwhile.
 */
async function verifyUnit(file: string): Promise<string[]> {
  if (!hasSystemdAnalyze) return [];
  const r = await new Promise<string>((resolve) =>
    execFile("systemd-analyze", ["verify", "--man=no", "--generators=no", file], (_err, stdout, stderr) =>
      resolve(String(stderr) + String(stdout)),
    ),
  );
  return r
    .split("\n")
    .filter(
      (l) => l.trim() !== "" && !/is not executable|No such file|Command .* is not|Failed to prepare|Unit .* not found/.test(l),
    )
    .map((l) => l.replace(file, "<unit>"));
}

/** The step's script, then its check script, in one fresh sandbox. */
async function runStep(step: Step): Promise<{ run: RunResult; sandbox: GuestSandbox; check?: RunResult }> {
  const s = prepared();
  const secrets = Object.fromEntries(
    Object.keys(step.f.secretRefs).map((k) => [k, SECRETS[k as keyof typeof SECRETS] ?? "secret"]),
  );
  const run = await s.runAsync(step.f.script, step.f.params, secrets);
  const check = step.f.checkScript ? await s.runAsync(step.f.checkScript, step.f.params) : undefined;
  return { run, sandbox: s, ...(check ? { check } : {}) };
}

/** `bash -n`'s complaint, once per script text (values travel as params: most steps' texts never change). */
const parsed = new Map<string, string | undefined>();
function parses(text: string): string | undefined {
  if (!parsed.has(text)) {
    const r = spawnSync("bash", ["-n"], { input: text, encoding: "utf8" });
    parsed.set(text, r.status === 0 ? undefined : r.stderr.trim());
  }
  return parsed.get(text);
}

// ---------------------------------------------------------------------------------------------

const FIELDS = stringFields(definitionJsonSchema());
const baselineRaw = rich();
const baseline = checkShape(baselineRaw);
const baselinePlan = baseline.definition ? buildPlan(validated(baseline.definition, "rich", { dir: PROJECT_DIR })) : undefined;
const baselineSteps = baselinePlan ? renderPlan(baselinePlan) : [];
const baselineUnits = new Map<string, string[]>();

describe("the test's own footing", () => {
  it("walks the schema: string fields of every part of the definition", () => {
    const names = FIELDS.map((f) => f.join("."));
    expect(FIELDS.length).toBeGreaterThan(120);
    for (const f of [
      "nodes.[].api.endpoint",
      "guests.[].network.[].name",
      "guests.[].features.script.env.<key>",
      "templates.[].source.url",
    ])
      expect(names).toContain(f);
  });

  it("the rich definition is valid and sets every string field the schema has", () => {
    expect(baseline.problems).toEqual([]);
    expect(validate(baseline.definition!, { dir: PROJECT_DIR }).filter((p) => p.severity === "error")).toEqual([]);
    const missing = FIELDS.filter((f) => instances(baselineRaw, f).length === 0).map((f) => f.join("."));
    expect(missing, "add these to rich() so they are tested").toEqual([]);
  });

  it("every step of the rich definition parses and runs cleanly against the doubles (so a hostile run proves something)", async () => {
    expect(baselineSteps.map((s) => s.label)).toEqual(
      expect.arrayContaining([
        "210 vllm",
        "902 vllm",
        "200 ollama",
        "210 ollama",
        "902 ollama",
        "901 apparmor",
        "node 0 dataset 1",
      ]),
    );
    const failed: string[] = [];
    for (const step of baselineSteps)
      for (const t of [step.f.script, step.f.checkScript, step.f.deleteScript])
        if (t) expect(parses(t), step.label).toBeUndefined();
    const runs = await Promise.all(baselineSteps.map(async (step) => ({ step, ...(await runStep(step)) })));
    for (const { step, run, sandbox } of runs) {
      expect(injections(sandbox, run), step.label).toEqual([]);
      if (run.code !== 0) {
        failed.push(`${step.label}: exit ${run.code}: ${lastLine(run)}`);
        STOPS_AT.set(step.label, lastLine(run));
      } else RUNNABLE.add(step.label);
      const unit = sandbox.file("etc/systemd/system/vllm.service");
      if (fs.existsSync(unit)) baselineUnits.set(step.label, await verifyUnit(unit));
      sandbox.dispose();
    }
    expect(
      failed.map((f) => f.split(":")[0]),
      failed.join("\n"),
    ).toEqual(Object.keys(NOT_RUNNABLE));
  });
});

/** Property-string syntax a hostile value must not carry into a provider argument; control characters anywhere. */
const PROPERTY_SYNTAX = new RegExp(`,|${MARK}=`);
const CONTROL = HAS_CONTROL;

function errorsOf(shaped: ReturnType<typeof checkShape>) {
  const problems = shaped.definition ? validate(shaped.definition, { dir: PROJECT_DIR }) : shaped.problems;
  return problems.filter((p) => p.severity === "error");
}

/**
 * One field and one hostile value: refused at (or around) the field's path, with a fix; or accepted and inert
 * wherever it goes. Returns what went wrong, nothing when all is well.
 */
async function outcome(fieldSegs: string[], value: string, append: boolean): Promise<string[]> {
  const inst = instances(baselineRaw, fieldSegs)[0]!;
  const { raw, field } = withValue(rich, inst, value, append);
  const shaped = checkShape(raw);
  const errors = errorsOf(shaped);
  if (errors.length > 0) {
    const at = errors.filter((p) => related(p.path, field) || DECIDES[fieldSegs.join(".")]?.test(p.path));
    if (at.length === 0) return [`refused, but not at ${field}: ${errors.map((p) => `${p.path}: ${p.message}`).join("; ")}`];
    return at.filter((p) => !p.fix).map((p) => `${p.path}: ${p.message} has no fix`);
  }
  if (CODE_FIELDS[fieldSegs.join(".")]) return [];
  const failures: string[] = [];
  let plan: Plan;
  let steps: Step[];
  try {
    plan = buildPlan(validated(shaped.definition!, "hostile", { dir: PROJECT_DIR }));
    steps = renderPlan(plan);
  } catch (e) {
    return [`accepted by validation, then refused while planning or rendering: ${(e as Error).message.slice(0, 200)}`];
  }
  for (const [argPath, s] of providerStrings(plan)) {
    if (!s.includes(MARK) || FREE_TEXT_ARGS.has(argPath)) continue;
    if (CONTROL.test(s))
      failures.push(`reaches the provider's argument ${argPath} with a control character: ${JSON.stringify(s.slice(0, 120))}`);
    else if (!WHOLE_PARAMETER_ARGS.has(argPath) && PROPERTY_SYNTAX.test(s))
      failures.push(`reaches the provider's argument ${argPath} with property-string syntax: ${JSON.stringify(s.slice(0, 120))}`);
  }
  // A field that takes the hostile value alone is free text: its replace-mode case already ran the steps with it.
  if (append && errorsOf(checkShape(withValue(rich, inst, value, false).raw)).length === 0) return failures;
  const carrying = steps.filter((step) => JSON.stringify(step.f.params).includes(MARK) || step.f.script.includes(MARK));
  for (const step of carrying) {
    for (const t of [step.f.script, step.f.checkScript, step.f.deleteScript]) {
      const err = t ? parses(t) : undefined;
      if (err) failures.push(`${step.label}: bash -n: ${err}`);
    }
    if (!RUNNABLE.has(step.label) && !STOPS_AT.has(step.label))
      failures.push(`reaches ${step.label}, which the doubles cannot run (${NOT_RUNNABLE[step.label]})`);
  }
  const runs = await Promise.all(
    carrying
      .filter((step) => RUNNABLE.has(step.label) || STOPS_AT.has(step.label))
      .map(async (step) => ({ step, ...(await runStep(step)) })),
  );
  for (const { step, run, sandbox, check } of runs) {
    const stop = STOPS_AT.get(step.label);
    if (stop !== undefined && (run.code === 0 || lastLine(run) !== stop))
      failures.push(`${step.label}: stopped elsewhere than the doubles' limit (${stop}): exit ${run.code}: ${lastLine(run)}`);
    failures.push(...injections(sandbox, run).map((i) => `${step.label}: ${i}`));
    if (check) failures.push(...injections(sandbox, check).map((i) => `${step.label} (check): ${i}`));
    const unit = sandbox.file("etc/systemd/system/vllm.service");
    if (fs.existsSync(unit) && baselineUnits.has(step.label)) {
      const found = await verifyUnit(unit);
      if (JSON.stringify(found) !== JSON.stringify(baselineUnits.get(step.label)))
        failures.push(`${step.label}: systemd-analyze verify: ${found.join("; ")}`);
    }
    sandbox.dispose();
  }
  return failures;
}

describe.concurrent.each(FIELDS.map((f) => [f.join("."), f] as const))("%s", (_name, segs) => {
  for (const [kind, value] of Object.entries(HOSTILE))
    for (const append of [false, true]) {
      const label = append ? `${kind}, appended` : kind;
      it(label, async ({ expect }) => {
        expect(await outcome(segs, value, append)).toEqual([]);
      });
    }
});
