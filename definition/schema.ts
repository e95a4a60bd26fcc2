// The shape of a stack definition (stacks/<env>.yaml). Shape only: cross-field rules live in validate/.
import { z } from "zod";
import { BackupJob, GuestSnapshots, NodeBackup } from "./backup-schema";
import {
  BASH_READONLY,
  HAS_CONTROL,
  CERT_FINGERPRINT,
  DATASET_NAME,
  DNS_NAME,
  HOST_DIRECTORY,
  HTTP_URL,
  LXC_OPTION_LINE,
  NIC_NAME,
  ONE_LINE,
  PROPERTY_NAME,
  PVE_TAG,
  SHELL_NAME,
  SSH_PUBLIC_KEY,
  SSH_HOST,
  SSH_HOST_KEY,
  USER_NAME,
} from "./grammar";
import { imageRef, oneLine } from "./formats";
import { AnyFirewallRule, DatacenterFirewall, Dns, Expose, Gateway, GuestFirewall } from "./network-services-schema";
import { GuestHa } from "./ha-schema";

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, "use letters, digits, '.' and '-' (a DNS-safe hostname)")
  .max(63, "at most 63 characters (a hostname label)");
/** Free text on one line (a label, a model name): no newline, CR, NUL or other control characters. */
const textLine = (max: number) =>
  z.string().regex(ONE_LINE, "one line of text: no newline, CR, NUL or other control characters").max(max);
/** An http(s) URL, refused rather than normalized when it holds white space or control characters (zod's url() drops them). */
const httpUrl = z
  .string()
  .regex(HTTP_URL, "an http(s) URL without spaces or control characters")
  .refine((v) => URL.canParse(v), "not a valid URL");
/** A file of a storage (vztmpl/debian-12.tar.zst): no '..', nothing a Proxmox volume id would read as syntax. */
const volumeFile = z
  .string()
  .regex(/^(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9_.+-][A-Za-z0-9_.+/-]*$/, "a file such as vztmpl/debian-12.tar.zst (no '..')");
const secretName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "a Pulumi config key: letters, digits, '_' and '-'")
  .max(128);

/** A secret is referenced by name and resolved from Pulumi secret config `phoenix:<name>`. */
export const SecretRef = z.object({ secret: secretName }).strict();
/** Secret-bearing fields also accept a string so validation can name the plaintext and say how to fix it. */
const secretField = z.union([SecretRef, z.string()]);

const mib = z.number().int().positive();
const cidr = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, "an IPv4 CIDR such as 10.0.0.5/24");
const ipv4 = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, "an IPv4 address such as 10.0.0.1");
const mac = z.string().regex(/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/, "a MAC address such as 52:54:00:12:34:56");
const vmid = z.number().int();
/** bpg's provider takes whole GiB; 1 PiB is far beyond any single disk Proxmox manages, and keeps byte counts exact. */
const sizeGiB = z.number().int("a whole number of GiB").min(1).max(1_048_576, "at most 1048576 GiB (1 PiB)");
/** Proxmox's memory limits (MiB): 16 MiB to 256 TiB. */
const guestMib = z.number().int().min(16).max(268_435_456);
/** A time limit in seconds: at most a week. */
const seconds = z.number().int().positive().max(604_800, "at most 604800 seconds (a week)");

export const Storage = z
  .object({
    id: name,
    type: z.enum(["dir", "zfspool", "lvmthin", "lvm", "nfs", "cifs", "btrfs"]).default("dir"),
    content: z.array(z.enum(["images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import"])).default([]),
    path: z.string().regex(HOST_DIRECTORY, "an absolute path without ',', '=' or white space").optional(),
    pool: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/, "a ZFS pool or dataset such as tank/lxc-disks")
      .optional(),
    /** Storage every node reaches (storage.cfg's `shared 1`): nfs and cifs are shared unless this says false. */
    shared: z.boolean().optional(),
  })
  .strict();

