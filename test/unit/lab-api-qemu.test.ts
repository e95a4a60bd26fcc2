// VMs (API objects cloned from a VM template), file downloads and PCI hardware mappings through the
// lab's Proxmox API, as the proxmoxve provider uses them for VmLegacy, download.FileLegacy and
// hardware.mapping.PciLegacy.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabClient } from "../../lab/pve/client";
import { MemoryBackend } from "../../lab/pve/memory-backend";
import { type LabApi, startLabApi } from "../../lab/api/server";

const NODE = "pve";
const TOKEN = "root@pam!phoenix=7d3e5a1b-2c4f-4a6b-8d9e-0f1a2b3c4d5e";
const TEMPLATE_VM = 9000;
const VM = 300;
const ALPINE = "alpine data for the lab";
const ALPINE_URL = "https://dl-cdn.example/alpine-3.19-default_amd64.tar.xz";

let dir: string;
let api: LabApi;
let backend: MemoryBackend;
let pve: LabClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "phoenix-lab-api-qemu-"));
  backend = new MemoryBackend({
    storages: [
      { id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl", "iso", "import"] },
      { id: "local-lvm", type: "lvmthin", content: ["rootdir", "images"] },
      { id: "tank-lxc", type: "zfspool", pool: "tank/lxc-disks", content: ["rootdir", "images"] },
    ],
    urls: { [ALPINE_URL]: { data: ALPINE } },
    guests: [
      {
        type: "qemu",
        vmid: TEMPLATE_VM,
        config: {
          name: "ubuntu-cloud",
          memory: "2048",
          cores: "2",
          ostype: "l26",
          scsihw: "virtio-scsi-pci",
          virtio0: "local-lvm:base-9000-disk-0,size=3584M",
          ide2: "local-lvm:vm-9000-cloudinit,media=cdrom,size=4M",
          net0: "virtio=BC:24:11:00:90:00,bridge=vmbr0",
          boot: "order=virtio0",
          agent: "1",
          template: "1",
          smbios1: "uuid=6f0b8d28-7e0a-4a57-9c1e-6a1fbaa0a9e1",
        },
      },
    ],
  });
  api = await startLabApi({
    stateDir: dir,
    port: 0,
    node: NODE,
    tokens: [{ id: TOKEN.split("=")[0]!, secret: TOKEN.split("=")[1]! }],
    backend,
  });
  pve = new LabClient({ url: api.url, token: TOKEN });
});

afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

const vmConfig = (vmid: number) => pve.data<Record<string, unknown>>("GET", `nodes/${NODE}/qemu/${vmid}/config`);
const vmStatus = (vmid: number) => pve.data<Record<string, unknown>>("GET", `nodes/${NODE}/qemu/${vmid}/status/current`);

