// Unprivileged containers in the lab, as plain data and over the in-memory API: PVE 9.0's create default, Proxmox's id
// maps (parse, overlaps, host ids), the LXC config and seccomp rules of an unprivileged container, dev_t numbers.
// The real thing (shifted rootfs, processes as host uid 100000+) is test/host/lab-unprivileged.test.ts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LabClient } from "../../lab/pve/client";
import { MemoryBackend } from "../../lab/pve/memory-backend";
import { LAB_PVE_VERSION, type LabApi, startLabApi } from "../../lab/api/server";
import { unprivilegedByDefault } from "../../lab/api/routes/lxc";
import { DEFAULT_ID_MAP, containerIdMap, hostId, idMapOverlaps, parseIdMapEntry } from "../../lab/pve/idmap";
import { parseConfigFile } from "../../lab/pve/pve-config";
import { lxcConfig, rootOwner, seccompRules } from "../../lab/host/lxc";
import { majorMinor } from "../../lab/host/passthrough";
import { containerSpec } from "../../lab/node/container-spec";

const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const apis: { api: LabApi; dir: string }[] = [];
afterAll(async () => {
  for (const { api, dir } of apis) {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

async function lab(version?: { version: string; release: string; repoid: string }) {
  const dir = mkdtempSync(join(tmpdir(), "phoenix-lab-unpriv-unit-"));
  const backend = new MemoryBackend({
    storages: [
      { id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl"] },
      { id: "tank-lxc", type: "zfspool", pool: "tank/lxc-disks", content: ["rootdir"] },
    ],
    files: [{ volid: TEMPLATE, size: 1000 }],
  });
  const api = await startLabApi({
    stateDir: dir,
    port: 0,
    node: "pve",
    tokens: [{ id: "root@pam!t", secret: "s" }],
    backend,
    ...(version ? { version } : {}),
  });
  apis.push({ api, dir });
  return new LabClient({ url: api.url, token: "root@pam!t=s" });
}

async function create(pve: LabClient, vmid: number, extra: Record<string, string> = {}) {
  const upid = await pve.data<string>("POST", "nodes/pve/lxc", { vmid, ostemplate: TEMPLATE, storage: "tank-lxc", ...extra });
  expect((await pve.waitTask(upid)).exitstatus).toBe("OK");
  return pve.data<Record<string, unknown>>("GET", `nodes/pve/lxc/${vmid}/config`);
}

describe("the create default follows the release the lab answers as", () => {
  it("9.0 (the lab's): a container created without `unprivileged` is unprivileged; 0 stays privileged", async () => {
    const pve = await lab();
    expect((await pve.data<{ version: string }>("GET", "version")).version).toBe(LAB_PVE_VERSION.version);
    expect((await create(pve, 100)).unprivileged).toBe(1);
    expect((await create(pve, 101, { unprivileged: "0" })).unprivileged).toBe(0);
    expect((await create(pve, 102, { unprivileged: "1" })).unprivileged).toBe(1);
  });

  it("8.4: privileged unless asked (only its GUI defaulted to unprivileged)", async () => {
    const pve = await lab({ version: "8.4.1", release: "8.4", repoid: "0000000000000000" });
    expect((await create(pve, 100)).unprivileged).toBeUndefined();
  });

  it("by major release", () => {
    expect([unprivilegedByDefault("8.4.1"), unprivilegedByDefault("9.0.3"), unprivilegedByDefault("10.0")]).toEqual([
      false,
      true,
      true,
    ]);
  });
});

describe("id maps", () => {
  it("parses lxc.idmap values as Proxmox does, and refuses what is not `u|g ct host count`", () => {
    expect(parseIdMapEntry("g 33 33 1")).toEqual({ type: "g", ct: 33, host: 33, count: 1 });
    expect(() => parseIdMapEntry("x 0 100000 65536")).toThrow("failed to parse idmap: x 0 100000 65536");
    expect(() => parseIdMapEntry("u 0 100000")).toThrow("failed to parse idmap");
  });

  it("finds overlaps on either side, per type, in Proxmox's words", () => {
    const map = ["u 0 100000 1005", "u 1005 1005 1", "u 1000 200000 2", "g 0 1005 65536", "u 2000 1005 1"].map(parseIdMapEntry);
    expect(idMapOverlaps(map)).toEqual([
      "invalid map entry 'u 1000 200000 2': container uid 1000 is also mapped by entry 'u 0 100000 1005'",
      "invalid map entry 'u 2000 1005 1': host uid 1005 is also mapped by entry 'u 1005 1005 1'",
    ]);
    expect(idMapOverlaps(DEFAULT_ID_MAP)).toEqual([]);
  });

  it("maps container ids to host ids, undefined where the map leaves them out", () => {
    const map = ["u 0 100000 1005", "u 1005 1005 1", "u 1006 101006 64530"].map(parseIdMapEntry);
    expect([hostId(map, "u", 0), hostId(map, "u", 1005), hostId(map, "u", 1006), hostId(map, "u", 70000)]).toEqual([
      100000,
      1005,
      101006,
      undefined,
    ]);
    expect(hostId(map, "g", 0)).toBeUndefined();
    expect(hostId(undefined, "u", 33)).toBe(33); // privileged: the host's own ids
  });

  it("a container's map: its lxc.idmap entries, else the default when unprivileged, else none", () => {
    const file = (text: string) => parseConfigFile(`hostname: c\n${text}`);
    expect(containerIdMap(file("unprivileged: 1\n"))).toEqual(DEFAULT_ID_MAP);
    expect(containerIdMap(file("unprivileged: 0\n"))).toBeUndefined();
    expect(containerIdMap(file(""))).toBeUndefined(); // the config schema's default is 0
    // Any lxc.idmap entry makes the container unprivileged, whatever `unprivileged` says.
    expect(containerIdMap(file("lxc.idmap: u 0 200000 65536\nlxc.idmap: g 0 200000 65536\n"))).toEqual([
      { type: "u", ct: 0, host: 200000, count: 65536 },
      { type: "g", ct: 0, host: 200000, count: 65536 },
    ]);
  });
});

describe("the LXC config of an unprivileged container", () => {
  const volumePath = (v: string) => `/tank/lxc-disks/${v.split(":")[1]}`;
  const spec = (text: string) =>
    containerSpec(200, parseConfigFile(`hostname: u\nrootfs: tank-lxc:subvol-200-disk-0,size=4G\n${text}`), volumePath);

  it("runs in a user namespace with the id map, LXC's userns settings and its own seccomp rules", () => {
    const s = spec("unprivileged: 1\nfeatures: nesting=1,keyctl=1\ndev0: /dev/nvidia0,uid=0,gid=44,mode=0660\n");
    expect(s.idMap).toEqual(DEFAULT_ID_MAP);
    expect(s.keyctl).toBe(true);
    expect(s.devices).toEqual([{ path: "/dev/nvidia0", uid: 0, gid: 44, mode: "0660" }]);
    expect(rootOwner(s)).toEqual({ uid: 100000, gid: 100000 });
    const text = lxcConfig(s, {
      views: { "/tank/lxc-disks/subvol-200-disk-0": "/var/lib/phoenix-lab/x/lxc/200/rootfs" },
      seccomp: "/var/lib/phoenix-lab/x/lxc/200/rules.seccomp",
      devices: [
        {
          path: "/dev/nvidia0",
          node: "/p/dev/nvidia0",
          type: "c",
          major: 195,
          minor: 0,
          mode: 0o660,
          uid: 100000,
          gid: 100044,
          denyWrite: false,
        },
      ],
    });
    const lines = text.trim().split("\n");
    expect(lines).toContain("lxc.rootfs.path = dir:/var/lib/phoenix-lab/x/lxc/200/rootfs");
    expect(lines.indexOf("lxc.include = /usr/share/lxc/config/userns.conf")).toBeGreaterThan(
      lines.indexOf("lxc.include = /usr/share/lxc/config/common.conf"),
    );
    expect(lines).toContain("lxc.idmap = u 0 100000 65536");
    expect(lines).toContain("lxc.idmap = g 0 100000 65536");
    expect(lines).toContain("lxc.seccomp.profile = /var/lib/phoenix-lab/x/lxc/200/rules.seccomp");
    expect(lines).toContain("lxc.mount.entry = proc dev/.lxc/proc proc create=dir,optional 0 0");
    expect(lines).toContain("lxc.mount.entry = /p/dev/nvidia0 dev/nvidia0 none bind,create=file 0 0");
    expect(lines).toContain("lxc.cgroup.devices.allow = c 195:0 rw");
    // A privileged nesting container's runtime needs every device; an unprivileged one's grants none.
    expect(lines).not.toContain("lxc.cgroup.devices.allow = a");
  });

  it("takes custom lxc.idmap entries as its map (not as raw lines beside the default)", () => {
    const s = spec("lxc.idmap: u 0 100000 65536\nlxc.idmap: g 0 100000 33\nlxc.idmap: g 33 33 1\nlxc.idmap: g 34 100034 65502\n");
    expect(s.rawLxc).toEqual([]);
    const idmaps = lxcConfig(s)
      .split("\n")
      .filter((l) => l.startsWith("lxc.idmap"));
    expect(idmaps).toEqual([
      "lxc.idmap = u 0 100000 65536",
      "lxc.idmap = g 0 100000 33",
      "lxc.idmap = g 33 33 1",
      "lxc.idmap = g 34 100034 65502",
    ]);
  });

  it("a privileged container keeps the host's ids and LXC's common profile", () => {
    const s = spec("unprivileged: 0\n");
    expect(s.idMap).toBeUndefined();
    expect(rootOwner(s)).toEqual({ uid: 0, gid: 0 });
    const text = lxcConfig(s);
    expect(text).not.toContain("lxc.idmap");
    expect(text).not.toContain("userns.conf");
    expect(text).not.toContain("lxc.seccomp.profile");
  });

  it("answers keyctl with ENOSYS (errno 38) unless features: keyctl=1, as Proxmox's generated profile does", () => {
    const common = "2\ndenylist\n[all]\nkexec_load errno 1\n";
    expect(seccompRules(common, false)).toBe(`${common}keyctl errno 38\n`);
    expect(seccompRules(common, true)).toBe(common);
  });
});

it("reads dev_t as glibc's major()/minor() do", () => {
  expect(majorMinor(0xa_c8)).toEqual({ major: 10, minor: 200 }); // /dev/net/tun
  expect(majorMinor(0xc3_00)).toEqual({ major: 195, minor: 0 }); // /dev/nvidia0
  // a large minor spills into bits 20+
  expect(majorMinor((0x123 << 20) | (0xe3 << 8) | 0x45)).toEqual({ major: 0xe3, minor: 0x12345 });
});
