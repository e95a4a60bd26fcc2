// The shape of a stack definition (stacks/<env>.yaml). Shape only: cross-field rules live in validate/.
import { z } from "zod";
import { HAS_CONTROL } from "./grammar";
import { imageRef, oneLine } from "./formats";

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, "use letters, digits, '.' and '-' (a DNS-safe hostname)");
const secretName = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "a Pulumi config key: letters, digits, '_' and '-'");

/** A secret is referenced by name and resolved from Pulumi secret config `phoenix:<name>`. */
export const SecretRef = z.object({ secret: secretName }).strict();
/** Secret-bearing fields also accept a string so validation can name the plaintext and say how to fix it. */
const secretField = z.union([SecretRef, z.string()]);

const mib = z.number().int().positive();
const cidr = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, "an IPv4 CIDR such as 10.0.0.5/24");
const ipv4 = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, "an IPv4 address such as 10.0.0.1");
const mac = z.string().regex(/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/, "a MAC address such as 52:54:00:12:34:56");
const vmid = z.number().int();
const sizeGiB = z.number().positive();
/** A time limit in seconds: at most a week. */
const seconds = z.number().int().positive().max(604_800, "at most 604800 seconds (a week)");

export const Storage = z
  .object({
    id: name,
    type: z.enum(["dir", "zfspool", "lvmthin", "lvm", "nfs", "cifs", "btrfs"]).default("dir"),
    content: z.array(z.enum(["images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import"])).default([]),
    path: z.string().optional(),
    pool: z.string().optional(),
  })
  .strict();

/** A ZFS dataset the definition declares on a node (its component is components/zfs-dataset.ts). */
export const DatasetSpec = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*(\/[A-Za-z0-9_.:-]+)+$/, "pool/dataset, e.g. tank/models"),
    properties: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
    /** Deletion is refused unless this is false. */
    protect: z.boolean().default(true),
  })
  .strict();

const pciAddress = z
  .string()
  .regex(/^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/, "a PCI address such as 0000:01:00.0");
const pciDeviceId = z.string().regex(/^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$/, "vendor:device such as 10de:2d04");

export const Gpu = z
  .object({
    index: z.number().int().nonnegative(),
    /** Needed to pass the GPU through to VMs; containers only need the index (/dev/nvidiaN). */
    pci: pciAddress.optional(),
    /** The GPU's name as nvidia-smi shows it (e.g. RTX 5060 Ti): picks vLLM's CUDA architecture list. */
    model: z.string().optional(),
    /** Memory in GiB (nvidia-smi --query-gpu=memory.total): budgets given in GiB are checked against it. */
    memory: z.number().positive().optional(),
    /** vendor:device as `lspci -nn` shows it, e.g. 10de:2d04; Proxmox's PCI mapping needs it. */
    deviceId: pciDeviceId.optional(),
    iommuGroup: z.number().int().nonnegative().optional(),
    /**
     * The other devices of this GPU's IOMMU group (its audio function, …): a VM takes the whole group, so with the
     * node's vfio they are bound to vfio-pci with it. Any other device found in the group stops the VFIO step.
     */
    iommuGroupDevices: z
      .array(
        z
          .object({
            pci: pciAddress,
            deviceId: pciDeviceId,
          })
          .strict(),
      )
      .optional(),
  })
  .strict();

/** Profiles every Proxmox/LXC host has without the definition installing them. */
export const BUILTIN_APPARMOR_PROFILES = new Set([
  "unconfined",
  "generated",
  "lxc-container-default",
  "lxc-container-default-cgns",
  "lxc-container-default-with-nesting",
]);

export const AppArmorProfile = z
  .object({
    name: name,
    /** Profile source, relative to the definition file. */
    file: z.string(),
  })
  .strict();

