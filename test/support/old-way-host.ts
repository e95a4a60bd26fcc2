// A lab host built the way the original bash system built it, without Pulumi, and the definition that describes it
// (stacks/dev.yaml's shape): for test/e2e/adopt. Containers are made through the lab's Proxmox API as `pct create`,
// `pct clone --full`, `pct set` and `pct template` make them (pct runs the API's code on Proxmox), Docker by a plain
// apt script inside the container, datasets by `zfs create` on the node.
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { LabClient } from "../../lab/pve/client";
import type { Lxc } from "../../lab/host/lxc";
import { run } from "../../lab/host/run";
import type { LabUp } from "../../lab/lab";
import { daemonJson } from "../../provisioners/engine/docker-daemon";
import type { IsolatedDefinition } from "./lab-definition";

export interface OldWayHost {
  api: LabClient;
  /** The dataset made by hand and bind-mounted into `data`. */
  shared: string;
  mirror: Record<string, unknown>;
}

/** root@pam's own login, as the original ran pct as root (bind mounts and keyctl need it). */
export async function rootApi(lab: LabUp): Promise<LabClient> {
  const login = await new LabClient({ url: lab.apiUrl }).data<{ ticket: string; CSRFPreventionToken: string }>(
    "POST",
    "access/ticket",
    { username: "root@pam", password: lab.credentials.rootPassword },
  );
  return new LabClient({ url: lab.apiUrl, ticket: { ticket: login.ticket, csrf: login.CSRFPreventionToken } });
}

/** The definition of the host below, as `phoenix import` would write it (swap included), on the isolated lab. */
export function oldWayDefinition(iso: IsolatedDefinition): any {
  const d = iso.raw;
  const shared = `${iso.pool}/shared-data`;
  d.nodes[0].zfs.datasets = [
    { name: `${iso.pool}/lxc-disks`, properties: { compression: "on", recordsize: "16K" }, protect: false },
    { name: shared, properties: { compression: "on", recordsize: "128K", quota: "2G" }, protect: false },
  ];
  d.templates[1].swap = 512;
  d.guests = [
    {
      vmid: 200,
      name: "app",
      template: "docker-golden",
      cores: 1,
      memory: 1024,
      swap: 512,
      disk: { storage: "tank-lxc", size: 4 },
      network: [{ name: "eth0", bridge: iso.bridge, ip: `${iso.net}.10/24` }],
      healthChecks: [{ name: "docker-up", command: "docker info >/dev/null" }],
    },
    {
      vmid: 210,
      name: "data",
      template: "debian-12-base",
      unprivileged: false,
      nesting: true,
      cores: 1,
      memory: 512,
      swap: 512,
      disk: { storage: "tank-lxc", size: 2 },
      network: [{ name: "eth0", bridge: iso.bridge, ip: `${iso.net}.20/24` }],
      mountPoints: [{ dataset: shared, path: "/data" }],
      features: { docker: { source: "debian" } },
    },
  ];
  // dev.yaml's demo app runs on guests this host does not have.
  delete d.apps;
  return d;
}

async function task(api: LabClient, method: string, path: string, params: Record<string, string | number> = {}) {
  const upid = await api.data<string>(method, path, params);
  if (typeof upid !== "string" || !upid.startsWith("UPID:")) return;
  const s = await api.waitTask(upid, 200, 10 * 60_000);
  if (s.exitstatus !== "OK") throw new Error(`${method} ${path}: ${s.exitstatus}: ${(await api.taskLog(upid)).join("\n")}`);
}

/** The plain script the original ran for Docker: docker.io and compose by apt, daemon.json, enabled and started. */
function installDockerByHand(lxc: Lxc, vmid: number, daemon: Record<string, unknown>) {
  const r = lxc.exec(vmid, [
    "bash",
    "-c",
    "for i in $(seq 1 30); do ip -4 route | grep -q default && break; sleep 1; done; " +
      "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io docker-compose && " +
      `mkdir -p /etc/docker && printf '%s\\n' '${daemonJson(daemon)}' > /etc/docker/daemon.json && ` +
      "systemctl enable docker && systemctl restart docker && docker version --format '{{.Server.Version}}'",
  ]);
  if (r.code !== 0) throw new Error(`installing docker by hand in ${vmid} failed: ${r.stdout}${r.stderr}`);
}