/** A ZFS dataset the definition declares on a node (its component is components/zfs-dataset.ts). */
export const DatasetSpec = z
  .object({
    name: z
      .string()
      .regex(DATASET_NAME, "pool/dataset, e.g. tank/models (ZFS's characters, no '.' or '..' part, at most 255 characters)"),
    properties: z
      .record(
        z.string().regex(PROPERTY_NAME, "a ZFS property name such as compression, com.example:note or userquota@bob"),
        z.union([z.string().regex(ONE_LINE, "a ZFS property value on one line (no newline or control characters)"), z.number()]),
      )
      .default({}),
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
    model: textLine(200).optional(),
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

/** A range of ids: root's subordinate uids/gids on a node (/etc/subuid, /etc/subgid). */
export const IdRange = z
  .object({
    start: z.number().int().nonnegative(),
    count: z.number().int().positive(),
  })
  .strict();

/** Proxmox's installer gives root 100000–165535 in /etc/subuid and /etc/subgid: the default id map's host side. */
export const PROXMOX_SUBID_RANGES = [{ start: 100000, count: 65536 }];

export const Node = z
  .object({
    name: name,
    cores: z.number().int().positive().optional(),
    memory: mib.optional(),
    /**
     * How far placement may fill the node past its cores and memory: 1 (the default) never, 2 up to twice. Guests
     * given a node by hand are not held to it (validation warns when they exceed the node).
     */
    overcommit: z
      .object({ cpu: z.number().min(1).max(64).default(1), memory: z.number().min(1).max(16).default(1) })
      .strict()
      .optional(),
    api: z
      .object({
        endpoint: httpUrl,
        /** Skip TLS verification: anyone on the network path can read the login. A warning; pin `fingerprint` instead. */
        insecure: z.boolean().default(false),
        /**
         * SHA-256 fingerprint of the node's API certificate, as `pvenode cert info` shows it (AB:CD:…): Phoenix checks the
         * certificate against it before the provider is used, so a self-signed node needs no `insecure`.
         */
        fingerprint: z
          .string()
          .regex(CERT_FINGERPRINT, "a SHA-256 fingerprint as `pvenode cert info` prints it: 32 hex pairs, AB:CD:…")
          .optional(),
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
        host: z.string().regex(SSH_HOST, "a host name or an IP address"),
        port: z.number().int().min(1).max(65535).default(22),
        user: z.string().regex(USER_NAME, "a user name such as root").default("root"),
        privateKey: secretField.optional(),
        hostKey: z
          .string()
          .regex(SSH_HOST_KEY, "an OpenSSH public key (ssh-ed25519 AAAA…, as in /etc/ssh/ssh_host_ed25519_key.pub) or SHA256:…")
          .optional(),
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
    backup: NodeBackup.optional(),
    backupJobs: z.array(BackupJob).default([]),
    /**
     * root's subordinate uids and gids on the node (/etc/subuid, /etc/subgid): containers' idMaps must map into them
     * (LXC maps through newuidmap, which refuses anything else). Proxmox's default root:100000:65536 when unset.
     */
    subuid: z.array(IdRange).optional(),
    subgid: z.array(IdRange).optional(),
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
    domain: z.string().regex(DNS_NAME, "a DNS domain such as lab.internal").optional(),
    /** An internal DNS server naming every guest and exposed service <name>.<domain> (needs domain). */
    dns: Dns.optional(),
    bridges: z.array(Bridge).min(1, "declare at least one bridge, e.g. vmbr0"),
  })
  .strict();

export const NetworkInterface = z
  .object({
    name: z
      .string()
      .regex(
        NIC_NAME,
        "an interface name such as eth0: a letter or digit, then letters, digits, '_', '.', '-', at most 15 characters",
      )
      .default("eth0"),
    bridge: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]{0,14}$/, "a Linux bridge name such as vmbr0")
      .default("vmbr0"),
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

/** vLLM's values become words of vllm.service's ExecStart line, each after its option (the model first, alone). */
const unitWord = oneLine("vllm.service's unit file").refine((s) => !/^-(?![0-9])/.test(s), {
  message: "starts with '-': vLLM would read it as an option of its own, not as this value",
  params: { fix: "give the value without leading dashes (a negative number such as -1 is fine)" },
});
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
    torchIndex: httpUrl.optional(),
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
            url: httpUrl,
            sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, "the file's sha256, 64 hex digits"),
          })
          .strict(),
        z.object({ baseUrl: httpUrl }).strict(),
      ])
      .optional(),
    /** The address ollama.service listens on (OLLAMA_HOST), e.g. 0.0.0.0, 127.0.0.1 or ::; default 0.0.0.0. */
    host: z.string().regex(SSH_HOST, "an address such as 0.0.0.0, 127.0.0.1, :: or a host name").optional(),
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
      .regex(/^\/[A-Za-z0-9._+@:/-]*$/, "an absolute path of letters, digits and '._+@:/-' (no spaces or quotes)")
      .optional(),
    /** Other OLLAMA_* settings (OLLAMA_KEEP_ALIVE, OLLAMA_CONTEXT_LENGTH, …). */
    env: z
      .record(z.string().regex(/^OLLAMA_[A-Z0-9_]+$/, "an Ollama setting: OLLAMA_ and capitals, digits or '_'"), z.string())
      .optional(),
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
        env: z
          .record(
            z
              .string()
              .regex(SHELL_NAME, "a shell variable name: letters, digits and '_', not starting with a digit")
              .refine((k) => !BASH_READONLY.includes(k) && !k.startsWith("__phx"), {
                error: `not a name bash lets a script set (${BASH_READONLY.join(", ")} and __phx* are taken)`,
              }),
            z.string(),
          )
          .optional(),
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