export const Node = z
  .object({
    name: name,
    cores: z.number().int().positive().optional(),
    memory: mib.optional(),
    api: z
      .object({
        endpoint: z.string().url(),
        insecure: z.boolean().default(false),
        /** An API token, user@realm!id=secret. */
        token: secretField.optional(),
        /**
         * Or a user's login. Proxmox lets only root@pam (not even its tokens) set GPU device passthrough,
         * bind mounts and keyctl, so definitions that use them log in as root@pam.
         */
        username: z
          .string()
          .regex(/^[^\s@]+@[A-Za-z0-9.-]+$/, "user@realm, e.g. root@pam")
          .optional(),
        password: secretField.optional(),
      })
      .strict()
      .optional(),
    ssh: z
      .object({
        host: z.string(),
        port: z.number().int().min(1).max(65535).default(22),
        user: z.string().default("root"),
        privateKey: secretField.optional(),
        hostKey: z.string().optional(),
      })
      .strict()
      .optional(),
    storage: z.array(Storage).default([]),
    zfs: z
      .object({
        pools: z.array(z.object({ name: name }).strict()).default([]),
        datasets: z.array(DatasetSpec).default([]),
      })
      .strict()
      .default({ pools: [], datasets: [] }),
    gpus: z.array(Gpu).default([]),
    nvidia: z
      .object({
        driverVersion: z.string().regex(/^\d+\.\d+(\.\d+)?$/, "a driver version such as 580.76.05"),
        /** Install the driver on the node itself; off unless asked for. */
        installOnHost: z.boolean().default(false),
        /**
         * The boot unit that creates /dev/nvidia* (uvm included) and turns persistence mode on before Proxmox
         * starts guests (phoenix-nvidia-init.service). Defaults to installOnHost.
         */
        bootInit: z.boolean().optional(),
        /**
         * sha256 of NVIDIA's runfile of driverVersion (NVIDIA-Linux-x86_64-<version>.run): required with installOnHost,
         * whose runfile runs as root on the node; guests installing the userland from it check it too.
         */
        runfileSha256: z
          .string()
          .regex(/^[0-9a-fA-F]{64}$/, "a sha256 checksum: 64 hexadecimal digits")
          .optional(),
        /** Seconds the driver's download, build and load may take with installOnHost; default 3600. */
        timeout: seconds.optional(),
      })
      .strict()
      .optional(),
    /**
     * Prepare the node for GPUs passed to VMs: IOMMU on the kernel command line, vfio-pci bound to those GPUs (and
     * the devices of their IOMMU groups) at boot. Changes take effect at the next reboot, which Phoenix never does.
     */
    vfio: z.boolean().optional(),
    apparmorProfiles: z.array(AppArmorProfile).default([]),
  })
  .strict();

export const IpPool = z
  .object({
    name: name,
    /** Inclusive range "first-last", e.g. 10.0.0.100-10.0.0.199. */
    range: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}-\d{1,3}(\.\d{1,3}){3}$/, "first-last, e.g. 10.0.0.100-10.0.0.199"),
  })
  .strict();

export const Bridge = z
  .object({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,14}$/, "a Linux bridge name such as vmbr0"),
    subnet: cidr,
    gateway: ipv4.optional(),
    dns: z.array(ipv4).default([]),
    pools: z.array(IpPool).default([]),
  })
  .strict();

export const Network = z
  .object({
    domain: z.string().optional(),
    bridges: z.array(Bridge).min(1, "declare at least one bridge, e.g. vmbr0"),
  })
  .strict();

export const NetworkInterface = z
  .object({
    name: z.string().default("eth0"),
    bridge: z.string().default("vmbr0"),
    /** A static CIDR, "auto" (allocated from a pool of the bridge) or "dhcp". */
    ip: z
      .string()
      .regex(/^(auto|dhcp|\d{1,3}(\.\d{1,3}){3}\/\d{1,2})$/, {
        error: 'expected a static CIDR such as 10.0.0.5/24, "auto" (from a pool) or "dhcp"',
      })
      .default("auto"),
    pool: name.optional(),
    gateway: ipv4.optional(),
    mac: mac.optional(),
    vlan: z.number().int().min(1).max(4094).optional(),
    firewall: z.boolean().optional(),
  })
  .strict();

const featureOn = z.union([z.literal(true), z.object({}).strict()]);

/** vLLM's values become words of vllm.service's ExecStart line. */
const unitWord = oneLine("vllm.service's unit file");
const engineArgName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, "an engine argument name: lowercase, digits and '-', no leading dashes");

