// The pure mappers from plan to provider arguments.
import { describe, expect, it } from "vitest";
import { containerArgs, ipv4Config } from "../../components/args/container";
import { downloadArgs, pciMappingArgs, providerArgs, templateFileId } from "../../components/args/host";
import { vmArgs } from "../../components/args/vm";
import type { PlannedBaseTemplate, PlannedMachine } from "../../plan/plan";

const machine = (over: Partial<PlannedMachine> = {}): PlannedMachine => ({
  kind: "guest",
  name: "web",
  path: "guests[0]",
  vmid: 200,
  type: "lxc",
  node: "pve",
  source: { kind: "create", template: "debian", storage: "local", file: "vztmpl/debian.tar.zst" },
  depth: 1,
  network: [{ name: "eth0", bridge: "vmbr0", ip: "10.0.0.5/24", gateway: "10.0.0.1", allocated: false }],
  nameservers: [],
  unprivileged: true,
  nesting: false,
  keyctl: false,
  gpus: [],
  devices: [],
  hostpci: [],
  mountPoints: [],
  datasets: [],
  features: {},
  provisioners: [],
  dependsOn: [],
  startAtBoot: false,
  lxcOptions: [],
  healthChecks: [],
  tags: [],
  protect: false,
  ...over,
});

describe("containerArgs", () => {
  it("creates from a template file with the planned network, memory and swap", () => {
    const a = containerArgs(machine({ memory: 1024, swap: 512, cores: 2, disk: { storage: "tank", size: 8 } }), {
      templateFileId: "local:vztmpl/debian.tar.zst",
      sshKeys: ["ssh-ed25519 AAAA"],
    });
    expect(a).toMatchObject({
      nodeName: "pve",
      vmId: 200,
      unprivileged: true,
      operatingSystem: { templateFileId: "local:vztmpl/debian.tar.zst" },
      cpu: { cores: 2 },
      memory: { dedicated: 1024, swap: 512 },
      disk: { datastoreId: "tank", size: 8 },
      networkInterfaces: [{ name: "eth0", bridge: "vmbr0" }],
      initialization: {
        hostname: "web",
        ipConfigs: [{ ipv4: { address: "10.0.0.5/24", gateway: "10.0.0.1" } }],
        userAccount: { keys: ["ssh-ed25519 AAAA"] },
      },
      started: true,
    });
    expect(a.clone).toBeUndefined();
  });

  it("clones a golden template as a linked clone and keeps start order", () => {
    const a = containerArgs(
      machine({
        source: { kind: "clone", template: "golden", vmid: 901, snapshot: "golden" },
        startAtBoot: true,
        bootOrder: 2,
        bootDelay: 5,
      }),
    );
    expect(a.clone).toEqual({ vmId: 901, full: false });
    expect(a.operatingSystem).toBeUndefined();
    expect(a.startup).toEqual({ order: 2, upDelay: 5 });
    expect(a.startOnBoot).toBe(true);
  });

  it("refuses a VM", () => expect(() => containerArgs(machine({ type: "vm" }))).toThrow(/not a container/));
  it("maps dhcp", () =>
    expect(ipv4Config({ name: "eth0", bridge: "vmbr0", ip: "dhcp", allocated: false })).toEqual({ ipv4: { address: "dhcp" } }));
});

describe("vmArgs", () => {
  it("fully clones the cloud-init template with user, keys, q35 and mapped GPUs", () => {
    const a = vmArgs(
      machine({
        type: "vm",
        source: { kind: "clone", template: "noble", vmid: 9000, snapshot: "" },
        cloudInit: { user: "ops", sshKeys: ["ssh-ed25519 BBBB"] },
        hostpci: [{ device: "hostpci0", mapping: "pve-gpu1", pcie: true }],
        disk: { storage: "fast-vm", size: 64 },
      }),
    );
    expect(a.clone).toEqual({ vmId: 9000, full: true, datastoreId: "fast-vm" });
    expect((a.initialization as { userAccount?: unknown }).userAccount).toEqual({ username: "ops", keys: ["ssh-ed25519 BBBB"] });
    expect(a.hostpcis).toEqual([{ device: "hostpci0", mapping: "pve-gpu1", pcie: true }]);
    expect(a.machine).toBe("q35");
    expect(a.disks).toEqual([{ interface: "virtio0", datastoreId: "fast-vm", size: 64 }]);
    expect((a.initialization as { datastoreId?: string }).datastoreId).toBe("fast-vm");
  });

  it("refuses a VM that is not a clone", () => expect(() => vmArgs(machine({ type: "vm" }))).toThrow(/must be cloned/));
});

describe("host args", () => {
  const file: PlannedBaseTemplate = {
    name: "debian",
    type: "lxc",
    node: "pve",
    source: { storage: "local", file: "vztmpl/debian.tar.zst" },
  };
  const url: PlannedBaseTemplate = {
    name: "debian",
    type: "lxc",
    node: "pve",
    source: { storage: "local", url: "https://mirror.example/debian-12.tar.zst", checksum: "sha256:abcd" },
  };

  it("names template volumes as Proxmox does", () => {
    expect(templateFileId(file)).toBe("local:vztmpl/debian.tar.zst");
    expect(templateFileId(url)).toBe("local:vztmpl/debian-12.tar.zst");
  });

  it("downloads URL templates with their checksum", () => {
    expect(downloadArgs(file)).toBeUndefined();
    expect(downloadArgs(url)).toEqual({
      nodeName: "pve",
      datastoreId: "local",
      contentType: "vztmpl",
      url: "https://mirror.example/debian-12.tar.zst",
      checksum: "abcd",
      checksumAlgorithm: "sha256",
    });
  });

  it("maps a GPU to a cluster PCI mapping, and needs its device id", () => {
    expect(pciMappingArgs({ id: "pve-gpu0", node: "pve", index: 0, pci: "0000:01:00.0", deviceId: "10de:2d04" }).maps).toEqual([
      { node: "pve", path: "0000:01:00.0", id: "10de:2d04" },
    ]);
    expect(() => pciMappingArgs({ id: "pve-gpu0", node: "pve", index: 0, pci: "0000:01:00.0" })).toThrow(/deviceId/);
  });

  it("configures the provider from the node, and needs an endpoint", () => {
    expect(
      providerArgs(
        {
          name: "pve",
          api: { endpoint: "https://127.0.0.1:8006/", insecure: true, token: { secret: "t" } },
          ssh: { host: "127.0.0.1", port: 8022, user: "root" },
          datasets: [],
          gpuMappings: [],
          apparmorProfiles: [],
        },
        { apiToken: "tok" },
      ),
    ).toEqual({
      endpoint: "https://127.0.0.1:8006/",
      insecure: true,
      apiToken: "tok",
      ssh: { username: "root", nodes: [{ name: "pve", address: "127.0.0.1", port: 8022 }] },
    });
    expect(() => providerArgs({ name: "pve", datasets: [], gpuMappings: [], apparmorProfiles: [] }, {})).toThrow(
      /no api endpoint/,
    );
  });
});
