// `phoenix lab up|status|down` on a small definition shaped like stacks/dev.yaml (its own pool,
// bridge and ports, so it cannot collide with a running demo): up builds the host, down leaves nothing.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { LabClient } from "../../lab/pve/client";
import { PCT_PATH, etcPveInUse, labDown, labStatus, labUp } from "../../lab/lab";
import { Lxc } from "../../lab/host/lxc";
import { STAND_INS } from "../../lab/host/stand-in-images";
import { withSession } from "../../provisioners/engine/ssh";
import { ok, run } from "../../lab/host/run";
import { zfsReady } from "../../lab/host/zfs";
import { checkShape } from "../../definition/load";
import { isolatedDevDefinition } from "../support/lab-definition";

const dir = mkdtempSync(join(tmpdir(), "phoenix-lab-"));
const iso = isolatedDevDefinition(dir);
const { tag } = iso;
const octet = Number(iso.net.split(".")[2]);
afterAll(async () => {
  await labDown(join(dir, "state"));
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

function definition() {
  const d = structuredClone(iso.raw);
  d.nodes[0].zfs.datasets = [];
  d.guests[1].mountPoints = [];
  const shaped = checkShape(d);
  expect(shaped.problems).toEqual([]);
  return shaped.definition!;
}

it(
  "up builds pools, bridge, apt proxy, template and node sshd; down leaves nothing behind",
  async () => {
    const startedZfs = !zfsReady();
    const state = join(dir, "state");
    const { ssh: port, api } = await iso.assignPorts();
    const up = await labUp({ definition: definition(), stateDir: state, sshPort: port, log: (s) => console.log(`lab: ${s}`) });
    const again = await labUp({ definition: definition(), stateDir: state, sshPort: port }); // idempotent
    expect(again.sshHostKey).toBe(up.sshHostKey);

    const status = labStatus(state);
    expect(status.up).toBe(true);
    expect(status.zfs.pools).toEqual({ [`phxlab${tag}`]: [`phxlab${tag}`] });
    expect(status.bridges).toEqual({ [`phxbr${tag}`]: true });
    expect(status.limits.join("\n")).toMatch(/no GPU/);
    // Containers run unprivileged for real now: what the lab still cannot do is zfs-fuse's, said as such.
    expect(status.limits.join("\n")).not.toMatch(/run privileged/);
    expect(status.limits.join("\n")).toMatch(/zfs-fuse grants privileges to host uid 0 only/);
    // root's subordinate ids, as a Proxmox host has them (newuidmap holds LXC to them).
    expect(readFileSync("/etc/subuid", "utf8")).toMatch(/^root:100000:65536$/m);
    expect(readFileSync("/etc/subgid", "utf8")).toMatch(/^root:100000:65536$/m);
    expect(existsSync(join(dir, "vz", "template", "cache", "debian-12-standard_12.7-1_amd64.tar.zst"))).toBe(true);
    expect(up.aptProxy).toBe(`http://10.253.${octet}.1:3142`);
    const id = await withSession({ host: "127.0.0.1", port, privateKey: up.sshPrivateKey, hostKey: up.sshHostKey }, (s) =>
      s.exec("zpool list -H -o name"),
    );
    expect(id.stdout.split("\n")).toContain(`phxlab${tag}`);
    // The node's pct answers over SSH, as a Proxmox node's does, from the lab's own state.
    const pct = await withSession({ host: "127.0.0.1", port, privateKey: up.sshPrivateKey, hostKey: up.sshHostKey }, (s) =>
      s.exec("pct status 999"),
    );
    expect(pct.code).toBe(255);
    expect(pct.stderr.trim()).toBe("Configuration file 'nodes/lab/lxc/999.conf' does not exist");
    // Docker Hub's stand-in: the registry mirror on the bridge address serves the stand-in images.
    const registry = run("curl", ["-s", "--max-time", "5", `http://10.253.${octet}.1:5000/v2/_catalog`], {
      allowFail: true,
    }).stdout;
    // Every stand-in image, by its Docker Hub name (the registry's catalog is sorted).
    expect(JSON.parse(registry).repositories).toEqual([...new Set(STAND_INS.map((i) => i.repository))].sort());
    // Node-side provisioning edits guest configs where Proxmox keeps them: the node's sessions see this lab's.
    const seen = await withSession({ host: "127.0.0.1", port, privateKey: up.sshPrivateKey, hostKey: up.sshHostKey }, (s) =>
      s.exec("touch /etc/pve/lxc/seen-by-node.conf && echo $PHOENIX_LAB_DIR"),
    );
    expect(seen.stdout.trim()).toBe(state);
    expect(existsSync(join(state, "pve", "lxc", "seen-by-node.conf"))).toBe(true);
    // as pmxcfs shows it, a single node too: its own configs again under nodes/<node>/lxc and local/lxc
    const layout = await withSession({ host: "127.0.0.1", port, privateKey: up.sshPrivateKey, hostKey: up.sshHostKey }, (s) =>
      s.exec("ls /etc/pve/nodes/lab/lxc /etc/pve/local/lxc"),
    );
    expect(layout.stdout.trim().split("\n")).toEqual([
      "/etc/pve/local/lxc:",
      "seen-by-node.conf",
      "",
      "/etc/pve/nodes/lab/lxc:",
      "seen-by-node.conf",
    ]);
    // and `lab status` speaks of its one node
    expect(labStatus(state).nodes).toEqual([{ node: "lab", ssh: { port }, containers: [], vms: [] }]);
    expect(readdirSync("/etc/pve")).toEqual([]); // the host's own view stays empty
    // A dataset a session makes and destroys (as the ZfsDataset provisioner does, retrying zfs-fuse's first "busy")
    // comes and goes on the host too: the node's namespace shares the pool's mounts both ways.
    const ds = `phxlab${tag}/made-by-node`;
    const node = { host: "127.0.0.1", port, privateKey: up.sshPrivateKey, hostKey: up.sshHostKey };
    const made = await withSession(node, (s) => s.exec(`zfs create ${ds} && zfs get -H -o value mounted ${ds}`));
    expect(made.stdout.trim()).toBe("yes");
    expect(ok("findmnt", [`/${ds}`])).toBe(true);
    const destroyed = await withSession(node, (s) =>
      s.exec(`for i in 1 2 3 4 5 6; do zfs destroy ${ds} 2>/dev/null && exit 0; sleep 1; done; zfs destroy ${ds}`),
    );
    expect(destroyed.stderr).toBe("");
    expect(destroyed.code).toBe(0);
    expect(ok("zfs", ["list", "-H", ds])).toBe(false);
    expect(ok("findmnt", [`/${ds}`])).toBe(false);
    // The Proxmox API runs in the background on the definition's endpoint, with the credentials up returned.
    expect(up.apiUrl).toBe(`https://127.0.0.1:${api}`);
    const client = new LabClient({ url: up.apiUrl, token: `${up.credentials.tokenId}=${up.credentials.tokenSecret}` });
    expect((await client.data<{ version: string }>("GET", "version")).version).toBe("9.0.3");
    expect((await client.data<{ storage: string }[]>("GET", "nodes/lab/storage")).map((s) => s.storage)).toEqual([
      "local",
      "tank-lxc",
    ]);
    expect(
      (await new LabClient({ url: up.apiUrl, token: `${up.credentials.tokenId}=wrong` }).call("GET", "version")).status,
    ).toBe(401);

    // what a nesting container's Docker would leave there (its /var/lib/docker lives on the host's disk)
    const docker = new Lxc(join(state, "lxc")).dockerDir(200);
    mkdirSync(join(docker, "image"), { recursive: true });
    const apiPid = readFileSync(join(state, "api", "api.pid"), "utf8").trim();
    expect(ok("kill", ["-0", apiPid])).toBe(true);
    await labDown(state);
    expect(labStatus(state).up).toBe(false);
    expect(ok("zpool", ["list", "-H", `phxlab${tag}`])).toBe(false);
    expect(ok("ip", ["link", "show", `phxbr${tag}`])).toBe(false);
    expect(ok("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${port}`])).toBe(false);
    expect(ok("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${api}`])).toBe(false);
    expect(ok("kill", ["-0", apiPid])).toBe(false);
    expect(run("pgrep", ["-f", `docker-registry serve ${state}`], { allowFail: true }).stdout).toBe("");
    // Gone, unless another lab on this machine still has its node sshd (and so its own /etc/pve) running.
    expect(existsSync("/etc/pve")).toBe(etcPveInUse());
    expect(existsSync(docker)).toBe(false);
    expect(run("pgrep", ["-f", `apt-cacher-ng.*${state}`], { allowFail: true }).stdout).toBe("");
    // The daemon stops with the last pool: only another lab's pools (a test or demo side by side) keep it.
    if (startedZfs && zfsReady()) expect(run("zpool", ["list", "-H", "-o", "name"]).stdout.trim()).not.toBe("");
    expect(existsSync(join(dir, "vz", "template", "cache", "debian-12-standard_12.7-1_amd64.tar.zst"))).toBe(false);
    // The shared pct goes with the lab that wrote it last; another lab's, written since, stays.
    expect(existsSync(PCT_PATH) && readFileSync(PCT_PATH, "utf8").includes(state)).toBe(false);
  },
  20 * 60_000,
);
