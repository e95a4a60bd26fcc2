// phoenix_hypervisor_config.json → node, network, storage, datasets and host-wide settings.
import { formatIp, parseCidr } from "../../definition/ipv4";
import type { DefinitionInput } from "../../definition/schema";
import { secretFix } from "../../definition/secrets";
import { FINGERPRINT_HOWTO } from "../../validate/access";
import type { Reader, Warnings } from "./reader";

type NodeInput = DefinitionInput["nodes"][number];
type BridgeInput = DefinitionInput["network"]["bridges"][number];

/** What the container/VM importers need from the hypervisor file. */
export interface HostSettings {
  node: NodeInput;
  bridge: BridgeInput;
  domain?: string;
  mountPointBase: string;
  /** Proxmox storage id → its ZFS dataset (zfspool) or directory path (dir). */
  storageDataset: Map<string, string>;
  storagePath: Map<string, string>;
  cudaVersion?: string;
  portainer: {
    serverImage?: string;
    agentImage?: string;
    serverPort?: number;
    agentPort?: number;
    adminPassword?: { secret: string };
  };
  lxcDefaults: { cores?: number; memory?: number; nesting?: boolean };
  /** The global firewall settings (shared_volumes.firewall, where the original read them; or a top-level firewall). */
  firewall?: Reader;
  /** shared_volumes: guest id → mounts to add. */
  sharedMounts: Map<string, { hostPath: string; path: string; where: string }[]>;
}