/**
 * The host as the original system left it: a golden Docker template (from the template file, Docker by a plain
 * script, frozen), `app` a FULL clone of it then `pct set` (the definition says a linked clone), `data` from the
 * template file, privileged, with a bigger disk than the definition says and a dataset made by `zfs create`
 * bind-mounted, Docker by the plain script; and `legacy`, which the definition does not name.
 */
export async function buildTheOldWay(lab: LabUp, iso: IsolatedDefinition, lxc: Lxc): Promise<OldWayHost> {
  const api = await rootApi(lab);
  const shared = `${iso.pool}/shared-data`;
  const mirror = { "registry-mirrors": [`http://${iso.net}.1:5000`], "insecure-registries": [`${iso.net}.1:5000`] };
  const net = (ip: string) => `name=eth0,bridge=${iso.bridge},ip=${ip}/24,gw=${iso.net}.1`;
  const pctCreate = async (vmid: number, hostname: string, o: Record<string, string | number>) => {
    await task(api, "POST", "nodes/lab/lxc", {
      vmid,
      hostname,
      ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
      searchdomain: "lab.internal",
      ...o,
    });
    await task(api, "POST", `nodes/lab/lxc/${vmid}/status/start`);
  };
  // the storage's dataset and the shared one, made as the original's ZFS setup script made them
  run("zfs", ["create", "-o", "compression=on", "-o", "recordsize=16K", `${iso.pool}/lxc-disks`]);
  run("zfs", ["create", "-o", "compression=on", "-o", "recordsize=128K", "-o", "quota=1G", shared]);
  writeFileSync(join(run("zfs", ["get", "-H", "-o", "value", "mountpoint", shared]).stdout.trim(), "kept.txt"), "data\n");

  await pctCreate(901, "docker-golden", {
    rootfs: "tank-lxc:4",
    memory: 1024,
    cores: 2,
    unprivileged: 1,
    features: "keyctl=1,nesting=1",
    net0: net(`${iso.net}.91`),
  });
  installDockerByHand(lxc, 901, mirror);
  await task(api, "POST", "nodes/lab/lxc/901/status/shutdown", { timeout: 60 });
  await api.data("POST", "nodes/lab/lxc/901/template");
  for (let i = 0; i < 60; i++) {
    if ((await api.data<Record<string, unknown>>("GET", "nodes/lab/lxc/901/config")).template === 1) break;
    await new Promise((r) => setTimeout(r, 500));
  }

  await task(api, "POST", "nodes/lab/lxc/901/clone", { newid: 200, hostname: "app", full: 1, storage: "tank-lxc" });
  await api.data("PUT", "nodes/lab/lxc/200/config", { memory: 768, cores: 1, net0: net(`${iso.net}.10`) });
  await task(api, "POST", "nodes/lab/lxc/200/status/start");

  await pctCreate(210, "data", {
    rootfs: "tank-lxc:3",
    memory: 512,
    cores: 1,
    // privileged, as the original made it: Proxmox (and the lab) make a container unprivileged unless told otherwise
    unprivileged: 0,
    features: "nesting=1",
    net0: net(`${iso.net}.20`),
  });
  await api.data("PUT", "nodes/lab/lxc/210/config", { mp0: `/${shared},mp=/data` });
  await task(api, "POST", "nodes/lab/lxc/210/status/reboot");
  installDockerByHand(lxc, 210, {});

  await pctCreate(250, "legacy", { rootfs: "tank-lxc:2", memory: 256, net0: net(`${iso.net}.50`) });
  return { api, shared, mirror };
}
