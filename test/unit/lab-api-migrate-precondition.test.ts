// The migration preconditions the lab answers on GET /nodes/{node}/{qemu,lxc}/{vmid}/migrate, as qemu-server's and
// pve-container's migrate_vm_precondition compute them: running state, the nodes a storage, a PCI mapping or an HA
// resource-affinity rule keeps the guest off, a VM's local disks with their sizes and flags, the devices that block
// it, Proxmox's refusal of a guest the node does not have, and the fields PVE 8.4 and 9 differ in.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LabClient } from "../../lab/pve/client";
import { MemoryBackend, type MemoryBackendOptions } from "../../lab/pve/memory-backend";
import { TEMPLATE, type TwoNodeLab, startTwoNodeLab } from "../support/lab-cluster-api";

const GIB = 1024 ** 3;
const ISO = "local:iso/debian-12.iso";

/** Every node has local, tank and the shared nas; pve1 alone has `fast`. */
const backend = (pool: string, extra: boolean, guests: MemoryBackendOptions["guests"] = []) =>
  new MemoryBackend({
    storages: [
      { id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl", "iso", "backup"] },
      { id: "tank", type: "zfspool", pool: `${pool}/guests`, content: ["rootdir", "images"] },
      { id: "nas", type: "dir", path: "/mnt/nas", content: ["images"], shared: true },
      ...(extra ? [{ id: "fast", type: "zfspool", pool: `${pool}/fast`, content: ["images"] }] : []),
    ],
    files: [
      { volid: TEMPLATE, size: 120_000_000 },
      { volid: ISO, size: 600_000_000 },
    ],
    guests,
  });

const VM300 = {
  name: "vm300",
  memory: "1024",
  virtio0: "tank:vm-300-disk-0,size=4G",
  scsi1: "fast:vm-300-disk-1,size=512M",
  sata0: "nas:300/vm-300-disk-0.qcow2,size=2G",
  ide2: `${ISO},media=cdrom`,
  ide0: "none,media=cdrom",
  unused0: "tank:vm-300-disk-2",
  hostpci0: "0000:01:00.0,pcie=1",
  serial0: "socket",
  serial1: "/dev/ttyS0",
};

type Result = Record<string, unknown> & { local_disks: Record<string, unknown>[] };

let lab: TwoNodeLab;
let pve: LabClient;
let one: MemoryBackend;

const precondition = (type: string, vmid: number, node = "pve1") =>
  pve.data<Result>("GET", `nodes/${node}/${type}/${vmid}/migrate`);
const byVolid = (r: Result) => Object.fromEntries(r.local_disks.map((d) => [d.volid, d]));

beforeAll(async () => {
  one = backend("tank1", true, [
    { type: "qemu", vmid: 300, config: VM300 },
    {
      type: "qemu",
      vmid: 301,
      config: { name: "gpu", memory: "1024", scsi0: "tank:vm-301-disk-0,size=8G", hostpci0: "mapping=gpu0" },
    },
  ]);
  lab = await startTwoNodeLab("phoenix-lab-precondition-", one, backend("tank2", false));
  pve = lab.pve;
  await one.startGuest("qemu", 300);
  const upid = await pve.data<string>("POST", "nodes/pve1/lxc", {
    vmid: 200,
    ostemplate: TEMPLATE,
    hostname: "ct200",
    rootfs: "tank:2",
    start: 1,
  });
  expect((await pve.waitTask(upid)).exitstatus).toBe("OK");
});

afterAll(async () => {
  await lab?.close();
});

describe("a VM's preconditions", () => {
  it("reports a running VM with its local disks, sizes in bytes and flags, and the shared or empty drives left out", async () => {
    const r = await precondition("qemu", 300);
    expect(r.running).toBe(1);
    const disks = byVolid(r);
    expect(Object.keys(disks).sort()).toEqual(["fast:vm-300-disk-1", ISO, "tank:vm-300-disk-0", "tank:vm-300-disk-2"]);
    expect(disks["tank:vm-300-disk-0"]).toMatchObject({
      size: 4 * GIB,
      cdrom: 0,
      is_unused: 0,
      is_attached: 1,
      drivename: "virtio0",
    });
    expect(disks["fast:vm-300-disk-1"]).toMatchObject({ size: 512 * 1024 ** 2, cdrom: 0, is_unused: 0 });
    expect(disks[ISO]).toMatchObject({ cdrom: 1, is_unused: 0, drivename: "ide2" });
    // an unused volume carries no size in the config, and Proxmox reports none
    expect(disks["tank:vm-300-disk-2"]).toMatchObject({ cdrom: 0, is_unused: 1, is_attached: 0 });
    expect(disks["tank:vm-300-disk-2"]).not.toHaveProperty("size");
  });

  it("lists the node lacking a storage of the VM's drives as not allowed, with that storage", async () => {
    const r = await precondition("qemu", 300);
    expect(r.allowed_nodes).toEqual([]);
    expect(r.not_allowed_nodes).toEqual({ pve2: { unavailable_storages: ["fast"] } });
  });

  it("lists passed-through devices and serial ports, but not a socket, in local_resources", async () => {
    const r = await precondition("qemu", 300);
    expect(r.local_resources).toEqual(["hostpci0", "serial1"]);
    expect(r["mapped-resources"]).toEqual([]);
    expect(r["mapped-resource-info"]).toEqual({});
  });

  it("reports a mapped PCI device, the node its mapping misses, and blocks it only while the VM runs", async () => {
    const map = (node: string) => `node=${node},path=0000:01:00.0,id=10de:2204`;
    await pve.data("POST", "cluster/mapping/pci", { id: "gpu0", map: [map("pve1")] });
    let r = await precondition("qemu", 301);
    expect(r).toMatchObject({ running: 0, allowed_nodes: [], local_resources: [], "mapped-resources": ["hostpci0"] });
    expect(r["mapped-resource-info"]).toEqual({ hostpci0: { name: "gpu0" } });
    expect(r.not_allowed_nodes).toEqual({ pve2: { "unavailable-resources": ["hostpci0"] } });

    await pve.data("PUT", "cluster/mapping/pci/gpu0", { map: [map("pve1"), map("pve2")] });
    r = await precondition("qemu", 301);
    // an allowed node stays a key of not_allowed_nodes, with nothing in it, as Proxmox's storage check leaves it
    expect([r.allowed_nodes, r.not_allowed_nodes]).toEqual([["pve2"], { pve2: {} }]);
    await one.startGuest("qemu", 301);
    expect((await precondition("qemu", 301)).local_resources).toEqual(["hostpci0"]);

    await pve.data("PUT", "cluster/mapping/pci/gpu0", { "live-migration-capable": 1 });
    r = await precondition("qemu", 301);
    expect([r.local_resources, r["mapped-resource-info"]]).toEqual([[], { hostpci0: { name: "gpu0", "live-migration": 1 } }]);
    await one.stopGuest("qemu", 301);
  });

  it("says the lab has no dbus-vmstate helper (PVE 9's field) and accepts a target, which Proxmox ignores too", async () => {
    const r = await pve.data<Result>("GET", "nodes/pve1/qemu/301/migrate", { target: "pve2" });
    expect(r["has-dbus-vmstate"]).toBe(0);
    expect(r).not.toHaveProperty("dependent-ha-resources");
  });

  it("marks a cloud-init drive on PVE 9", async () => {
    await one.writeConfig("qemu", 302, {
      config: { name: "ci", ide2: "tank:vm-302-cloudinit,media=cdrom", scsi0: "tank:vm-302-disk-0,size=1G" },
      lxc: [],
      sections: { before: { scsi0: "tank:vm-302-disk-1,size=1G" } },
    });
    const disks = byVolid(await precondition("qemu", 302));
    expect(disks["tank:vm-302-cloudinit"]).toMatchObject({ cdrom: 1, is_cloudinit: 1 });
    expect(disks["tank:vm-302-disk-0"]).toMatchObject({ is_cloudinit: 0, is_attached: 1 });
    // a volume only a snapshot refers to
    expect(disks["tank:vm-302-disk-1"]).toMatchObject({ is_attached: 0, referenced_in_snapshot: { before: 1 } });
  });
});

describe("refusals", () => {
  it("refuses a guest the node does not have as its other per-guest GETs do", async () => {
    const missing = await pve.call("GET", "nodes/pve1/qemu/999/migrate");
    expect([missing.status, missing.statusText]).toEqual([
      500,
      "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist",
    ]);
    const config = await pve.call("GET", "nodes/pve1/qemu/999/config");
    expect(missing.statusText).toBe(config.statusText);
    // the container 200 is no VM, and the VM 300 is not on pve2
    expect((await pve.call("GET", "nodes/pve1/qemu/200/migrate")).statusText).toBe(
      "Configuration file 'nodes/pve1/qemu-server/200.conf' does not exist",
    );
    expect((await pve.call("GET", "nodes/pve2/qemu/300/migrate")).statusText).toBe(
      "Configuration file 'nodes/pve2/qemu-server/300.conf' does not exist",
    );
    expect((await pve.call("GET", "nodes/pve1/lxc/300/migrate")).statusText).toBe(
      "Configuration file 'nodes/pve1/lxc/300.conf' does not exist",
    );
  });

  it("refuses a locked VM, and fails as Proxmox does on a mapping no node has (the lab keeps no USB mappings)", async () => {
    const file = (config: Record<string, string>) => ({ config: { name: "x", ...config }, lxc: [], sections: {} });
    await one.writeConfig("qemu", 303, file({ lock: "backup" }));
    expect((await pve.call("GET", "nodes/pve1/qemu/303/migrate")).statusText).toBe("VM is locked (backup)");
    await one.writeConfig("qemu", 303, file({ usb0: "mapping=stick" }));
    expect((await pve.call("GET", "nodes/pve1/qemu/303/migrate")).statusText).toBe(
      "Can't use an undefined value as an ARRAY reference at /usr/share/perl5/PVE/QemuMigrate/Helpers.pm line 63.",
    );
    await one.deleteConfig("qemu", 303);
  });
});

describe("a container's preconditions and HA", () => {
  it("reports a running container and the other node as allowed", async () => {
    expect(await precondition("lxc", 200)).toEqual({ running: 1, "allowed-nodes": ["pve2"], "not-allowed-nodes": {} });
  });

  it("keeps a guest off the node of a resource in negative affinity, and names those in positive affinity", async () => {
    const upid = await pve.data<string>("POST", "nodes/pve2/lxc", { vmid: 210, ostemplate: TEMPLATE, rootfs: "tank:2" });
    expect((await pve.waitTask(upid)).exitstatus).toBe("OK");
    for (const sid of ["ct:200", "ct:210", "vm:301"]) await pve.data("POST", "cluster/ha/resources", { sid });
    await pve.data("POST", "cluster/ha/rules", {
      rule: "apart",
      type: "resource-affinity",
      affinity: "negative",
      resources: "ct:200,ct:210",
    });
    await pve.data("POST", "cluster/ha/rules", {
      rule: "together",
      type: "resource-affinity",
      affinity: "positive",
      resources: "ct:200,vm:301",
    });
    const blocking = { "blocking-ha-resources": [{ sid: "ct:210", cause: "resource-affinity" }] };
    expect(await precondition("lxc", 200)).toEqual({
      running: 1,
      "allowed-nodes": [],
      "not-allowed-nodes": { pve2: blocking },
      "dependent-ha-resources": ["vm:301"],
    });
    // vm:301 is kept apart from ct:210 too, through its positive affinity with ct:200 (an implicit negative rule)
    const vm = await precondition("qemu", 301);
    expect(vm["dependent-ha-resources"]).toEqual(["ct:200"]);
    expect(vm.not_allowed_nodes).toEqual({ pve2: blocking });
    // a disabled rule keeps no one apart
    await pve.data("PUT", "cluster/ha/rules/apart", { type: "resource-affinity", disable: 1 });
    expect((await precondition("lxc", 200))["allowed-nodes"]).toEqual(["pve2"]);
  });
});

describe("an 8.4 lab", () => {
  let old: TwoNodeLab;
  let client: LabClient;

  beforeAll(async () => {
    const pve1 = backend("tank1", true, [
      { type: "qemu", vmid: 300, config: { ...VM300, ide2: "tank:vm-300-cloudinit,media=cdrom" } },
      { type: "lxc", vmid: 200, config: { hostname: "ct200", rootfs: "tank:subvol-200-disk-0,size=2G" } },
    ]);
    old = await startTwoNodeLab("phoenix-lab-precondition-8-", pve1, backend("tank2", true), {
      version: "8.4.1",
      release: "8.4",
      repoid: "2a5fa54a8503f96d",
    });
    client = old.pve;
  });

  afterAll(async () => {
    await old?.close();
  });

  it("answers a VM without PVE 9's fields, and a container's call as a route it does not serve", async () => {
    const r = await client.data<Result>("GET", "nodes/pve1/qemu/300/migrate");
    expect(Object.keys(r).sort()).toEqual([
      "allowed_nodes",
      "local_disks",
      "local_resources",
      "mapped-resource-info",
      "mapped-resources",
      "not_allowed_nodes",
      "running",
    ]);
    expect([r.allowed_nodes, r.not_allowed_nodes]).toEqual([["pve2"], { pve2: {} }]);
    // is_cloudinit came with qemu-server 9
    expect(byVolid(r)["tank:vm-300-cloudinit"]).toMatchObject({ cdrom: 1 });
    expect(byVolid(r)["tank:vm-300-cloudinit"]).not.toHaveProperty("is_cloudinit");
    const ct = await client.call("GET", "nodes/pve1/lxc/200/migrate");
    expect([ct.status, ct.statusText]).toEqual([501, "Method 'GET /nodes/pve1/lxc/200/migrate' not implemented"]);
  });
});