export function readHypervisor(r: Reader, w: Warnings, nodeName: string): HostSettings {
  r.unmapped("version", "file metadata");
  r.unmapped("author", "file metadata");
  r.skip("$schema");
  const domain = r.str("domain_name");
  r.unmapped("users", "host user accounts are not managed here", "create admin users with your usual host tooling");
  r.unmapped("core_paths", "paths of the bash system; the definition file replaces them");
  r.unmapped("timezone", "the host's timezone is not managed here");

  const net = r.obj("network");
  const iface = net?.obj("interfaces");
  const address = iface?.str("address");
  const hostCidr = address ? parseCidr(address) : undefined;
  const defaultSubnet = net?.str("default_subnet");
  const subnet = hostCidr ? `${formatIp(hostCidr.network)}/${hostCidr.prefix}` : (defaultSubnet ?? "10.0.0.0/24");
  if (defaultSubnet && defaultSubnet !== subnet)
    w.add(net!.where("default_subnet"), `differs from the bridge's subnet ${subnet}; the bridge's address wins`);
  const bridge: BridgeInput = {
    name: iface?.str("name") ?? "vmbr0",
    subnet,
    ...(iface?.has("gateway") ? { gateway: iface.str("gateway")! } : {}),
    dns: iface?.strings("dns_nameservers") ?? [],
    pools: [],
  };
  const portainer: HostSettings["portainer"] = {};
  if (net) {
    net.unmapped("external_registry_url", "image registries are chosen per feature (portainer.image)");
    net.unmapped(
      "portainer_server_ip",
      "the Portainer server is the guest whose portainer role is server; agents find it through the plan",
    );
    const sp = net.num("portainer_server_port");
    const ap = net.num("portainer_agent_port");
    if (sp !== undefined) portainer.serverPort = sp;
    if (ap !== undefined) portainer.agentPort = ap;
    net.unmapped("nfs_server", "NFS is not managed here");
    net.unmapped("fallback_dns", "list every DNS server under the bridge's dns");
  }
  const docker = r.obj("docker");
  if (docker) {
    const s = docker.str("portainer_server_image");
    const a = docker.str("portainer_agent_image");
    if (s) portainer.serverImage = s;
    if (a) portainer.agentImage = a;
  }
  r.unmapped("nfs", "NFS exports are not managed here");
  r.unmapped("samba", "Samba shares are not managed here");

  const mountPointBase = r.str("mount_point_base") ?? "/mnt/pve";
  const storageDataset = new Map<string, string>();
  const storagePath = new Map<string, string>();
  const node: NodeInput = { name: nodeName, storage: [], zfs: { pools: [], datasets: [] }, gpus: [] };
  if (hostCidr) {
    // Verified TLS: the operator pins the node's certificate (the original system never checked it).
    node.api = {
      endpoint: `https://${formatIp(hostCidr.address)}:8006/`,
      username: "root@pam",
      password: { secret: "proxmoxRootPassword" },
    };
    w.add(
      iface!.where("address"),
      `the node's API at https://${formatIp(hostCidr.address)}:8006/ is reached with TLS verified: its certificate is self-signed unless you installed another, so pin it`,
      `set nodes[0].api.fingerprint to its SHA-256 fingerprint: ${FINGERPRINT_HOWTO}`,
    );
    node.ssh = { host: formatIp(hostCidr.address), user: "root", privateKey: { secret: "nodeSshKey" } };
  }
  const zfs = r.obj("zfs");
  if (zfs) {
    zfs.unmapped(
      "arc_max_gb",
      "ZFS ARC sizing is a host setting outside the definition",
      "set zfs_arc_max in /etc/modprobe.d/zfs.conf",
    );
    for (const p of zfs.objs("pools")) {
      const name = p.str("name");
      if (name) node.zfs!.pools!.push({ name });
      p.unmapped("raid_level", "pools are expected to exist; their layout is not managed here");
      p.unmapped("disks", "pools are expected to exist; their disks are not managed here");
    }
    for (const d of zfs.objs("datasets")) {
      const name = d.str("name");
      const pool = d.str("pool");
      if (!name || !pool) {
        w.add(d.where(), "dataset without name or pool; skipped");
        continue;
      }
      const full = `${pool}/${name}`;
      node.zfs!.datasets!.push({ name: full, properties: parseProperties(d.str("properties") ?? "") });
      const type = d.str("proxmox_storage_type");
      const content = (d.str("proxmox_content_type") ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      const id = `${pool}-${name}`;
      if (type === "zfspool") {
        node.storage!.push({ id, type: "zfspool", pool: full, content: content as never });
        storageDataset.set(id, full);
      } else if (type === "dir") {
        node.storage!.push({ id, type: "dir", path: `/${full}`, content: content as never });
        storageDataset.set(id, full);
        storagePath.set(id, `/${full}`);
      } else if (type) w.add(d.where("proxmox_storage_type"), `storage type '${type}' is not supported; no storage made for it`);
      d.unmapped("storage_class", "informational in the original system");
    }
  }
  // The original kept a backup storage (a dataset with backup content): Phoenix backs guests up there before it
  // deletes or replaces them.
  const backupStorage = node.storage!.find((st) => st.type === "dir" && (st.content as string[] | undefined)?.includes("backup"));
  if (backupStorage) node.backup = { storage: backupStorage.id };
  const ids = r.obj("proxmox_storage_ids");
  if (ids)
    for (const key of Object.keys(ids.value)) {
      const id = ids.str(key);
      if (id && !node.storage!.some((s) => s.id === id))
        w.add(
          ids.where(key),
          `storage id '${id}' matches no dataset with a proxmox_storage_type`,
          "declare it under the node's storage by hand",
        );
    }
  const defaults = r.obj("proxmox_defaults");
  const lxcDefaults: HostSettings["lxcDefaults"] = {};
  if (defaults) {
    defaults.unmapped("zfs_lxc_pool", "containers name their storage in disk.storage");
    const lxc = defaults.obj("lxc");
    if (lxc) {
      const cores = lxc.num("cores");
      const mem = lxc.num("memory_mb");
      if (cores !== undefined) lxcDefaults.cores = cores;
      if (mem !== undefined) lxcDefaults.memory = mem;
      const nesting = lxc.num("nesting");
      if (nesting !== undefined) lxcDefaults.nesting = nesting === 1;
      lxc.unmapped("network_config", "every container declares its own network; there is no default address");
      lxc.unmapped("features", "nesting is taken from proxmox_defaults.lxc.nesting");
      lxc.unmapped("security", "no equivalent");
    }
  }
  r.unmapped("tests", "host test scripts are not run by the definition", "declare healthChecks on guests instead");

  const nv = r.obj("nvidia_driver");
  let cudaVersion: string | undefined;
  if (nv) {
    const version = nv.str("version");
    if (version) {
      // Phoenix runs NVIDIA's runfile on a node only with its checksum, which the original configuration does not have.
      node.nvidia = { driverVersion: version, installOnHost: false };
      if (nv.bool("install"))
        w.add(
          nv.where("install"),
          "imported as installOnHost: false: installing the driver on the node needs the sha256 of NVIDIA's runfile, " +
            "which the original configuration does not have",
          `to have Phoenix install it, set installOnHost: true and runfileSha256 (sha256sum of NVIDIA-Linux-x86_64-${version}.run) under nodes[0].nvidia`,
        );
    } else nv.skip("install");
    nv.unmapped("runfile_url", "the nvidia feature picks its package source (NVIDIA's repositories by default)");
    cudaVersion = nv.str("cuda_version");
    nv.unmapped("install_vllm_libs", "the vllm feature installs what vLLM needs");
  }
  r.unmapped("behavior", "Pulumi decides rollback and logging");

  const sharedMounts = new Map<string, { hostPath: string; path: string; where: string }[]>();
  const shared = r.obj("shared_volumes");
  let firewall: Reader | undefined;
  if (shared)
    for (const [key, vol] of shared.entries()) {
      if (key === "firewall") {
        firewall = vol;
        continue;
      }
      const host = vol.str("host_path");
      const mounts = vol.obj("mounts");
      if (!host || !mounts) {
        vol.skip(...Object.keys(vol.value));
        w.add(vol.where(), "not mapped: not a volume (no host_path/mounts)");
        continue;
      }
      for (const ctid of Object.keys(mounts.value)) {
        const path = mounts.str(ctid);
        if (path)
          sharedMounts.set(ctid, [...(sharedMounts.get(ctid) ?? []), { hostPath: host, path, where: mounts.where(ctid) }]);
      }
    }

  const api = r.obj("portainer_api");
  if (api) {
    api.unmapped("admin_user", "Portainer's admin user is always 'admin'");
    if (api.has("admin_password")) {
      api.skip("admin_password");
      portainer.adminPassword = { secret: "portainerAdminPassword" };
      w.add(
        api.where("admin_password"),
        "plaintext password not copied; the definition references secret 'portainerAdminPassword'",
        secretFix("portainerAdminPassword").replace(/ and write .*/, ""),
      );
    }
    api.unmapped("portainer_hostname", "DNS names are not managed here");
  }
  r.unmapped("vm_defaults", "VM defaults come from phoenix_vm_configs.json");
  if (r.has("firewall")) {
    if (firewall) r.unmapped("firewall", "the original read shared_volumes.firewall; that one is imported");
    else firewall = r.obj("firewall");
  }
  r.unmapped("step_ca", "step-ca is not a feature yet", "use a custom script feature");

  return {
    node,
    bridge,
    ...(domain ? { domain } : {}),
    mountPointBase,
    storageDataset,
    storagePath,
    ...(cudaVersion ? { cudaVersion } : {}),
    portainer,
    lxcDefaults,
    sharedMounts,
    ...(firewall ? { firewall } : {}),
  };
}

/** "recordsize=128K,compression=lz4" → { recordsize: "128K", compression: "lz4" } */
export function parseProperties(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(",")) {
    const [k, ...v] = part.split("=");
    if (k && k.trim() && v.length > 0) out[k.trim()] = v.join("=").trim();
  }
  return out;
}
