// How the lab turns a stored Proxmox container config into its real LXC container: plain data.
import { describe, expect, it } from "vitest";
import { parseConfigFile } from "../../lab/pve/pve-config";
import { lxcConfig } from "../../lab/host/lxc";
import { containerSpec } from "../../lab/node/container-spec";

const paths: Record<string, string> = {
  "tank-lxc:subvol-200-disk-0": "/tank/lxc-disks/subvol-200-disk-0",
  "tank-lxc:basevol-901-disk-0/subvol-210-disk-0": "/tank/lxc-disks/subvol-210-disk-0",
  "tank-lxc:subvol-210-disk-1": "/tank/lxc-disks/subvol-210-disk-1",
};
const volumePath = (v: string) => {
  const p = paths[v];
  if (!p) throw new Error(`unexpected volume ${v}`);
  return p;
};

describe("containerSpec", () => {
  it("maps hostname, resources, interfaces, DNS, mounts, devices and nesting", () => {
    const file = parseConfigFile(
      [
        "arch: amd64",
        "cores: 2",
        "features: keyctl=1,nesting=1",
        "hostname: vllm-a",
        "memory: 2048",
        "mp0: /tank/shared-data,mp=/data,ro=1",
        "mp1: tank-lxc:subvol-210-disk-1,mp=/models,size=8G",
        "nameserver: 10.100.0.1 10.100.0.2",
        "net0: name=eth0,bridge=vmbr0,gw=10.100.0.1,hwaddr=BC:24:11:00:00:01,ip=10.100.0.21/24,type=veth",
        "net1: name=eth1,bridge=vmbr1,hwaddr=BC:24:11:00:00:02,ip=dhcp,type=veth",
        "dev0: /dev/nvidia0,mode=0666",
        "rootfs: tank-lxc:basevol-901-disk-0/subvol-210-disk-0,size=4G",
        "searchdomain: lab.internal",
        "lxc.apparmor.profile: lxc-phoenix-gpu",
        "lxc.cgroup2.devices.allow: c 195:* rwm",
        "lxc.mount.entry: /dev/nvidiactl dev/nvidiactl none bind,optional,create=file",
        "",
      ].join("\n"),
    );
    const spec = containerSpec(210, file, volumePath, "http://10.100.0.1:3142");
    expect(spec).toEqual({
      vmid: 210,
      hostname: "vllm-a",
      rootfs: "/tank/lxc-disks/subvol-210-disk-0",
      memoryMiB: 2048,
      cores: 2,
      nets: [
        { name: "eth0", bridge: "vmbr0", hwaddr: "BC:24:11:00:00:01", ip: "10.100.0.21/24", gw: "10.100.0.1" },
        { name: "eth1", bridge: "vmbr1", hwaddr: "BC:24:11:00:00:02", ip: "dhcp" },
      ],
      nameservers: ["10.100.0.1", "10.100.0.2"],
      searchDomain: "lab.internal",
      mounts: [
        { source: "/tank/shared-data", path: "/data", readOnly: true },
        { source: "/tank/lxc-disks/subvol-210-disk-1", path: "/models" },
      ],
      devices: [{ path: "/dev/nvidia0", mode: "0666" }],
      nesting: true,
      // AppArmor and cgroup2 device rules cannot apply on this kernel; the mount entry can.
      rawLxc: ["lxc.mount.entry: /dev/nvidiactl dev/nvidiactl none bind,optional,create=file"],
      aptProxy: "http://10.100.0.1:3142",
    });
    const text = lxcConfig(spec);
    expect(text).toContain("lxc.mount.entry = /dev/nvidiactl dev/nvidiactl none bind,optional,create=file");
    expect(text).toContain("lxc.cgroup.memory.limit_in_bytes = 2147483648");
    expect(text).toContain("lxc.mount.auto = proc:mixed sys:mixed cgroup:rw");
  });

  it("gives a nesting container's Docker a directory on the host's disk, and its runtime the devices it grants", () => {
    const file = parseConfigFile("features: nesting=1\nhostname: d\nrootfs: tank-lxc:subvol-200-disk-0,size=4G\n");
    const text = lxcConfig(containerSpec(200, file, volumePath, undefined, "/state/docker/200"));
    expect(text).toContain("lxc.mount.entry = /state/docker/200 var/lib/docker none bind,create=dir 0 0");
    expect(text).toContain("lxc.cgroup.devices.allow = a");
    const plain = lxcConfig(
      containerSpec(
        200,
        parseConfigFile("hostname: d\nrootfs: tank-lxc:subvol-200-disk-0,size=4G\n"),
        volumePath,
        undefined,
        "/state/docker/200",
      ),
    );
    expect(plain).not.toContain("var/lib/docker");
    expect(plain).not.toContain("devices.allow");
  });

  it("defaults memory to Proxmox's 512 MiB and needs a rootfs", () => {
    const spec = containerSpec(200, parseConfigFile("hostname: p\nrootfs: tank-lxc:subvol-200-disk-0,size=4G\n"), volumePath);
    expect(spec.memoryMiB).toBe(512);
    expect(spec.nesting).toBe(false);
    expect(spec.nets).toEqual([]);
    expect(() => containerSpec(201, parseConfigFile("hostname: q\n"), volumePath)).toThrow("CT 201 has no rootfs");
  });
});
