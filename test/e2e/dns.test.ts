// End to end: internal DNS names on the lab, converged by the real engine and provider. The node's dnsmasq (Debian's,
// run by the lab node's systemctl on the lab's bridge address) names two guests, one static and one from the pool;
// a guest resolves the other through it; with the datacenter firewall on (input DROP), only through the rule Phoenix
// adds for it on the node; a hand edit of the node's file is drift that up repairs; a guest removed from the
// definition loses its name; destroy takes the names away.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withSession } from "../../provisioners/engine/ssh";
import { dnsmasqConf } from "../../provisioners/dns/dns";
import type { LabUp } from "../../lab/lab";
import type { PulumiProject } from "../support/pulumi-project";
import { isolatedDevDefinition } from "../support/lab-definition";
import { labStack } from "../support/lab-stack";
import { changes } from "../support/e2e-changes";
import { LabClient } from "../../lab/pve/client";
import { run } from "../../lab/host/run";

const dir = mkdtempSync(join(tmpdir(), "phoenix-e2e-dns-"));
const iso = isolatedDevDefinition(dir, { dns: true });
const net = iso.net;
let lab: LabUp;
let project: PulumiProject;
let teardown: () => Promise<void>;
/** The node's /etc/dnsmasq.d/phoenix.conf as the lab node's sessions see it (lab/host/node-services.ts). */
const nodeConf = () => join(dir, "state", "node", "etc-dnsmasq.d", "phoenix.conf");

const sshTo = (host: string, command: string, port?: number) =>
  withSession(
    { host, ...(port ? { port } : {}), privateKey: lab.sshPrivateKey, dialErrorLimit: 30, perDialTimeoutMs: 5000 },
    (s) => s.exec(command),
  );
const onNode = (command: string) => sshTo("127.0.0.1", command, lab.sshPort);
/** What `getent hosts <name>` prints in the guest at `from`, spaces squeezed: "<address> <name>", or "" when unknown. */
const lookup = async (from: string, name: string) =>
  (await sshTo(from, `getent hosts ${name} || true`)).stdout.trim().replace(/\s+/g, " ");
const guest = (name: string, ip: string) => ({
  vmid: name === "web" ? 310 : 320,
  name,
  template: "debian-12-base",
  cores: 1,
  memory: 256,
  disk: { storage: "tank-lxc", size: 1 },
  network: [{ name: "eth0", bridge: iso.bridge, ip }],
  // a guest removed here is deleted without a backup first: this test is about its name
  backupBeforeReplace: false,
});

beforeAll(async () => {
  // Only the base template and two plain guests: the DNS server needs nothing more.
  iso.raw.templates = [iso.raw.templates[0]];
  iso.raw.guests = [guest("web", `${net}.10/24`), guest("db", "auto")];
  iso.raw.apps = [];
  iso.raw.nodes[0].zfs.datasets = iso.raw.nodes[0].zfs.datasets
    .filter((d: any) => d.name.endsWith("/lxc-disks"))
    .map((d: any) => ({ ...d, protect: false }));
  expect(iso.raw.network.dns).toEqual({ listen: `${net}.1`, upstream: [] });
  // The datacenter firewall on, its input policy DROP (the default): the node's own traffic is filtered (its host
  // chains), so guests reach the node's dnsmasq only through the rule Phoenix adds for it.
  iso.raw.firewall = { enable: true };
  ({ lab, project, teardown } = await labStack({ dir, iso, stackName: "e2e-dns" }));
}, 30 * 60_000);

afterAll(() => teardown?.(), 300_000);

