// The steps about ids, without the lab: a custom id map's lxc.idmap lines replace every other lxc.idmap line of the
// container's config (a clone's copy of its template's included), mount owners' params, and the NVIDIA Container
// Toolkit told to leave device cgroups alone in an unprivileged container.
import { afterEach, expect, it } from "vitest";
import { renderAppArmor } from "../../provisioners/apparmor/apparmor";
import { renderMountOwner } from "../../provisioners/mount-owner/mount-owner";
import { renderDocker } from "../../provisioners/docker/docker";
import { renderNvidiaContainerToolkit } from "../../provisioners/nvidia-container-toolkit/nvidia-container-toolkit";
import { GuestSandbox, ok } from "../support/guest-sandbox";

const sandboxes: GuestSandbox[] = [];
afterEach(() => sandboxes.splice(0).forEach((s) => s.dispose()));

it("writes a container's id map whole, dropping lxc.idmap lines it did not write (a template's copy)", () => {
  const s = new GuestSandbox();
  sandboxes.push(s);
  // A clone of a template whose map passed host gid 33 through: Proxmox copied the lines into the clone's config.
  s.write(
    "etc/pve/lxc/210.conf",
    "arch: amd64\nhostname: web\nlxc.idmap: u 0 100000 65536\nlxc.idmap: g 0 100000 33\nlxc.idmap: g 33 33 1\nlxc.idmap: g 34 100034 65502\n\n[golden]\narch: amd64\n",
  );
  const lines = [
    "lxc.idmap: u 0 100000 65536",
    "lxc.idmap: g 0 100000 1005",
    "lxc.idmap: g 1005 1005 1",
    "lxc.idmap: g 1006 101006 64530",
  ];
  const f = renderAppArmor({ vmid: 210, lxcOptions: lines });
  ok(s.run(f.script, f.params));
  expect(s.read("etc/pve/lxc/210.conf")).toBe(`arch: amd64\nhostname: web\n${lines.join("\n")}\n\n[golden]\narch: amd64\n`);
  expect(ok(s.run(f.checkScript!, f.params)).stdout).toBe("CT 210: 4 of 4 lxc lines in its config\n");
  // Its delete takes the map away again (the container falls back to Proxmox's default map).
  ok(s.run(f.deleteScript!, f.params));
  expect(s.read("etc/pve/lxc/210.conf")).toBe("arch: amd64\nhostname: web\n\n[golden]\narch: amd64\n");
});

it("renders mount owners as host ids and paths, and refuses a path that is not absolute", () => {
  expect(
    renderMountOwner([
      { path: "/tank/shared-data", uid: 101000, gid: 101000 },
      { path: "/srv/with space", uid: 33, gid: 100033 },
    ]).params,
  ).toEqual({ MOUNT_OWNERS: "101000:101000 /tank/shared-data\n33:100033 /srv/with space" });
  expect(() => renderMountOwner([{ path: "data", uid: 1, gid: 1 }])).toThrow('not an absolute path: "data"');
});

it("in an unprivileged container the NVIDIA Container Toolkit leaves device cgroups alone (no-cgroups), once", () => {
  const s = new GuestSandbox();
  sandboxes.push(s);
  ok(
    s.run(
      renderDocker({ source: "debian", daemon: {} }, { nvidiaRuntime: true }).script,
      renderDocker({ source: "debian", daemon: {} }, { nvidiaRuntime: true }).params,
    ),
  );
  // What the package installs (the apt-get double records the install; the file is the package's).
  s.write(
    "etc/nvidia-container-runtime/config.toml",
    '[nvidia-container-cli]\nenvironment = []\n#no-cgroups = false\nldconfig = "@/sbin/ldconfig.real"\n',
  );
  const f = renderNvidiaContainerToolkit({}, { unprivileged: true });
  expect(f.params.NVIDIA_NO_CGROUPS).toBe("1");
  expect(ok(s.run(f.script, f.params)).stdout).toContain("no-cgroups = true in");
  expect(s.read("etc/nvidia-container-runtime/config.toml")).toBe(
    '[nvidia-container-cli]\nenvironment = []\nno-cgroups = true\nldconfig = "@/sbin/ldconfig.real"\n',
  );
  expect(ok(s.run(f.checkScript!, f.params)).stdout).toContain("no-cgroups = true (unprivileged container)");
  expect(ok(s.run(f.script, f.params)).stdout).not.toContain("no-cgroups");
  // A privileged container's toolkit keeps its cgroups; its check does not ask for no-cgroups.
  expect(renderNvidiaContainerToolkit({}).params.NVIDIA_NO_CGROUPS).toBe("0");
  s.write("etc/nvidia-container-runtime/config.toml", "[nvidia-container-cli]\n#no-cgroups = false\n");
  expect(s.run(f.checkScript!, f.params).code).toBe(1);
});
