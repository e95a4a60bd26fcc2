// What a Proxmox container config means for the lab's real LXC container: the pve config (as the API
// stores it in <state>/pve/lxc/<vmid>.conf) turned into the host's ContainerSpec. Pure: volume paths
// come from the caller.
import { containerIdMap } from "../pve/idmap";
import { mountKind, parseMountPoint, parseNet } from "../pve/lxc-config";
import { DEV_FORMAT } from "../pve/lxc-schema";
import type { ConfigFile } from "../pve/pve-config";
import { parsePropertyString } from "../pve/pve-config";
import { propertyFormat } from "../pve/schema";
import type { ContainerSpec, DeviceSpec, MountSpec, NetSpec } from "../host/lxc";

/**
 * Raw lxc.* entries the lab leaves out, and why: this kernel has no AppArmor (profiles are checked with
 * apparmor_parser on the node instead) and its device cgroup is v1, where cgroup2 device rules do not apply.
 */
export const LAB_SKIPPED_RAW = [/^lxc\.apparmor\./, /^lxc\.cgroup2\.devices\./];
/** Raw entries the spec carries itself: lxc.idmap becomes its idMap (Proxmox's map replaces the default whole). */
const SPEC_RAW = [/^lxc\.idmap$/];
const DEV = propertyFormat(DEV_FORMAT);

export function containerSpec(
  vmid: number,
  file: ConfigFile,
  volumePath: (volid: string) => string,
  aptProxy?: string,
  dockerDir?: string,
): ContainerSpec {
  const c = file.config;
  if (!c.rootfs) throw new Error(`CT ${vmid} has no rootfs`);
  const rootfs = parseMountPoint("rootfs", c.rootfs).volume!;
  const nets: NetSpec[] = Object.keys(c)
    .filter((k) => /^net\d+$/.test(k))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)))
    .map((k) => {
      const n = parseNet(c[k]!);
      return {
        name: n.name ?? `eth${k.slice(3)}`,
        bridge: n.bridge ?? "vmbr0",
        hwaddr: n.hwaddr ?? "",
        ...(n.ip ? { ip: n.ip } : {}),
        ...(n.gw ? { gw: n.gw } : {}),
      };
    });
  const mounts: MountSpec[] = Object.keys(c)
    .filter((k) => /^mp\d+$/.test(k))
    .sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)))
    .map((k) => {
      const mp = parseMountPoint(k, c[k]!);
      const volume = mp.volume!;
      return {
        source: mountKind(volume) === "volume" ? volumePath(volume) : volume,
        path: mp.mp!,
        ...(mp.ro === "1" ? { readOnly: true } : {}),
      };
    });
  const devices: DeviceSpec[] = Object.keys(c)
    .filter((k) => /^dev\d+$/.test(k))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)))
    .map((k) => {
      const d = parsePropertyString(c[k]!, DEV);
      if (!d.path) throw new Error(`Path is not defined for passthrough device ${k}`);
      return {
        path: d.path,
        ...(d.uid !== undefined ? { uid: Number(d.uid) } : {}),
        ...(d.gid !== undefined ? { gid: Number(d.gid) } : {}),
        ...(d.mode !== undefined ? { mode: d.mode } : {}),
        ...(d["deny-write"] === "1" ? { denyWrite: true } : {}),
      };
    });
  const idMap = containerIdMap(file);
  const features = c.features
    ? parsePropertyString(c.features, { nesting: {}, keyctl: {}, fuse: {}, mount: {}, mknod: {}, force_rw_sys: {} })
    : {};
  return {
    vmid,
    hostname: c.hostname ?? `CT${vmid}`,
    rootfs: volumePath(rootfs),
    memoryMiB: Number(c.memory ?? 512),
    ...(c.cores ? { cores: Number(c.cores) } : {}),
    nets,
    ...(c.nameserver ? { nameservers: c.nameserver.split(/[\s,;]+/).filter(Boolean) } : {}),
    ...(c.searchdomain ? { searchDomain: c.searchdomain } : {}),
    mounts,
    devices,
    nesting: features.nesting === "1",
    ...(idMap ? { idMap, keyctl: features.keyctl === "1" } : {}),
    rawLxc: file.lxc.filter(([k]) => ![...LAB_SKIPPED_RAW, ...SPEC_RAW].some((re) => re.test(k))).map(([k, v]) => `${k}: ${v}`),
    ...(aptProxy ? { aptProxy } : {}),
    ...(dockerDir && features.nesting === "1" ? { dockerDir } : {}),
  };
}
