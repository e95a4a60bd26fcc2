// End to end on a two-node lab with the real engine and provider: one definition with nodes `lab` and `lab2` (each
// its own zfs-fuse pool and `local`, one API for both), a container on each. `up` puts each where the definition says
// and /cluster/resources lists both nodes and both guests; changing one container's node makes the preview say
// "migrates" with no container replaced or deleted, `up` migrates it (same vmid, a file written before still there),
// and a second `up` changes nothing. Removing the other guest deletes it (through its placement) from its node. Both
// are HA resources (`ha:`), `other` with a node preference (an HA rule): the lab's API lists them, and they go with it.
// A guest the cluster moves without Phoenix (an HA migration request) is not brought back by itself (refused, with the
// fix); once the definition follows it, it is adopted where it runs, with or without a refresh in between.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect } from "node:net";
import { join } from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { nodeStateDir } from "../../lab/api-daemon";
import { Lxc } from "../../lab/host/lxc";
import { LabClient } from "../../lab/pve/client";
import type { LabUp } from "../../lab/lab";
import { freePort } from "../support/sshd";
import type { PulumiProject } from "../support/pulumi-project";
import { isolatedDevDefinition, plainGuest } from "../support/lab-definition";
import { labStack } from "../support/lab-stack";
import { changes } from "../support/e2e-changes";

const dir = mkdtempSync(join(tmpdir(), "phoenix-e2e-cluster-"));
const iso = isolatedDevDefinition(dir);
const MOVER = 250;
const OTHER = 251;
let project: PulumiProject;
let api: LabClient;
let state = "";
let teardown: () => Promise<void>;
let lab: LabUp;

async function definition() {
  const d = iso.raw;
  const [lab] = d.nodes;
  lab.zfs.datasets = lab.zfs.datasets.map((x: any) => ({ ...x, protect: false }));
  // lab2: its own pool and `local`, the same storage ids (a restart migration keeps them), its own sshd (the lab starts
  // one per node with SSH; the same key logs in), and the API of the one cluster (the same object: the lab's endpoint
  // and pinned certificate are filled in once).
  const pool2 = `${iso.pool}b`;
  d.nodes.push({
    name: "lab2",
    cores: lab.cores,
    memory: lab.memory,
    api: lab.api,
    ssh: { ...lab.ssh, port: await freePort() },
    storage: [
      { ...lab.storage[0], path: join(dir, "vz2") },
      { ...lab.storage[1], pool: pool2 },
    ],
    backup: lab.backup,
    zfs: { pools: [{ name: pool2 }], datasets: [] },
  });
  // the base template's file is on both nodes' `local` (the lab installs it on every node)
  d.templates = [{ ...d.templates[0], node: "lab" }];
  d.apps = [];
  d.guests = [
    plainGuest(iso, MOVER, "mover", { node: "lab", memory: 256, ha: {} }),
    plainGuest(iso, OTHER, "other", { node: "lab2", memory: 256, ha: { nodes: ["lab2", "lab"], maxRestart: 2 } }),
  ];
}

/** Rewrites the stack's definition file. */
function edit(change: (d: any) => void): void {
  const d = parse(readFileSync(project.definition, "utf8"));
  change(d);
  writeFileSync(project.definition, stringify(d));
}

/** Whether the guest's sshd answers on port 22 within 60 s (it may still be booting). */
async function sshAnswers(address: string): Promise<boolean> {
  for (let i = 0; i < 60; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: address, port: 22, timeout: 2000 });
      socket.once("data", (b) => {
        socket.destroy();
        resolve(b.toString().startsWith("SSH-"));
      });
      socket.once("error", () => resolve(false));
      socket.once("timeout", () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return false;
}