export const VllmFeature = z
  .object({
    model: unitWord.min(1),
    servedModelName: unitWord.optional(),
    // Feature settings carry no zod defaults: a clone's settings merge over its template's, so a default
    // filled in here would silently undo what the template chose. The plan applies FEATURE_DEFAULTS.
    port: z.number().int().min(1).max(65535).optional(),
    host: unitWord.optional(),
    /** Defaults to the number of GPUs the guest has. */
    tensorParallelSize: z.number().int().positive().optional(),
    maxModelLen: z.number().int().positive().optional(),
    gpuMemoryUtilization: z.number().gt(0).max(1).optional(),
    quantization: unitWord.optional(),
    dtype: unitWord.optional(),
    trustRemoteCode: z.boolean().optional(),
    /** Any other engine argument, as `--<key> <value>`. */
    args: z.record(engineArgName, z.union([unitWord, z.number(), z.boolean()])).optional(),
    install: z.enum(["venv", "container"]).optional(),
    /** For install: container, the vLLM image (default vllm/vllm-openai:latest); pin a tag for repeatable guests. */
    image: imageRef.optional(),
    hfToken: secretField.optional(),
    /**
     * The exact vLLM release (pip's vllm==<version>; for install: container the image vllm/vllm-openai:v<version>
     * unless image is given). Changing it upgrades the guest in place.
     */
    version: z
      .string()
      .regex(/^\d+\.\d+\.\d+((\.post|rc)\d+)?$/, "an exact release such as 0.10.2")
      .optional(),
    /** The PyTorch wheel index the venv installs torch from, e.g. https://download.pytorch.org/whl/cu128. */
    torchIndex: z.string().url().optional(),
    /** TORCH_CUDA_ARCH_LIST, e.g. "12.0" or "8.6 8.9"; chosen from the GPUs' model when unset. */
    cudaArchList: z
      .string()
      .regex(/^\d+\.\d+(\+PTX)?([ ;]\d+\.\d+(\+PTX)?)*$/, 'compute capabilities such as "12.0" or "8.6 8.9"')
      .optional(),
  })
  .strict();

/** Ollama, from its official release (or a mirror of it), serving the declared models. */
export const OllamaFeature = z
  .object({
    /** The release, e.g. 0.11.10 (the default is OLLAMA_VERSION). */
    version: z
      .string()
      .regex(/^\d+\.\d+\.\d+(-rc\d+)?$/, "a release such as 0.11.10")
      .optional(),
    /**
     * Where the release comes from: an exact file with its sha256, or a base URL laid out like GitHub's release
     * downloads (<baseUrl>/v<version>/ollama-linux-<arch>.tgz and sha256sum.txt). Default: Ollama's GitHub releases.
     */
    source: z
      .union([
        z
          .object({
            url: z.string().url(),
            sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, "the file's sha256, 64 hex digits"),
          })
          .strict(),
        z.object({ baseUrl: z.string().url() }).strict(),
      ])
      .optional(),
    host: z.string().optional(),
    port: z.number().int().min(1).max(65535).optional(),
    /** Models kept pulled, e.g. llama3.2:1b (a name without a tag means :latest). */
    models: z.array(z.string().min(1)).optional(),
    /** Remove pulled models the definition no longer declares (off: they are only reported). */
    prune: z.boolean().optional(),
    /** Which of the guest's GPUs Ollama uses (node indexes); all of them when unset. */
    gpus: z.array(z.number().int().nonnegative()).optional(),
    /** GiB of each of its GPUs Ollama may use; the rest is reserved (OLLAMA_GPU_OVERHEAD). Needs the GPUs' memory. */
    gpuMemory: z.number().positive().optional(),
    /** Where models are stored (OLLAMA_MODELS), e.g. a mounted dataset; default /var/lib/ollama/models. */
    modelsDir: z
      .string()
      .regex(/^\/[^\s]*$/, "an absolute path without spaces")
      .optional(),
    /** Other OLLAMA_* settings (OLLAMA_KEEP_ALIVE, OLLAMA_CONTEXT_LENGTH, …). */
    env: z.record(z.string(), z.string()).optional(),
    /** Pull over plain HTTP (a registry mirror without TLS, as `ollama pull --insecure`). */
    insecure: z.boolean().optional(),
  })
  .strict();

/** Ports Portainer publishes unless a guest's portainer.port says otherwise. */
export const PORTAINER_PORTS = { server: 9443, agent: 9001 } as const;

export const PortainerFeature = z
  .object({
    role: z.enum(["server", "agent"]),
    image: imageRef.optional(),
    port: z.number().int().min(1).max(65535).optional(),
    adminPassword: secretField.optional(),
    /** For agents: the guest running the Portainer server. */
    server: z.string().optional(),
  })
  .strict();