describe("a VM cloned from a VM template", () => {
  it("clones fully onto a storage: new MAC and SMBIOS uuid, its own disk and cloud-init drive", async () => {
    const upid = await pve.data<string>("POST", `nodes/${NODE}/qemu/${TEMPLATE_VM}/clone`, {
      newid: VM,
      full: 1,
      name: "vm1",
      description: "a vm",
      storage: "local-lvm",
    });
    expect(upid.split(":")[5]).toBe("qmclone");
    expect((await pve.waitTask(upid)).exitstatus).toBe("OK");
    const c = await vmConfig(VM);
    expect(c).toMatchObject({
      name: "vm1",
      description: "a vm",
      cores: 2,
      memory: "2048",
      virtio0: "local-lvm:vm-300-disk-0,size=3584M",
      ide2: "local-lvm:vm-300-cloudinit,media=cdrom,size=4M",
    });
    expect(c.net0).toMatch(/^virtio=BC:24:11(:[0-9A-F]{2}){3},bridge=vmbr0$/);
    expect(c.net0).not.toBe("virtio=BC:24:11:00:90:00,bridge=vmbr0");
    expect(c.smbios1).toMatch(/^uuid=[0-9a-f-]{36}$/);
    expect(c.smbios1).not.toBe("uuid=6f0b8d28-7e0a-4a57-9c1e-6a1fbaa0a9e1");
    expect(c).not.toHaveProperty("template");
  });

  it("takes the provider's follow-up config: cloud-init drive re-made, password hidden, keys url-encoded", async () => {
    await pve.data("PUT", `nodes/${NODE}/qemu/${VM}/config`, { delete: "ide2" });
    expect(
      (await pve.data<{ volid: string }[]>("GET", `nodes/${NODE}/storage/local-lvm/content`)).map((v) => v.volid),
    ).not.toContain("local-lvm:vm-300-cloudinit");
    const keys = "ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5AAAAIP%2FLAAOYzeGRxUbV0Yz%2BcEKT8NxmJARmoq%2FRW3%2Fb%2BsK7%20phoenix%40lab";
    await pve.data("PUT", `nodes/${NODE}/qemu/${VM}/config`, {
      agent: "enabled=1,fstrim_cloned_disks=0,type=virtio",
      cipassword: "vm-pass-123",
      ciuser: "phoenix",
      cores: 4,
      cpu: "host",
      delete: ["net1", "net2", "serial1"],
      hostpci0: "mapping=gpu0,pcie=1,rombar=0,x-vga=0",
      ide2: "file=local-lvm:cloudinit,",
      ipconfig0: "gw=10.100.0.1,ip=10.100.0.30/24",
      memory: "4096",
      nameserver: "10.100.0.1",
      net0: "model=virtio,bridge=vmbr0,firewall=0",
      onboot: 1,
      searchdomain: "lab.internal",
      sshkeys: keys,
      tags: "gpu;ai",
    });
    const c = await vmConfig(VM);
    expect(c).toMatchObject({
      cores: 4,
      memory: "4096",
      onboot: 1,
      ciuser: "phoenix",
      cipassword: "**********",
      sshkeys: keys,
      ipconfig0: "gw=10.100.0.1,ip=10.100.0.30/24",
      hostpci0: "mapping=gpu0,pcie=1,rombar=0,x-vga=0",
      tags: "ai;gpu",
      ide2: "local-lvm:vm-300-cloudinit,media=cdrom,size=4M",
    });
    expect(c.net0).toMatch(/^virtio=BC:24:11(:[0-9A-F]{2}){3},bridge=vmbr0,firewall=0$/);
    expect(JSON.stringify(c)).not.toContain("vm-pass-123");
  });

  it("refuses malformed values and size changes through the config", async () => {
    const bad = await pve.call("PUT", `nodes/${NODE}/qemu/${VM}/config`, {
      name: "bad name",
      net0: "model=virtio,bridge=vmbr0,tag=5000",
      cores: 0,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual({
      name: expect.stringMatching(/DNS name/),
      net0: expect.stringContaining("net0.tag: value must have a maximum value of 4094"),
      cores: "value must have a minimum value of 1",
    });
    const size = await pve.call("PUT", `nodes/${NODE}/qemu/${VM}/config`, {
      virtio0: "file=local-lvm:vm-300-disk-0,size=8589934592",
    });
    expect(size.status).toBe(500);
  });

  it("grows its disk with a resize task", async () => {
    const upid = await pve.data<string>("PUT", `nodes/${NODE}/qemu/${VM}/resize`, { disk: "virtio0", size: "8589934592" });
    expect((await pve.waitTask(upid)).exitstatus).toBe("OK");
    expect((await vmConfig(VM)).virtio0).toBe("local-lvm:vm-300-disk-0,size=8G");
    expect((await pve.call("PUT", `nodes/${NODE}/qemu/${VM}/resize`, { disk: "virtio0", size: "1G" })).status).toBe(500);
  });

  it("starts only once PCIe passthrough has a q35 machine; runs as an API object with an agent answering", async () => {
    expect(await pve.task("POST", `nodes/${NODE}/qemu/${VM}/status/start`, { timeout: 1800 })).toBe(
      "q35 machine model is not enabled",
    );
    await pve.data("PUT", `nodes/${NODE}/qemu/${VM}/config`, { machine: "q35" });
    expect(await pve.task("POST", `nodes/${NODE}/qemu/${VM}/status/start`, { timeout: 1800 })).toBe("OK");
    expect(await vmStatus(VM)).toMatchObject({
      status: "running",
      qmpstatus: "running",
      agent: 1,
      name: "vm1",
      maxmem: 4096 * 1024 ** 2,
      maxdisk: 8 * 1024 ** 3,
    });
    // vm_start runs in the task: the call answers a UPID, the task fails
    expect(await pve.task("POST", `nodes/${NODE}/qemu/${VM}/status/start`)).toBe(`VM ${VM} already running`);
    expect((await pve.call("POST", `nodes/${NODE}/qemu/${VM}/agent/ping`)).status).toBe(200);
    const net = await pve.data<{
      result: { name: string; "ip-addresses": { "ip-address": string; "ip-address-type": string; prefix: number }[] }[];
    }>("GET", `nodes/${NODE}/qemu/${VM}/agent/network-get-interfaces`);
    expect(net.result.find((i) => i.name === "eth0")!["ip-addresses"]).toEqual([
      { "ip-address": "10.100.0.30", "ip-address-type": "ipv4", prefix: 24 },
    ]);
    const found = await pve.data<{ id: string; node: string; status: string }[]>("GET", "cluster/resources", { type: "vm" });
    expect(found).toContainEqual(expect.objectContaining({ id: `qemu/${VM}`, node: NODE, status: "running" }));
    expect(await pve.task("POST", `nodes/${NODE}/qemu/${VM}/status/shutdown`, { forceStop: 1, timeout: 60 })).toBe("OK");
    expect((await vmStatus(VM)).status).toBe("stopped");
    expect((await pve.call("GET", `nodes/${NODE}/qemu/${VM}/agent/network-get-interfaces`)).statusText).toBe(
      `VM ${VM} is not running`,
    );
  });

  it("hands out vmids and refuses taken ones", async () => {
    expect(await pve.data("GET", "cluster/nextid")).toBe("100");
    const taken = await pve.call("GET", "cluster/nextid", { vmid: VM });
    expect(taken.status).toBe(400);
    expect(taken.body.errors).toEqual({ vmid: `VM ${VM} already exists` });
  });

  it("becomes a template with base volumes; linked clones of it depend on them", async () => {
    expect(await pve.task("POST", `nodes/${NODE}/qemu/${VM}/template`)).toBe("OK");
    expect(await vmConfig(VM)).toMatchObject({ template: 1, virtio0: "local-lvm:base-300-disk-0,size=8G" });
    expect(await pve.task("POST", `nodes/${NODE}/qemu/${VM}/clone`, { newid: 301, name: "vm2" })).toBe("OK");
    expect((await vmConfig(301)).virtio0).toBe("local-lvm:vm-301-disk-0,size=8G");
    const vols = await pve.data<{ volid: string; parent?: string }[]>("GET", `nodes/${NODE}/storage/local-lvm/content`, {
      vmid: 301,
    });
    expect(vols).toContainEqual(
      expect.objectContaining({ volid: "local-lvm:vm-301-disk-0", parent: "local-lvm:base-300-disk-0" }),
    );
  });

  it("is destroyed with its volumes", async () => {
    expect(await pve.task("DELETE", `nodes/${NODE}/qemu/301`, { purge: 1, "destroy-unreferenced-disks": 1 })).toBe("OK");
    expect(await pve.task("DELETE", `nodes/${NODE}/qemu/${VM}`, { purge: 1, "destroy-unreferenced-disks": 1 })).toBe("OK");
    expect((await pve.call("GET", `nodes/${NODE}/qemu/${VM}/config`)).statusText).toBe(
      `Configuration file 'nodes/${NODE}/qemu-server/${VM}.conf' does not exist`,
    );
    const left = (await pve.data<{ volid: string }[]>("GET", `nodes/${NODE}/storage/local-lvm/content`)).map((v) => v.volid);
    expect(left.filter((v) => /-30[01]-/.test(v))).toEqual([]);
    expect((await pve.data<{ id: string }[]>("GET", "cluster/resources", { type: "vm" })).map((r) => r.id)).toEqual([
      `qemu/${TEMPLATE_VM}`,
    ]);
  });
});

describe("downloading a template onto a storage", () => {
  const sha256 = createHash("sha256").update(ALPINE).digest("hex");
  const file = "alpine-3.19-default_amd64.tar.xz";

  it("reports URL metadata, or the failure to reach it", async () => {
    expect(await pve.data("GET", `nodes/${NODE}/query-url-metadata`, { url: ALPINE_URL, "verify-certificates": 1 })).toEqual({
      filename: file,
      size: ALPINE.length,
      mimetype: "application/octet-stream",
    });
    const off = await pve.call("GET", `nodes/${NODE}/query-url-metadata`, { url: "https://unreachable.example/x.iso" });
    expect(off.status).toBe(500);
  });

  it("downloads with a verified checksum; the file is then listed and cannot be overwritten", async () => {
    const upid = await pve.data<string>("POST", `nodes/${NODE}/storage/local/download-url`, {
      content: "vztmpl",
      filename: file,
      url: ALPINE_URL,
      checksum: sha256,
      "checksum-algorithm": "sha256",
      node: NODE,
      storage: "local",
      "verify-certificates": 1,
    });
    expect(upid.split(":")[5]).toBe("download");
    expect((await pve.waitTask(upid)).exitstatus).toBe("OK");
    expect(await pve.data("GET", `nodes/${NODE}/storage/local/content`, { content: "vztmpl" })).toContainEqual(
      expect.objectContaining({ volid: `local:vztmpl/${file}`, size: ALPINE.length, format: "txz" }),
    );
    const again = await pve.call("POST", `nodes/${NODE}/storage/local/download-url`, {
      content: "vztmpl",
      filename: file,
      url: ALPINE_URL,
    });
    expect(again.status).toBe(500);
    expect(again.statusText).toBe(`refusing to override existing file '/var/lib/vz/template/cache/${file}'`);
  });

  it("fails the task on a checksum mismatch and refuses storages without that content", async () => {
    const upid = await pve.data<string>("POST", `nodes/${NODE}/storage/local/download-url`, {
      content: "vztmpl",
      filename: "other.tar.xz",
      url: ALPINE_URL,
      checksum: "0".repeat(64),
      "checksum-algorithm": "sha256",
    });
    expect((await pve.waitTask(upid)).exitstatus).toMatch(/^checksum mismatch/);
    expect(await pve.data("GET", `nodes/${NODE}/storage/local/content`, { content: "vztmpl" })).not.toContainEqual(
      expect.objectContaining({ volid: "local:vztmpl/other.tar.xz" }),
    );
    expect(
      (
        await pve.call("POST", `nodes/${NODE}/storage/tank-lxc/download-url`, {
          content: "vztmpl",
          filename: file,
          url: ALPINE_URL,
        })
      ).status,
    ).toBe(500);
  });

  it("deletes the file by volume id (path-escaped, as the provider sends it)", async () => {
    const upid = await pve.data<string>(
      "DELETE",
      `nodes/${NODE}/storage/local/content/${encodeURIComponent(`local:vztmpl/${file}`)}`,
    );
    expect((await pve.waitTask(upid)).exitstatus).toBe("OK");
    expect(await pve.data("GET", `nodes/${NODE}/storage/local/content`, { content: "vztmpl" })).toEqual([]);
    const gone = await pve.call("DELETE", `nodes/${NODE}/storage/local/content/${encodeURIComponent(`local:vztmpl/${file}`)}`);
    expect(gone.statusText).toContain("does not exist");
  });
});

describe("PCI hardware mappings", () => {
  const map = "id=10de:2204,node=pve,path=0000:01:00.0,iommugroup=12";

  it("creates, reads, lists, updates and deletes a mapping", async () => {
    expect(
      await pve.data("POST", "cluster/mapping/pci", { id: "gpu0", description: "GPU 0 of pve (managed by Phoenix)", map: [map] }),
    ).toBeNull();
    expect(await pve.data("GET", "cluster/mapping/pci/gpu0")).toMatchObject({
      type: "pci",
      description: "GPU 0 of pve (managed by Phoenix)",
      map: [map],
    });
    expect(await pve.data("GET", "cluster/mapping/pci", { "check-node": NODE })).toEqual([
      expect.objectContaining({ id: "gpu0", map: [map], checks: [] }),
    ]);
    const dup = await pve.call("POST", "cluster/mapping/pci", { id: "gpu0", map: [map] });
    expect(dup.status).toBe(500);
    expect(dup.statusText).toContain("already exists");
    const moved = "id=10de:2204,node=pve,path=0000:02:00.0";
    await pve.data("PUT", "cluster/mapping/pci/gpu0", { map: [moved], delete: "description" });
    const now = await pve.data<Record<string, unknown>>("GET", "cluster/mapping/pci/gpu0");
    expect(now.map).toEqual([moved]);
    expect(now).not.toHaveProperty("description");
    expect(await pve.data("DELETE", "cluster/mapping/pci/gpu0")).toBeNull();
    expect((await pve.call("GET", "cluster/mapping/pci/gpu0")).statusText).toBe("PCI mapping 'gpu0' does not exist");
  });

  it("checks map entries like Proxmox's schema", async () => {
    const bad = await pve.call("POST", "cluster/mapping/pci", { id: "gpu1", map: ["node=pve,path=01:00.0,id=nvidia"] });
    expect(bad.status).toBe(400);
    expect(bad.body.errors!["map[0]"]).toMatch(/map\[0\]\.id/);
    expect((await pve.call("POST", "cluster/mapping/pci", { id: "1gpu", map: [map] })).body.errors).toHaveProperty("id");
  });
});
