// Proxmox's text encodings in the lab API, pure: property strings, sizes, config files, parameter
// checks, volume names. Expected strings are Proxmox's own (pct.conf / qm.conf as written on a node).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigStore } from "../../lab/pve/config-store";
import { MP, NET, ROOTFS, normalizeNet } from "../../lab/pve/lxc-config";
import { LXC_CREATE, LXC_NUMBERED } from "../../lab/pve/lxc-schema";
import {
  canonicalDescription,
  decodeText,
  encodeText,
  formatSize,
  normalizeTags,
  parseConfigFile,
  parsePropertyString,
  parseSize,
  printConfigFile,
  printPropertyString,
  splitList,
} from "../../lab/pve/pve-config";
import { parseQemuNet, printQemuNet } from "../../lab/pve/qemu-schema";
import { isIPv6, validateParams } from "../../lab/pve/schema";
import { baseName, linkedCloneName, newDiskName, parseNewVolumeSpec } from "../../lab/pve/volumes";

describe("sizes", () => {
  it("formats bytes in the largest unit that divides evenly", () => {
    expect(formatSize(4 * 1024 ** 3)).toBe("4G");
    expect(formatSize(3584 * 1024 ** 2)).toBe("3584M");
    expect(formatSize(1024 ** 4)).toBe("1T");
    expect(formatSize(512)).toBe("512");
    expect(formatSize(1536)).toBe("1536");
  });
  it("parses Proxmox size strings to bytes and refuses others", () => {
    expect(parseSize("8G")).toBe(8 * 1024 ** 3);
    expect(parseSize("1.5G")).toBe(1.5 * 1024 ** 3);
    expect(parseSize("8589934592")).toBe(8589934592);
    expect(parseSize("8GB")).toBeUndefined();
    expect(parseSize("-1G")).toBeUndefined();
  });
});

describe("property strings", () => {
  it("prints a container network the way pct.conf stores it: name first, then sorted keys", () => {
    const net = parsePropertyString("bridge=vmbr0,name=eth0,ip=10.0.0.5/24,gw=10.0.0.1,hwaddr=BC:24:11:00:00:01,type=veth", NET);
    expect(printPropertyString(net, NET)).toBe(
      "name=eth0,bridge=vmbr0,gw=10.0.0.1,hwaddr=BC:24:11:00:00:01,ip=10.0.0.5/24,type=veth",
    );
  });
  it("gives a network without MAC one from the generator and adds type=veth", () => {
    expect(normalizeNet("name=eth0,bridge=vmbr0,ip=dhcp", () => "BC:24:11:12:34:56")).toBe(
      "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:12:34:56,ip=dhcp,type=veth",
    );
    expect(normalizeNet("name=eth0,hwaddr=BC:24:11:AA:BB:CC", () => "unused")).toContain("hwaddr=BC:24:11:AA:BB:CC");
  });
  it("prints mount points volume first, mp next, sizes in units", () => {
    const rootfs = parsePropertyString("volume=tank-lxc:subvol-200-disk-0,size=4294967296,acl=0", ROOTFS);
    expect(rootfs.volume).toBe("tank-lxc:subvol-200-disk-0");
    expect(printPropertyString(rootfs, ROOTFS)).toBe("tank-lxc:subvol-200-disk-0,acl=0,size=4G");
    const mp = parsePropertyString("ro=1,mp=/models,volume=/mnt/models", MP);
    expect(printPropertyString(mp, MP)).toBe("/mnt/models,mp=/models,ro=1");
  });
  it("refuses unknown keys, duplicates, a second bare value and a missing required key", () => {
    expect(() => parsePropertyString("name=eth0,colour=blue", NET)).toThrow(/not defined in schema/);
    expect(() => parsePropertyString("name=eth0,name=eth1", NET)).toThrow(/duplicate key/);
    expect(() => parsePropertyString("tank:4,tank:8", ROOTFS)).toThrow(/already set/);
    expect(() => parsePropertyString("bridge=vmbr0", NET)).toThrow(/not optional/);
    expect(() => parsePropertyString("/mnt/x,ro=1", MP)).toThrow(/not optional/);
  });
  it("reads and writes VM network devices in the model=MAC form", () => {
    const net = parseQemuNet("model=virtio,bridge=vmbr0,firewall=0,macaddr=BC:24:11:00:00:02");
    expect(net).toEqual({ model: "virtio", bridge: "vmbr0", firewall: "0", macaddr: "BC:24:11:00:00:02" });
    expect(printQemuNet(net)).toBe("virtio=BC:24:11:00:00:02,bridge=vmbr0,firewall=0");
    expect(parseQemuNet("virtio=BC:24:11:00:00:02,bridge=vmbr0")).toEqual({
      model: "virtio",
      macaddr: "BC:24:11:00:00:02",
      bridge: "vmbr0",
    });
    expect(() => parseQemuNet("bridge=vmbr0")).toThrow(/not optional/);
  });
});