describe("internal DNS names on the lab", () => {
  let dbIp: string;
  let planned: string;

  it(
    "up: the node's dnsmasq names both guests at their planned addresses, and a guest resolves the other through it",
    async () => {
      const up = await project.stack.up();
      expect(up.summary.result).toBe("succeeded");
      const outputs = (await project.stack.outputs()).guests!.value as Record<string, { addresses: string[] }>;
      dbIp = outputs.db!.addresses[0]!;
      expect(dbIp).toMatch(new RegExp(`^${net.replace(/\./g, "\\.")}\\.1\\d\\d$`));

      planned = readFileSync(nodeConf(), "utf8");
      expect(planned).toBe(
        dnsmasqConf({
          listen: `${net}.1`,
          domain: "lab.internal",
          upstream: [],
          records: [
            { name: "db.lab.internal", address: dbIp },
            { name: "web.lab.internal", address: `${net}.10` },
          ],
        }),
      );
      // the guests resolve through it: their resolv.conf names it, with the domain to search
      expect((await sshTo(`${net}.10`, "cat /etc/resolv.conf")).stdout).toBe(`search lab.internal\nnameserver ${net}.1\n`);
      expect(await lookup(`${net}.10`, "db.lab.internal")).toBe(`${dbIp} db.lab.internal`);
      expect(await lookup(dbIp, "web.lab.internal")).toBe(`${net}.10 web.lab.internal`);
      // an unknown name of the domain is answered by the server itself: no such name
      expect(await lookup(`${net}.10`, "nobody.lab.internal")).toBe("");
      expect((await onNode("systemctl is-active dnsmasq")).stdout.trim()).toBe("active");
    },
    20 * 60_000,
  );

  it(
    "a second up changes nothing",
    async () => {
      const again = await project.stack.up();
      expect(changes(again.summary.resourceChanges)).toEqual({});
      expect(readFileSync(nodeConf(), "utf8")).toBe(planned);
    },
    10 * 60_000,
  );

  it(
    "the datacenter's input policy drops DNS to the node but for Phoenix's rule: turned off by hand, names fail until up",
    async () => {
      const api = new LabClient({ url: lab.apiUrl, token: `${lab.credentials.tokenId}=${lab.credentials.tokenSecret}` });
      const rules = await api.data<Record<string, unknown>[]>("GET", "cluster/firewall/rules");
      const dnsRules = rules.filter((r) => r["dport"] === "53");
      expect(dnsRules.map((r) => [r["proto"], r["dest"], r["action"], r["enable"]])).toEqual([
        ["udp", `${net}.1`, "ACCEPT", 1],
        ["tcp", `${net}.1`, "ACCEPT", 1],
      ]);
      const nft = run("nft", ["list", "ruleset"]).stdout;
      expect(nft).toMatch(new RegExp(`ip daddr ${net.replace(/\./g, "\\.")}\\.1 udp dport 53 accept`));
      // both turned off, as an admin might in the web UI: the node's policy drops the guests' queries
      for (const r of dnsRules) await api.data("PUT", `cluster/firewall/rules/${String(r["pos"])}`, { enable: 0 });
      const quick = async () =>
        (await sshTo(`${net}.10`, "RES_OPTIONS='timeout:1 attempts:1' getent hosts db.lab.internal || true")).stdout.trim();
      expect(await quick()).toBe("");
      // drift: the refresh reads the rules back, the up puts them back on
      expect(changes((await project.stack.refresh()).summary.resourceChanges)).toEqual({ update: 1 });
      const repaired = await project.stack.up();
      expect(changes(repaired.summary.resourceChanges)).toEqual({ update: 1 });
      expect((await quick()).replace(/\s+/g, " ")).toBe(`${dbIp} db.lab.internal`);
      expect(changes((await project.stack.up()).summary.resourceChanges)).toEqual({});
    },
    10 * 60_000,
  );

  it(
    "a record edited by hand on the node shows on refresh, and up puts it back",
    async () => {
      const wrong = `${net}.250`;
      writeFileSync(nodeConf(), planned.replace(`db.lab.internal,${dbIp}`, `db.lab.internal,${wrong}`));
      expect((await onNode("systemctl restart dnsmasq && systemctl is-active dnsmasq")).stdout.trim()).toBe("active");
      expect(await lookup(`${net}.10`, "db.lab.internal")).toBe(`${wrong} db.lab.internal`);

      const refreshed = await project.stack.refresh();
      expect(changes(refreshed.summary.resourceChanges)).toEqual({ update: 1 });
      const preview = await project.stack.preview();
      expect(changes(preview.changeSummary)).toEqual({ update: 1 });
      const repaired = await project.stack.up();
      expect(changes(repaired.summary.resourceChanges)).toEqual({ update: 1 });
      expect(readFileSync(nodeConf(), "utf8")).toBe(planned);
      expect(await lookup(`${net}.10`, "db.lab.internal")).toBe(`${dbIp} db.lab.internal`);
      expect(changes((await project.stack.up()).summary.resourceChanges)).toEqual({});
    },
    10 * 60_000,
  );

  it(
    "a guest removed from the definition loses its name",
    async () => {
      iso.raw.guests = iso.raw.guests.filter((g: any) => g.name !== "db");
      writeFileSync(project.definition, stringify(iso.raw));
      const r = await project.stack.up();
      expect(r.summary.result).toBe("succeeded");
      expect(changes(r.summary.resourceChanges)).toMatchObject({ update: 1 });
      expect(readFileSync(nodeConf(), "utf8")).not.toContain("db.lab.internal");
      expect(await lookup(`${net}.10`, "db.lab.internal")).toBe("");
      expect(await lookup(`${net}.10`, "web.lab.internal")).toBe(`${net}.10 web.lab.internal`);
    },
    10 * 60_000,
  );

  it(
    "destroy takes the names away: the file is gone and the node's dnsmasq stopped",
    async () => {
      await project.stack.destroy();
      expect(() => readFileSync(nodeConf(), "utf8")).toThrow(/ENOENT/);
      expect((await onNode("systemctl is-active dnsmasq || true")).stdout.trim()).toBe("inactive");
    },
    10 * 60_000,
  );
});
