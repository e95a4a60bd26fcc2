// End to end, the Proxmox firewall on the lab with the real engine and provider: two containers, one firewalled with
// a rule that lets the other reach its SSH port and a policy that drops the rest. The rules read back from the lab's
// API as Proxmox stores them; the lab's nftables enforce them (SSH reachable from the other guest, a second sshd on
// 2222 not); a rule changed through the API behind Pulumi's back shows on refresh, `up` puts it back, and a second
// `up` changes nothing.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabClient } from "../../lab/pve/client";
import { Lxc } from "../../lab/host/lxc";
import { firewallTable } from "../../lab/host/firewall-nft";
import { run } from "../../lab/host/run";
import type { PulumiProject } from "../support/pulumi-project";
import { isolatedDevDefinition } from "../support/lab-definition";
import { labStack } from "../support/lab-stack";
import { changes, updatedBy } from "../support/e2e-changes";

const dir = mkdtempSync(join(tmpdir(), "phoenix-e2e-firewall-"));
const state = join(dir, "state");
const iso = isolatedDevDefinition(dir);
const SERVER = 240;
const CLIENT = 241;
let project: PulumiProject;
let api: LabClient;
let teardown: () => Promise<void>;
const lxc = new Lxc(join(state, "lxc"));

const inCt = (vmid: number, command: string) => lxc.exec(vmid, ["bash", "-c", command]);
/** Whether the client opens a TCP connection to the server's port within 5 s. */
const reaches = (address: string, port: number) => inCt(CLIENT, `timeout 5 bash -c '</dev/tcp/${address}/${port}'`).code === 0;
/** What a failed reachability assertion prints: the lab's nftables, the server's listeners, the client's address. */
const why = () =>
  [
    run("nft", ["list", "ruleset"], { allowFail: true }).stdout,
    inCt(SERVER, "ss -ltn").stdout,
    inCt(CLIENT, "ip -br addr").stdout,
    `this lab's tables: ${firewallTable(state)}`,
  ].join("\n");