describe("config files", () => {
  const text = [
    "#GPU host%3A shared",
    "#second line",
    "arch: amd64",
    "cores: 2",
    "hostname: ai",
    "lxc.idmap: u 0 100000 65536",
    "lxc.idmap: g 0 100000 65536",
    "",
    "[golden]",
    "#snap",
    "cores: 1",
    "",
  ].join("\n");

  it("parses the description from comments, keys, raw lxc.* entries and sections", () => {
    const f = parseConfigFile(text);
    expect(f.config).toEqual({ description: "GPU host: shared\nsecond line\n", arch: "amd64", cores: "2", hostname: "ai" });
    expect(f.lxc).toEqual([
      ["lxc.idmap", "u 0 100000 65536"],
      ["lxc.idmap", "g 0 100000 65536"],
    ]);
    expect(f.sections.golden).toEqual({ description: "snap\n", cores: "1" });
  });
  it("writes what it read, byte for byte", () => {
    expect(printConfigFile(parseConfigFile(text))).toBe(text);
  });
  it("escapes control characters, ':' and non-ASCII in comments and reads them back", () => {
    expect(encodeText("a: b\tc é")).toBe("a%3A b%09c %C3%A9");
    expect(decodeText(encodeText("a: b\tc é"))).toBe("a: b\tc é");
  });
  it("sorts keys and refuses values with newlines", () => {
    expect(printConfigFile({ config: { memory: "512", arch: "amd64" }, lxc: [], sections: {} })).toBe(
      "arch: amd64\nmemory: 512\n",
    );
    expect(() => printConfigFile({ config: { hostname: "a\nb" }, lxc: [], sections: {} })).toThrow(/newline/);
  });
  it("ends every description line with a newline, as Proxmox returns it", () => {
    expect(canonicalDescription("golden docker")).toBe("golden docker\n");
    expect(canonicalDescription("a\r\nb\n\n")).toBe("a\nb\n");
  });
});

describe("lists and tags", () => {
  it("splits on separators or on NULs of repeated form fields", () => {
    expect(splitList("net1,net2;net3 net4")).toEqual(["net1", "net2", "net3", "net4"]);
    expect(splitList("a b\0c")).toEqual(["a b", "c"]);
  });
  it("stores tags sorted, de-duplicated, ;-separated", () => {
    expect(normalizeTags("web,ai;web db")).toBe("ai;db;web");
  });
});