/** Container-side owner of a mount point's host directory, set on the node shifted through the container's id map. */
export const MountOwner = z
  .object({
    uid: z.number().int().min(0).max(65535),
    gid: z.number().int().min(0).max(65535),
  })
  .strict();

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
    /**
     * Who owns the mounted directory inside the container: the node sets its owner to these ids shifted through the
     * container's id map (100000+uid by default), as the original's owner_uid/owner_gid. Its contents are left as
     * they are.
     */
    owner: MountOwner.optional(),
  })
  .strict();

/** One range of a container's id map (Proxmox's `lxc.idmap: u|g <container> <host> <size>`). */
export const IdMap = z
  .object({
    type: z.enum(["uid", "gid"]),
    containerId: z.number().int().nonnegative(),
    hostId: z.number().int().nonnegative(),
    size: z.number().int().positive(),
  })
  .strict();

export const HealthCheck = z
  .object({
    name: textLine(200),
    /** A shell command, run as root in the guest: code the definition's author writes, like a custom script. */
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
    user: z.string().regex(USER_NAME, "a user name such as phoenix").default("phoenix"),
    sshKeys: z.array(z.string().regex(SSH_PUBLIC_KEY, "an OpenSSH public key such as ssh-ed25519 AAAA… user@host")).default([]),
    password: secretField.optional(),
  })
  .strict();

/** Fields shared by guests and golden templates (a golden template is a guest that gets frozen). */
const machineFields = {
  vmid: vmid,
  name: name,
  type: z.enum(["lxc", "vm"]).default("lxc"),
  node: name.optional(),
  /** Proxmox keeps it as comment lines of the guest's config, at most 8 KiB. */
  description: z.string().max(8192).optional(),
  tags: z
    .array(
      z.string().regex(PVE_TAG, "a Proxmox tag: letters, digits, '_', '-', '+', '.' (no spaces or ';'), at most 128 characters"),
    )
    .default([]),
  cores: z.number().int().min(1).max(8192).optional(),
  memory: guestMib.optional(),
  swap: z.number().int().min(0).max(268_435_456).optional(),
  disk: z.object({ storage: z.string(), size: sizeGiB }).strict().optional(),
  /** Defaults to one interface, eth0 on vmbr0, with an address from the bridge's pool. */
  network: z.array(NetworkInterface).default([{ name: "eth0", bridge: "vmbr0", ip: "auto" }]),
  /** DNS servers for the guest; the bridge's dns when unset. */
  nameservers: z.array(ipv4).optional(),
  searchDomain: z.string().regex(DNS_NAME, "a DNS domain such as lab.internal").optional(),
  /** LXC only; inherited from the template when unset (Proxmox clones keep it). */
  unprivileged: z.boolean().optional(),
  /**
   * LXC only: the container's uid/gid map, replacing Proxmox's default (0–65535 on 100000–165535) whole, so it must
   * cover 0–65535 of both uids and gids; host ids must lie in the node's subuid/subgid. Inherited from the template.
   */
  idMaps: z.array(IdMap).optional(),
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
    .array(
      z
        .string()
        .regex(LXC_OPTION_LINE, "one raw line such as lxc.apparmor.profile=unconfined (no newline or control characters)"),
    )
    .default([]),
  /**
   * lxcOptions that run code on the node or reach its filesystem or devices (lxc.hook.*, host bind mounts,
   * devices.allow …) are refused unless allowed here, with the reason: they give the guest the node.
   */
  allowHostAccess: z.union([z.object({ reason: z.string().min(1) }).strict(), z.boolean()]).optional(),
  cloudInit: CloudInit.optional(),
  dependsOn: z.array(z.string()).default([]),
  healthChecks: z.array(HealthCheck).default([]),
  /** How many backups taken before a deletion or replacement are kept (the newest; older ones are removed). */
  backupRetention: z.number().int().positive().default(3),
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
    /**
     * Anti-affinity: guests of one spread group are placed on different nodes while another node fits (a guest
     * without node is placed by the plan: phoenix plan says where and why).
     */
    spread: name.optional(),
    /** Without gpus: this many GPUs that no other guest of the node lists; placement picks the node and indexes. */
    gpuCount: z.number().int().min(1).max(16).optional(),
    startAtBoot: z.boolean().default(false),
    bootOrder: z.number().int().nonnegative().optional(),
    bootDelay: z.number().int().nonnegative().optional(),
    /** Back the guest up (vzdump) before Phoenix deletes or replaces it; false for stateless guests. */
    backupBeforeReplace: z.boolean().default(true),
    snapshots: GuestSnapshots.optional(),
    /** Its Proxmox firewall: options and rules (applied on interfaces with network[].firewall: true). */
    firewall: GuestFirewall.optional(),
    /** Services offered through the gateway as https://<name>.<domain>. */
    expose: z.array(Expose).default([]),
    /** Proxmox HA: restarted on failure, recovered on another node when its node fails (definition/ha-schema.ts). */
    ha: GuestHa.optional(),
  })
  .strict();