/** Waits until the server's own sshd listens on 22: a container can still be booting when `up` returns. */
async function sshdListening(): Promise<boolean> {
  for (let i = 0; i < 120; i++) {
    if (inCt(SERVER, "ss -ltn | grep -q ':22 '").code === 0) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}
const guestRules = () =>
  api.data<{ pos: number; type: string; action: string; proto?: string; dport?: string; source?: string; enable?: number }[]>(
    "GET",
    `nodes/lab/lxc/${SERVER}/firewall/rules`,
  );

function definition() {
  const d = iso.raw;
  d.nodes[0].zfs.datasets = d.nodes[0].zfs.datasets.map((x: any) => ({ ...x, protect: false }));
  d.templates = [d.templates[0]];
  d.apps = [];
  const guest = (vmid: number, name: string, extra: object) => ({
    vmid,
    name,
    template: "debian-12-base",
    memory: 256,
    disk: { storage: "tank-lxc", size: 2 },
    backupBeforeReplace: false,
    ...extra,
  });
  // The nodes' own traffic is left as it is (policyIn ACCEPT): the lab's node is this machine.
  d.firewall = { enable: true, policyIn: "ACCEPT" };
  d.guests = [
    guest(SERVER, "server", {
      network: [{ name: "eth0", bridge: iso.bridge, ip: `${iso.net}.40/24`, firewall: true }],
      firewall: {
        policyIn: "DROP",
        // what the policy drops, and the SSH the rule lets in, go to the firewall's log
        logLevelIn: "info",
        rules: [{ action: "ACCEPT", proto: "tcp", dport: "22", source: "client", log: "info", comment: "SSH from the client" }],
      },
    }),
    guest(CLIENT, "client", { network: [{ name: "eth0", bridge: iso.bridge, ip: "auto" }] }),
  ];
}

beforeAll(async () => {
  definition();
  let lab;
  ({ lab, project, teardown } = await labStack({ dir, iso, stackName: "firewall" }));
  api = new LabClient({ url: lab.apiUrl, token: `${lab.credentials.tokenId}=${lab.credentials.tokenSecret}` });
}, 30 * 60_000);

afterAll(() => teardown?.(), 300_000);

describe("the Proxmox firewall on the lab", () => {
  const server = `${iso.net}.40`;
  let client = "";

  it(
    "up writes the datacenter's and the guest's firewall, and the lab enforces it",
    async () => {
      const up = await project.stack.up();
      expect(up.summary.result).toBe("succeeded");
      const guests = (await project.stack.outputs()).guests!.value as Record<string, { addresses: string[] }>;
      client = guests.client!.addresses[0]!;
      expect(client).toMatch(/^10\.253\.\d+\.1\d\d$/);

      expect(await api.data("GET", "cluster/firewall/options")).toMatchObject({ enable: 1, policy_in: "ACCEPT" });
      expect(await api.data("GET", `nodes/lab/lxc/${SERVER}/firewall/options`)).toMatchObject({
        enable: 1,
        policy_in: "DROP",
        log_level_in: "info",
      });
      // The client's name became its planned address.
      expect(await guestRules()).toEqual([
        expect.objectContaining({ pos: 0, type: "in", action: "ACCEPT", proto: "tcp", dport: "22", source: client }),
      ]);

      // A second sshd in the server on 2222: something listens there, so only the firewall can keep the client out.
      // Started once the server has booted (its own sshd listens): one started while it was still booting was gone by
      // the next test in a fresh-clone CI run.
      expect(await sshdListening(), why()).toBe(true);
      expect(inCt(SERVER, "/usr/sbin/sshd -p 2222 && sleep 1 && ss -ltn | grep -c ':2222 '").stdout.trim()).not.toBe("0");
      expect(reaches(server, 22), why()).toBe(true);
      expect(reaches(server, 2222), why()).toBe(false);
      // The client has no firewall: the server reaches whatever listens there.
      expect(inCt(SERVER, `timeout 5 bash -c '</dev/tcp/${client}/22'`).code).toBe(0);
      // Both went to the firewall's log, read through the API as pve-firewall's lines: the SSH let in, 2222 dropped.
      const log = async () =>
        ((await api.data("GET", `nodes/lab/lxc/${SERVER}/firewall/log`, { limit: 0 })) as { t: string }[]).map((l) => l.t);
      for (let i = 0; i < 30 && !(await log()).some((l) => l.includes("DPT=2222 ")); i++)
        await new Promise((r) => setTimeout(r, 200));
      const lines = await log();
      const head = `^${SERVER} 6 veth${SERVER}i0-IN \\S+ \\S+ `;
      const from = `SRC=${client.replace(/\./g, "\\.")} DST=${server.replace(/\./g, "\\.")} `;
      expect(
        lines.some((l) => new RegExp(`${head}ACCEPT: .*${from}.*PROTO=TCP SPT=\\d+ DPT=22 `).test(l)),
        lines.join("\n"),
      ).toBe(true);
      expect(
        lines.some((l) => new RegExp(`${head}policy DROP: .*${from}.*DPT=2222 `).test(l)),
        lines.join("\n"),
      ).toBe(true);
    },
    30 * 60_000,
  );

  it(
    "a rule changed behind Pulumi's back shows on refresh, up puts it back, and a second up changes nothing",
    async () => {
      // the second sshd still listens (else the reachability below would say nothing about the firewall)
      expect(inCt(SERVER, "ss -ltn | grep -c ':2222 '").stdout.trim(), why()).not.toBe("0");
      await api.call("PUT", `nodes/lab/lxc/${SERVER}/firewall/rules/0`, { dport: "2222" });
      expect((await guestRules())[0]).toMatchObject({ dport: "2222" });
      expect(reaches(server, 2222), why()).toBe(true);
      expect(reaches(server, 22), why()).toBe(false);

      // refresh and up each touch exactly the guest's rules
      expect(await updatedBy((o) => project.stack.refresh(o))).toEqual(["server-firewall-rules"]);
      expect(await updatedBy((o) => project.stack.up(o))).toEqual(["server-firewall-rules"]);
      expect((await guestRules())[0]).toMatchObject({ dport: "22", source: client });
      expect(reaches(server, 22), why()).toBe(true);
      expect(reaches(server, 2222), why()).toBe(false);

      const again = await project.stack.up();
      expect(changes(again.summary.resourceChanges)).toEqual({});
    },
    20 * 60_000,
  );
});