describe("parameter checks (Proxmox's schema rules)", () => {
  const create = (params: Record<string, string>) =>
    validateParams(LXC_CREATE, { node: "pve", vmid: "200", ostemplate: "local:vztmpl/x.tar.zst", ...params }, LXC_NUMBERED);

  it("accepts a well-formed create", () => {
    const r = create({
      hostname: "ai-01",
      memory: "1024",
      net0: "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1",
      rootfs: "tank-lxc:8",
      onboot: "true",
    });
    expect(r.errors).toEqual({});
    expect(r.values.onboot).toBe("1");
  });
  it("keeps vmids within 100..999999999", () => {
    expect(create({ vmid: "99" }).errors.vmid).toBe("value must have a minimum value of 100");
    expect(create({ vmid: "1000000000" }).errors.vmid).toBe("value must have a maximum value of 999999999");
    expect(create({ vmid: "abc" }).errors.vmid).toBe("type check ('integer') failed - got 'abc'");
  });
  it("checks hostnames, integers, addresses and mount point strings", () => {
    expect(create({ hostname: "bad_name" }).errors.hostname).toMatch(/valid DNS name/);
    expect(create({ memory: "1G" }).errors.memory).toBe("type check ('integer') failed - got '1G'");
    expect(create({ memory: "8" }).errors.memory).toBe("value must have a minimum value of 16");
    expect(create({ net0: "name=eth0,ip=10.0.0.500/24" }).errors.net0).toMatch(/net0\.ip: .*ipv4 network configuration/);
    expect(create({ net0: "name=eth0,hwaddr=01:00:00:00:00:01" }).errors.net0).toMatch(/unicast MAC/);
    expect(create({ net33: "name=eth0" }).errors.net33).toMatch(/not defined in schema/);
    expect(create({ rootfs: "tank lxc" }).errors.rootfs).toMatch(/mount point volume/);
    expect(create({ mp0: "/mnt/models,mp=models" }).errors.mp0).toMatch(/must be absolute/);
    expect(create({ dev0: "/dev/nvidia0,mode=0999" }).errors.dev0).toMatch(/dev0\.mode/);
    expect(create({ features: "nesting=1,docker=1" }).errors.features).toMatch(/not defined in schema/);
  });
  it("refuses unknown parameters and reports missing required ones", () => {
    const r = validateParams(LXC_CREATE, { node: "pve", vmid: "200", colour: "blue" }, LXC_NUMBERED);
    expect(r.errors.colour).toBe("property is not defined in schema and the schema does not allow additional properties");
    expect(r.errors.ostemplate).toBe("property is missing and it is not optional");
  });
  it("knows IPv6 addresses from near misses", () => {
    expect(isIPv6("fd00::1")).toBe(true);
    expect(isIPv6("2001:db8:0:0:0:0:0:1")).toBe(true);
    expect(isIPv6("::ffff:10.0.0.1")).toBe(true);
    expect(isIPv6("fd00:::1")).toBe(false);
    expect(isIPv6("10.0.0.1")).toBe(false);
  });
});

describe("volume names", () => {
  it("names container and VM volumes per storage type, first free index", () => {
    expect(newDiskName("zfspool", 200, "rootdir", ["subvol-200-disk-0", "vm-300-disk-0"]).volname).toBe("subvol-200-disk-1");
    expect(newDiskName("zfspool", 300, "images", []).volname).toBe("vm-300-disk-0");
    expect(newDiskName("dir", 200, "rootdir", []).volname).toBe("200/vm-200-disk-0.raw");
    expect(newDiskName("lvmthin", 200, "images", ["vm-200-disk-0"]).volname).toBe("vm-200-disk-1");
  });
  it("renames template volumes and names linked clones after their base", () => {
    expect(baseName("zfspool", "subvol-901-disk-0")).toBe("basevol-901-disk-0");
    expect(baseName("lvmthin", "vm-9000-disk-0")).toBe("base-9000-disk-0");
    expect(linkedCloneName("zfspool", "basevol-901-disk-0", "subvol-200-disk-0")).toBe("basevol-901-disk-0/subvol-200-disk-0");
    expect(linkedCloneName("lvmthin", "base-9000-disk-0", "vm-300-disk-0")).toBe("vm-300-disk-0");
  });
  it("reads storage:size requests for new volumes in GiB", () => {
    expect(parseNewVolumeSpec("tank-lxc:8")).toEqual({ storage: "tank-lxc", bytes: 8 * 1024 ** 3 });
    expect(parseNewVolumeSpec("tank-lxc:subvol-200-disk-0")).toBeUndefined();
  });
});

describe("config files on disk", () => {
  it("stores configs where the node's pct reads them, in Proxmox's format, and lists them", () => {
    const root = mkdtempSync(join(tmpdir(), "phoenix-lab-conf-"));
    try {
      const store = new ConfigStore(root);
      store.write("lxc", 200, { config: { hostname: "ai", description: "GPU: yes\n", cores: "2" }, lxc: [], sections: {} });
      store.write("qemu", 300, { config: { name: "vm1" }, lxc: [], sections: {} });
      expect(readFileSync(join(root, "lxc", "200.conf"), "utf8")).toBe("#GPU%3A yes\ncores: 2\nhostname: ai\n");
      expect(store.read("lxc", 200)!.config).toEqual({ hostname: "ai", description: "GPU: yes\n", cores: "2" });
      expect(store.list()).toEqual([
        { vmid: 200, type: "lxc" },
        { vmid: 300, type: "qemu" },
      ]);
      store.delete("lxc", 200);
      expect(store.read("lxc", 200)).toBeUndefined();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