export const Features = z
  .object({
    nvidia: z
      .union([
        z.literal(true),
        z
          .object({
            cudaVersion: z
              .string()
              .regex(/^\d+\.\d+$/, "a CUDA version such as 12.8")
              .optional(),
            source: z.enum(["nvidia", "debian"]).optional(),
          })
          .strict(),
      ])
      .optional(),
    docker: z
      .union([
        z.literal(true),
        z
          .object({
            source: z.enum(["docker", "debian"]).optional(),
            daemon: z.record(z.string(), z.unknown()).optional(),
          })
          .strict(),
      ])
      .optional(),
    "nvidia-container-toolkit": featureOn.optional(),
    vllm: VllmFeature.optional(),
    ollama: OllamaFeature.optional(),
    portainer: PortainerFeature.optional(),
    apparmor: z.object({ profile: z.string() }).strict().optional(),
    script: z
      .object({
        /** Path relative to the definition file. */
        path: z.string(),
        env: z.record(z.string(), z.string()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
/** Defaults of feature settings, applied by the plan after the clone chain is merged. */
export const FEATURE_DEFAULTS = {
  nvidia: { source: "nvidia" },
  docker: { source: "docker", daemon: {} },
  "nvidia-container-toolkit": {},
  vllm: { port: 8000, host: "0.0.0.0", args: {}, install: "venv" },
  ollama: { host: "0.0.0.0", port: 11434, models: [], prune: false, env: {}, insecure: false },
  portainer: {},
  apparmor: {},
  script: { env: {} },
} as const;

export const FEATURE_ORDER = [
  "nvidia",
  "docker",
  "nvidia-container-toolkit",
  "vllm",
  "ollama",
  "portainer",
  "apparmor",
  "script",
] as const;
export type FeatureName = (typeof FEATURE_ORDER)[number];

export const MountPoint = z
  .object({
    /** A ZFS dataset declared on the guest's node ... */
    dataset: z.string().optional(),
    /** ... with an optional sub-directory of it, */
    subdir: z.string().optional(),
    /** ... or a plain host path. */
    hostPath: z.string().optional(),
    path: z.string().regex(/^\//, "an absolute path inside the guest"),
    readOnly: z.boolean().default(false),
    backup: z.boolean().default(false),
  })
  .strict();

export const HealthCheck = z
  .object({
    name: z.string(),
    command: z.string(),
    retries: z.number().int().positive().max(100).default(3),
    /** Seconds between attempts. */
    interval: z.number().positive().max(3600).default(5),
    /** Seconds one attempt may take before it counts as failed; default 60. */
    timeout: seconds.optional(),
  })
  .strict();

/**
 * Time limits of a machine's provisioning steps, in seconds, overriding the defaults each feature declares
 * (provisioners/<feature>/<feature>.ts). A step over its limit is stopped and fails the up with what was running,
 * where and for how long. healthChecks is the overall limit of all the machine's health checks together.
 */
export const Timeouts = z
  .object({
    nvidia: seconds.optional(),
    docker: seconds.optional(),
    "nvidia-container-toolkit": seconds.optional(),
    vllm: seconds.optional(),
    ollama: seconds.optional(),
    portainer: seconds.optional(),
    apparmor: seconds.optional(),
    script: seconds.optional(),
    healthChecks: seconds.optional(),
  })
  .strict();
export type Timeouts = z.infer<typeof Timeouts>;
/** How long all of a machine's health checks may take together, retries included, unless timeouts.healthChecks says. */
export const DEFAULT_HEALTH_CHECKS_LIMIT_SECONDS = 900;

export const CloudInit = z
  .object({
    user: z.string().default("phoenix"),
    sshKeys: z.array(z.string()).default([]),
    password: secretField.optional(),
  })
  .strict();

/** Fields shared by guests and golden templates (a golden template is a guest that gets frozen). */
const machineFields = {
  vmid: vmid,
  name: name,
  type: z.enum(["lxc", "vm"]).default("lxc"),
  node: name.optional(),
  description: z.string().optional(),
  tags: z.array(z.string()).default([]),
  cores: z.number().int().positive().optional(),
  memory: mib.optional(),
  swap: z.number().int().nonnegative().optional(),
  disk: z.object({ storage: z.string(), size: sizeGiB }).strict().optional(),
  /** Defaults to one interface, eth0 on vmbr0, with an address from the bridge's pool. */
  network: z.array(NetworkInterface).default([{ name: "eth0", bridge: "vmbr0", ip: "auto" }]),
  /** DNS servers for the guest; the bridge's dns when unset. */
  nameservers: z.array(ipv4).optional(),
  searchDomain: z.string().optional(),
  /** LXC only; inherited from the template when unset (Proxmox clones keep it). */
  unprivileged: z.boolean().optional(),
  nesting: z.boolean().optional(),
  keyctl: z.boolean().optional(),
  /** GPU indexes on the node; inherited from the template when unset. */
  gpus: z.array(z.number().int().nonnegative()).optional(),
  /** GiB of each of its GPUs that the guest's other GPU work (a script, an app) uses: counted in the GPU budgets. */
  gpuMemory: z.number().positive().optional(),
  features: Features.default({}),
  mountPoints: z.array(MountPoint).default([]),
  /** Raw `lxc.*` lines for the container config. */
  lxcOptions: z
    .array(z.string().regex(/^lxc\.[a-z0-9_.]+\s*[:=]/, "a raw line such as lxc.apparmor.profile=unconfined"))
    .default([]),
  cloudInit: CloudInit.optional(),
  dependsOn: z.array(z.string()).default([]),
  healthChecks: z.array(HealthCheck).default([]),
  /**
   * Refuse to replace or delete this machine: `pulumi up` and `pulumi destroy` stop before anything changes, naming
   * it and the field that would have replaced it. Set it to false (in the same up as the change) to rebuild it.
   */
  protect: z.boolean().default(false),
  timeouts: Timeouts.optional(),
};

export const Guest = z
  .object({
    ...machineFields,
    /** Base template to create from, or golden template to clone. */
    template: z.string(),
    startAtBoot: z.boolean().default(false),
    bootOrder: z.number().int().nonnegative().optional(),
    bootDelay: z.number().int().nonnegative().optional(),
  })
  .strict();

const fileSource = z.object({ storage: z.string(), file: z.string() }).strict();
const urlSource = z
  .object({
    storage: z.string(),
    url: z.string().url(),
    checksum: z.string().regex(/^(sha256|sha512|md5|sha1|sha224|sha384):[0-9a-fA-F]+$/, "algorithm:hex, e.g. sha256:…"),
    file: z.string().optional(),
  })
  .strict();

export const BaseTemplate = z
  .object({
    name: name,
    type: z.enum(["lxc", "vm"]).default("lxc"),
    node: name.optional(),
    /** VM base templates are VMs in Proxmox, so they need a vmid; LXC base templates are files. */
    vmid: vmid.optional(),
    os: z.string().optional(),
    source: z.union([fileSource, urlSource]),
  })
  .strict();

export const GoldenTemplate = z
  .object({
    ...machineFields,
    parent: z.string(),
    /** The snapshot clones are taken from (the original system's template_snapshot_name). */
    snapshot: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "a Proxmox snapshot name")
      .default("golden"),
  })
  .strict();

export const Template = z.union([BaseTemplate, GoldenTemplate]);

const sshPublicKey = z
  .string()
  .regex(
    /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-\S+|sk-\S+) [A-Za-z0-9+/=]+( .*)?$/,
    "an OpenSSH public key such as ssh-ed25519 AAAA… user@host",
  );

export const Access = z
  .object({
    /** Public keys for root in every container and for the cloud-init user of every VM. */
    sshKeys: z.array(z.union([sshPublicKey, SecretRef])).default([]),
    /** The private half of one of sshKeys: VMs are provisioned over SSH with it. */
    sshPrivateKey: SecretRef.optional(),
  })
  .strict();

/** An app's name: its Compose project name on the guest, as Compose v1 and v2 both take it. */
export const APP_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const appName = z
  .string()
  .regex(APP_NAME, "lowercase letters, digits, '-' and '_', starting with a letter or digit (a Compose project name)");
const variableName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a variable name: letters, digits and '_', not starting with a digit");
/** A path inside the app's project directory on the guest: relative, no `..`, one line. */
const projectPath = z
  .string()
  .regex(
    /^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[^\\]+$/,
    "a relative path inside the app's project directory, e.g. config/nginx.conf (no leading '/', no '.' or '..' parts)",
  )
  .refine((s) => !HAS_CONTROL.test(s), { message: "contains a control character (line break, tab, NUL…)" });
const volumeName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "a Docker volume name: letters, digits, '_', '.' and '-'");

/** A config file rendered from a template in the repository into the app's project directory. */
export const AppFile = z
  .object({
    /** The template, relative to the definition's directory; ${VAR} and ${VAR:-default} take the app's variables. */
    template: z.string().min(1),
    /** Where it is written, relative to the project directory: the compose file mounts it as ./<path>. */
    path: projectPath,
    /** Octal file mode; 0644 unless the template uses a secret variable (then 0600, root only). */
    mode: z
      .string()
      .regex(/^0?[0-7]{3}$/, "an octal mode such as 0644")
      .optional(),
  })
  .strict();

/** A named volume Phoenix creates on the guest before the app starts (`docker volume create`), e.g. an NFS share. */
export const AppVolume = z
  .object({
    driver: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/, "a volume driver name such as local")
      .default("local"),
    /** Driver options (`--opt key=value`), e.g. { type: nfs, o: "addr=10.0.0.13,rw,nfsvers=4", device: ":/export/x" }. */
    options: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, "an option name"), z.string()).default({}),
  })
  .strict();