/** A command on a lab node through its own sshd, with the OpenSSH client and the lab's one key (its host key pinned). */
function onNode(node: string, command: string): { code: number; out: string } {
  const entry = node === "lab" ? { sshPort: lab.sshPort, sshHostKey: lab.sshHostKey } : lab.nodes.find((n) => n.node === node)!;
  const key = join(dir, "node-key");
  writeFileSync(key, lab.sshPrivateKey, { mode: 0o600 });
  const known = join(dir, `known-${node}`);
  writeFileSync(known, `[127.0.0.1]:${entry.sshPort} ${entry.sshHostKey}\n`);
  const opts = ["-i", key, "-p", String(entry.sshPort), "-o", `UserKnownHostsFile=${known}`, "-o", "StrictHostKeyChecking=yes"];
  const r = spawnSync("ssh", [...opts, "-o", "BatchMode=yes", "root@127.0.0.1", command], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`.trim() };
}

const lxcOn = (node: string) => new Lxc(join(node === "lab" ? state : nodeStateDir(state, node), "lxc"));
const resources = () => api.data<{ type: string; id: string; node?: string; vmid?: number }[]>("GET", "cluster/resources");
const whereIs = async (vmid: number) => (await resources()).find((r) => r.type === "lxc" && r.vmid === vmid)?.node;
const haResources = () => api.data<Record<string, unknown>[]>("GET", "cluster/ha/resources");
const haRules = () => api.data<Record<string, unknown>[]>("GET", "cluster/ha/rules");

/** A preview's steps (resource type, name, operation) and its warnings, as the engine announces them. */
async function previewed(): Promise<{ steps: { type: string; name: string; op: string }[]; warnings: string[] }> {
  const steps: { type: string; name: string; op: string }[] = [];
  const warnings: string[] = [];
  const onEvent = (e: EngineEvent) => {
    const m = e.resourcePreEvent?.metadata;
    if (m) steps.push({ type: m.type, name: m.urn.split("::").pop()!, op: m.op });
    if (e.diagnosticEvent?.severity === "warning") warnings.push(e.diagnosticEvent.message);
  };
  await project.stack.preview({ onEvent });
  return { steps, warnings };
}

/** Moves an HA-managed container through an HA migration request (as a recovery would), until it runs there. */
async function movedByHa(vmid: number, from: string, to: string): Promise<void> {
  expect(await api.task("POST", `nodes/${from}/lxc/${vmid}/migrate`, { target: to, restart: 1 })).toBe("OK");
  const deadline = Date.now() + 180_000;
  const settled = async () => {
    const r = (await resources()).find((x: any) => x.type === "lxc" && x.vmid === vmid) as any;
    return r?.node === to && !r.lock && r.status === "running";
  };
  while (!(await settled())) {
    expect(Date.now(), `the HA request's migration to ${to}`).toBeLessThan(deadline);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

beforeAll(async () => {
  await definition();
  ({ lab, project, teardown, state } = await labStack({ dir, iso, stackName: "cluster" }));
  api = new LabClient({ url: lab.apiUrl, token: `${lab.credentials.tokenId}=${lab.credentials.tokenSecret}` });
}, 30 * 60_000);

afterAll(() => teardown?.(), 300_000);

describe("a two-node lab", () => {
  it(
    "up puts each container on its node; /cluster/resources lists both nodes and both guests, each reachable",
    async () => {
      const up = await project.stack.up();
      expect(up.summary.result).toBe("succeeded");
      const all = await resources();
      expect(
        all
          .filter((r) => r.type === "node")
          .map((r) => r.node)
          .sort(),
      ).toEqual(["lab", "lab2"]);
      expect(await whereIs(MOVER)).toBe("lab");
      expect(await whereIs(OTHER)).toBe("lab2");
      const guests = (await project.stack.outputs()).guests!.value as Record<string, { addresses: string[] }>;
      for (const name of ["mover", "other"]) {
        const address = guests[name]!.addresses[0]!;
        expect(await sshAnswers(address), `${name}'s sshd at ${address}`).toBe(true);
      }
      expect(lxcOn("lab").exec(MOVER, ["bash", "-c", "echo written-on-lab > /root/keep.txt && sync"]).code).toBe(0);
      // each node its own sshd (its own host key) and `pct`, on its own guests only, with Proxmox's words otherwise
      const lab2 = lab.nodes.find((n) => n.node === "lab2")!;
      expect(lab2.sshHostKey).not.toBe(lab.sshHostKey);
      expect(onNode("lab2", `pct status ${OTHER}; ls /etc/pve/lxc`)).toEqual({ code: 0, out: `status: running\n${OTHER}.conf` });
      expect(onNode("lab2", `pct status ${MOVER}`)).toEqual({
        code: 255,
        out: `Configuration file 'nodes/lab2/lxc/${MOVER}.conf' does not exist`,
      });
      expect(onNode("lab", `pct status ${MOVER}; pct status ${OTHER}`)).toEqual({
        code: 255,
        out: `status: running\nConfiguration file 'nodes/lab/lxc/${OTHER}.conf' does not exist`,
      });
      expect(onNode("lab2", `pct exec ${OTHER} -- hostname`)).toEqual({ code: 0, out: "other" });
      // every node's sessions see the whole cluster's configs, as pmxcfs shows them, the own node's again at lxc/
      expect(onNode("lab2", "ls /etc/pve/nodes/lab/lxc /etc/pve/nodes/lab2/lxc /etc/pve/local/lxc")).toEqual({
        code: 0,
        out: `/etc/pve/local/lxc:\n${OTHER}.conf\n\n/etc/pve/nodes/lab/lxc:\n${MOVER}.conf\n\n/etc/pve/nodes/lab2/lxc:\n${OTHER}.conf`,
      });
      // HA: both guests are HA resources with the definition's options; `other` prefers lab2, then lab
      const ha = await haResources();
      expect(ha.map((r) => [r["sid"], r["state"], r["max_restart"]]).sort()).toEqual([
        [`ct:${MOVER}`, "started", 1],
        [`ct:${OTHER}`, "started", 2],
      ]);
      const rules = await haRules();
      expect(rules).toEqual([
        expect.objectContaining({
          rule: "phoenix-node-other",
          type: "node-affinity",
          resources: `ct:${OTHER}`,
          nodes: "lab:1,lab2:2", // Proxmox prints them sorted by name
        }),
      ]);
    },
    30 * 60_000,
  );

  it(
    "a container whose node changes: the preview says migrate, up migrates it with its vmid and data, a second up does nothing",
    async () => {
      edit((d) => (d.guests.find((g: any) => g.name === "mover").node = "lab2"));
      const { steps, warnings } = await previewed();
      expect(warnings.join("\n")).toMatch(/mover migrates from node 'lab' to node 'lab2' \(restart mode/);
      expect(warnings.join("\n")).not.toMatch(/REPLACED|DESTROYED|deleted on 'lab'/);
      const opsOf = (name: string, type: RegExp) => steps.filter((x) => x.name === name && type.test(x.type)).map((x) => x.op);
      expect(opsOf("mover-placement", /./)).toContain("replace");
      // no container is replaced, deleted or made anew: the one that moves is the same or updated in place
      const containers = steps.filter((x) => /ContainerLegacy/.test(x.type));
      expect(containers.filter((x) => !["same", "update"].includes(x.op))).toEqual([]);

      const up = await project.stack.up();
      expect(up.summary.result).toBe("succeeded");
      expect(await whereIs(MOVER)).toBe("lab2");
      const config = await api.data<Record<string, string>>("GET", `nodes/lab2/lxc/${MOVER}/config`);
      expect(config["hostname"]).toBe("mover");
      const kept = lxcOn("lab2").exec(MOVER, ["cat", "/root/keep.txt"]);
      expect(kept.stdout.trim()).toBe("written-on-lab");
      expect((await api.data<{ status: string }>("GET", `nodes/lab2/lxc/${MOVER}/status/current`)).status).toBe("running");

      // still HA-managed where it now runs
      expect((await haResources()).map((r) => r["sid"])).toContain(`ct:${MOVER}`);

      const again = await project.stack.up();
      expect(changes(again.summary.resourceChanges)).toEqual({});
    },
    30 * 60_000,
  );

  it(
    "a container the cluster moved without Phoenix (an HA request) is not brought back by itself; set where it runs, it is adopted there",
    async () => {
      // as HA would after a failure, or an admin: the guest moves to lab while the definition keeps it on lab2
      await movedByHa(MOVER, "lab2", "lab");
      // the agent's scheduled refresh: the provider, asking lab2, no longer finds the container there and drops it
      const refreshed = await project.stack.refresh();
      expect(refreshed.summary.result).toBe("succeeded");
      expect(refreshed.summary.resourceChanges?.["delete"]).toBe(1);
      // an up refuses before anything is touched, with the fix
      const refusal = await project.stack.up().then(
        () => "",
        (e: Error) => e.message,
      );
      expect(refusal).toMatch(
        /refused; nothing was touched:\s+mover runs on node 'lab', not on 'lab2' where the last up left it \(moved outside Phoenix[^)]*\); Phoenix does not bring it back to 'lab2' by itself\. To keep it where it runs, set its node to 'lab'/,
      );
      expect(await whereIs(MOVER)).toBe("lab");
      expect(lxcOn("lab").exec(MOVER, ["cat", "/root/keep.txt"]).stdout.trim()).toBe("written-on-lab");

      // the fix: the definition follows it; the preview says so and replaces no container
      edit((d) => (d.guests.find((g: any) => g.name === "mover").node = "lab"));
      const { steps, warnings } = await previewed();
      expect(warnings.join("\n")).toMatch(/mover runs on node 'lab', not on 'lab2' .*adopted where it runs \(nothing moves\)/);
      expect(warnings.join("\n")).not.toMatch(/REPLACED|DESTROYED|refused/);
      const destructive = ["delete", "replace", "create-replacement", "delete-replaced", "discard"];
      expect(steps.filter((x) => destructive.includes(x.op) && !/Placement/.test(x.type))).toEqual([]);

      const up = await project.stack.up();
      const made = changes(up.summary.resourceChanges);
      expect(made["import"]).toBe(1);
      expect(made["delete"]).toBeUndefined();
      expect(await whereIs(MOVER)).toBe("lab");
      expect(lxcOn("lab").exec(MOVER, ["cat", "/root/keep.txt"]).stdout.trim()).toBe("written-on-lab");
      expect((await haResources()).map((r) => r["sid"])).toContain(`ct:${MOVER}`);
      expect(changes((await project.stack.up()).summary.resourceChanges)).toEqual({});
    },
    30 * 60_000,
  );

  it(
    "without a refresh in between (the container still in the state), adopting it where it runs deletes nothing",
    async () => {
      await movedByHa(MOVER, "lab", "lab2");
      edit((d) => (d.guests.find((g: any) => g.name === "mover").node = "lab2"));
      const up = await project.stack.up();
      expect(up.summary.result).toBe("succeeded");
      // its container is imported anew where it runs; the state's old one is dropped with its placement, not deleted
      expect(await whereIs(MOVER)).toBe("lab2");
      expect(lxcOn("lab2").exec(MOVER, ["cat", "/root/keep.txt"]).stdout.trim()).toBe("written-on-lab");
      expect((await api.data<{ status: string }>("GET", `nodes/lab2/lxc/${MOVER}/status/current`)).status).toBe("running");
      expect(changes((await project.stack.up()).summary.resourceChanges)).toEqual({});
    },
    30 * 60_000,
  );

  it(
    "removing a guest deletes it from its node",
    async () => {
      edit((d) => (d.guests = d.guests.filter((g: any) => g.name !== "other")));
      const up = await project.stack.up();
      expect(up.summary.result).toBe("succeeded");
      expect(await whereIs(OTHER)).toBeUndefined();
      expect(await whereIs(MOVER)).toBe("lab2");
      // its HA resource and rule went with it
      expect((await haResources()).map((r) => r["sid"])).toEqual([`ct:${MOVER}`]);
      expect(await haRules()).toEqual([]);
    },
    20 * 60_000,
  );
});