const fileSource = z.object({ storage: z.string(), file: volumeFile }).strict();
const urlSource = z
  .object({
    storage: z.string(),
    url: httpUrl,
    checksum: z.string().regex(/^(sha256|sha512|md5|sha1|sha224|sha384):[0-9a-fA-F]+$/, "algorithm:hex, e.g. sha256:…"),
    file: volumeFile.optional(),
  })
  .strict();

export const BaseTemplate = z
  .object({
    name: name,
    type: z.enum(["lxc", "vm"]).default("lxc"),
    node: name.optional(),
    /** VM base templates are VMs in Proxmox, so they need a vmid; LXC base templates are files. */
    vmid: vmid.optional(),
    os: textLine(64).optional(),
    source: z.union([fileSource, urlSource]),
  })
  .strict();

export const GoldenTemplate = z
  .object({
    ...machineFields,
    parent: z.string(),
    /** A golden template is rebuilt from the definition: backing it up before a rebuild is opt-in. */
    backupBeforeReplace: z.boolean().default(false),
    /** The snapshot clones are taken from (the original system's template_snapshot_name). */
    snapshot: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "a Proxmox snapshot name")
      .default("golden"),
  })
  .strict();

export const Template = z.union([BaseTemplate, GoldenTemplate]);

const sshPublicKey = z.string().regex(SSH_PUBLIC_KEY, "an OpenSSH public key such as ssh-ed25519 AAAA… user@host");

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
/** A plain variable's value: one line of the app's .env file (multi-line text belongs in a secret or a file). */
const appValue = oneLine("the app's .env file");
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
    options: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "an option name: a letter or digit, then letters, digits, '_', '.', '-'"),
        z.string(),
      )
      .default({}),
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
    variables: z.record(variableName, z.union([SecretRef, EndpointRef, appValue, z.number(), z.boolean()])).default({}),
    files: z.array(AppFile).default([]),
    /** Volumes Phoenix creates, for the compose file's external volumes. */
    volumes: z.record(volumeName, AppVolume).default({}),
    /** External volumes made outside Phoenix that must exist on the guest (checked before `up`). */
    externalVolumes: z.array(volumeName).default([]),
    /** Removing the app runs `down`; its volumes stay unless this is true when it is removed. */
    removeVolumes: z.boolean().default(false),
    /** Older imports kept the original's Traefik labels here; accepted and ignored (`phoenix import` makes expose). */
    traefikLabels: z.record(z.string(), z.array(z.string())).optional(),
    /** Older imports kept the original's firewall rules here; accepted and ignored (`phoenix import` makes firewall). */
    firewallRules: z.array(KeptFirewallRule).optional(),
    /** The app's published ports offered through the gateway, on each of its guests. */
    expose: z.array(Expose).default([]),
    /** Rules added to the firewall of each guest the app runs on: they follow the app. */
    firewall: z.array(AnyFirewallRule).default([]),
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
    /** The datacenter's Proxmox firewall: policy, rules of the nodes' traffic, security groups, aliases, IP sets. */
    firewall: DatacenterFirewall.optional(),
    /** The HTTPS gateway for exposed services, in a guest of this definition. */
    gateway: Gateway.optional(),
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
export { BackupJob, GuestSnapshots, NodeBackup } from "./backup-schema";
export type NodeBackup = z.infer<typeof NodeBackup>;
export type BackupJob = z.infer<typeof BackupJob>;
export type App = z.infer<typeof App>;
export type AppFile = z.infer<typeof AppFile>;

export function isGolden(t: Template): t is GoldenTemplate {
  return "parent" in t;
}