/** A firewall rule of the original system's stacks, kept for the network services (not applied yet). */
export const KeptFirewallRule = z
  .object({
    type: z.enum(["in", "out"]),
    action: z.string(),
    source: z.string().optional(),
    dest: z.string().optional(),
    proto: z.string().optional(),
    port: z.string().optional(),
    comment: z.string().optional(),
  })
  .strict();

/**
 * A model server of the plan, by the guest that runs it: the variable takes its URL as the plan gives it (vLLM's
 * OpenAI-compatible base, http://<address>:<port>/v1; Ollama's API, http://<address>:<port>). `service` is needed
 * only when the guest runs both.
 */
export const EndpointRef = z.object({ endpoint: name, service: z.enum(["vllm", "ollama"]).optional() }).strict();
export type EndpointRef = z.infer<typeof EndpointRef>;

/** A Docker Compose project deployed to guests with docker: per environment, as this definition declares it. */
export const App = z
  .object({
    name: appName,
    description: z.string().optional(),
    /** The compose file, relative to the definition's directory. */
    compose: z.string().min(1),
    /** The guests it runs on (each needs docker, inherited along the clone chain counts). */
    guests: z.array(name).min(1, "name at least one guest with docker"),
    /** compose: the compose CLI in the guest; portainer: Portainer's API, onto the guest's agent environment. */
    deploy: z.enum(["compose", "portainer"]).default("compose"),
    /**
     * For ${VAR} in the compose file and the templates; { secret: name } comes from Pulumi secret config,
     * { endpoint: <guest>, service?: vllm|ollama } is the URL of that guest's model server in the plan.
     */
    variables: z.record(variableName, z.union([SecretRef, EndpointRef, z.string(), z.number(), z.boolean()])).default({}),
    files: z.array(AppFile).default([]),
    /** Volumes Phoenix creates, for the compose file's external volumes. */
    volumes: z.record(volumeName, AppVolume).default({}),
    /** External volumes made outside Phoenix that must exist on the guest (checked before `up`). */
    externalVolumes: z.array(volumeName).default([]),
    /** Removing the app runs `down`; its volumes stay unless this is true when it is removed. */
    removeVolumes: z.boolean().default(false),
    /** Kept from the original system for the network services (routes): not applied yet. */
    traefikLabels: z.record(z.string(), z.array(z.string())).optional(),
    /** Kept from the original system for the network services (firewall): not applied yet. */
    firewallRules: z.array(KeptFirewallRule).optional(),
  })
  .strict();

export const Definition = z
  .object({
    $schema: z.string().optional(),
    version: z.literal(1).default(1),
    access: Access.default({ sshKeys: [] }),
    nodes: z.array(Node).min(1, "declare at least one Proxmox node"),
    network: Network,
    templates: z.array(Template).default([]),
    guests: z.array(Guest).default([]),
    /** Docker Compose projects on guests with docker. */
    apps: z.array(App).default([]),
  })
  .strict();

export type Definition = z.infer<typeof Definition>;
export type DefinitionInput = z.input<typeof Definition>;
export type Node = z.infer<typeof Node>;
export type DatasetSpec = z.infer<typeof DatasetSpec>;
export type Bridge = z.infer<typeof Bridge>;
export type Guest = z.infer<typeof Guest>;
export type Template = z.infer<typeof Template>;
export type BaseTemplate = z.infer<typeof BaseTemplate>;
export type GoldenTemplate = z.infer<typeof GoldenTemplate>;
export type Features = z.infer<typeof Features>;
export type VllmFeature = z.infer<typeof VllmFeature>;
export type OllamaFeature = z.infer<typeof OllamaFeature>;
export type NetworkInterface = z.infer<typeof NetworkInterface>;
export type MountPoint = z.infer<typeof MountPoint>;
export type SecretRef = z.infer<typeof SecretRef>;
export type App = z.infer<typeof App>;
export type AppFile = z.infer<typeof AppFile>;

export function isGolden(t: Template): t is GoldenTemplate {
  return "parent" in t;
}
