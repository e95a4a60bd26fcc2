// The firewall's logging in the lab: the log rules the ruleset gets (pve-firewall's: a rule's `log`, a DROP or REJECT
// policy's log_level_in/out, a security group's own chain, the node's chains), and the log API
// (/nodes/{node}/firewall/log, /nodes/{node}/{lxc,qemu}/{vmid}/firewall/log) over the node's log lines.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LabApi, startLabApi } from "../../lab/api/server";
import { logGroup } from "../../lab/host/firewall-log";
import { renderRuleset } from "../../lab/host/firewall-nft";
import { parseFwFile } from "../../lab/pve/firewall-config";
import { logTime } from "../../lab/pve/firewall-log";
import type { LabClient } from "../../lab/pve/client";
import { MemoryBackend } from "../../lab/pve/memory-backend";
import { fidelityApiOptions, tokenClient } from "../support/fidelity-cases";

const CLUSTER = parseFwFile(
  "[OPTIONS]\n\nenable: 1\n\n[group web]\n\nIN ACCEPT -p tcp -dport 443 -log warning\n\n" +
    "[RULES]\n\nIN ACCEPT -p tcp -dport 22 -log info\n",
);
const GUEST = parseFwFile(
  "[OPTIONS]\n\nenable: 1\nlog_level_in: info\nlog_level_out: debug\n\n" +
    "[RULES]\n\nIN ACCEPT -p tcp -dport 8080 -log notice\nIN DROP -p tcp -dport 9000 -log nolog\nGROUP web\n" +
    "IN REJECT -i net1 -p udp -dport 53 -log err\n",
);
const PORTS = [
  { net: "net0", dev: "veth200i0" },
  { net: "net1", dev: "veth200i1" },
];
const lines = (text: string, chain: string) => {
  const from = text.indexOf(`chain ${chain} {`);
  return text
    .slice(from, text.indexOf("}\n", from))
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("chain"));
};

describe("the log rules of the ruleset", () => {
  it("log a rule with `log` before it acts, a group's rule from the group's chain, and a DROP policy with its level", () => {
    const text = renderRuleset(CLUSTER, [{ vmid: 200, type: "lxc", fw: GUEST, ports: PORTS }], "t", undefined, 4242);
    const chain = lines(text, "guest-200-in");
    const at = (s: string) => chain.findIndex((l) => l.includes(s));
    expect(chain[at("dport 8080")]).toBe(
      'tcp dport 8080 limit rate 1/second log group 4242 prefix ":200:5:veth200i0-IN: ACCEPT: "',
    );
    expect(chain[at("dport 8080") + 1]).toBe('tcp dport 8080 accept comment "in ACCEPT"');
    expect(chain.filter((l) => l.includes("dport 9000"))).toEqual(['tcp dport 9000 drop comment "in DROP"']);
    expect(chain).toContain('tcp dport 443 limit rate 1/second log group 4242 prefix ":0:4:GROUP-web-IN: "');
    // a rule on net1 logs under net1's chain, matched by its port's mark
    expect(chain.find((l) => l.includes("udp dport 53") && l.includes("log"))).toMatch(
      /^meta mark & 0x0000ffff == 0x2 udp dport 53 limit rate 1\/second log group 4242 prefix ":200:3:veth200i1-IN: REJECT: "$/,
    );
    expect(chain.slice(-3)).toEqual([
      // broadcast and multicast are dropped unlogged first, as PVEFW-Drop does
      'meta pkttype { broadcast, multicast } drop comment "PVEFW-Drop: not logged"',
      'limit rate 1/second log group 4242 prefix ":200:6:veth200i0-IN: policy DROP: "',
      'drop comment "policy_in DROP"',
    ]);
    // ACCEPT policies are never logged, whatever the level (log_level_out: debug here)
    expect(lines(text, "guest-200-out").some((l) => l.includes(" log "))).toBe(false);
  });

  it("logs nothing without a logger, and a VM's chains are its tap's", () => {
    expect(renderRuleset(CLUSTER, [{ vmid: 200, fw: GUEST, ports: PORTS }], "t")).not.toContain(" log ");
    const vm = renderRuleset(CLUSTER, [{ vmid: 300, type: "qemu", fw: GUEST, ports: PORTS }], "t", undefined, 7);
    expect(vm).toContain('prefix ":300:6:tap300i0-IN: policy DROP: "');
  });

  it("logs the node's own rules and its policy at host.fw's level from PVEFW-HOST-IN/OUT, as vmid 0", () => {
    const host = parseFwFile("[OPTIONS]\n\nlog_level_in: warning\n\n[RULES]\n\nOUT ACCEPT -p tcp -dport 80 -log debug\n");
    const text = renderRuleset(CLUSTER, [], "t", { fw: host, bridges: ["vmbr0"], standIns: [] }, 9);
    expect(lines(text, "host-in")).toContain(
      'tcp dport 22 limit rate 1/second log group 9 prefix ":0:6:PVEFW-HOST-IN: ACCEPT: "',
    );
    expect(lines(text, "host-in").slice(-2)[0]).toBe(
      'limit rate 1/second log group 9 prefix ":0:4:PVEFW-HOST-IN: policy DROP: "',
    );
    expect(lines(text, "host-in").slice(-3)[0]).toBe(
      'meta pkttype { broadcast, multicast } drop comment "PVEFW-Drop: not logged"',
    );
    expect(lines(text, "host-out")).toContain(
      'tcp dport 80 limit rate 1/second log group 9 prefix ":0:7:PVEFW-HOST-OUT: ACCEPT: "',
    );
  });

  it("gives each node's table its own NFLOG group, never 0 (pvefw-logger's)", () => {
    const groups = Array.from({ length: 200 }, (_, i) => logGroup(`phoenix-lab-fw-${i}`));
    expect(new Set(groups).size).toBeGreaterThan(195);
    expect(groups.every((g) => g >= 1 && g <= 65535)).toBe(true);
  });
});

describe("the log API", () => {
  let dir: string;
  let api: LabApi;
  let pve: LabClient;
  const backend = new MemoryBackend({
    guests: [{ type: "lxc", vmid: 200, config: { hostname: "web" } }],
  });
  const stamp = (i: number) => logTime(1796205000 + i, 0);
  backend.firewallLog.push(
    `200 6 veth200i0-IN ${stamp(0)} policy DROP: IN=fwbr200i0 SRC=10.0.0.5 DST=10.0.0.20 PROTO=TCP DPT=9`,
    `0 6 PVEFW-HOST-IN ${stamp(1)} policy DROP: IN=vmbr0 SRC=10.0.0.5 DST=10.0.0.1 PROTO=TCP DPT=8006`,
    `2000 6 veth2000i0-IN ${stamp(2)} ACCEPT: IN=fwbr2000i0 SRC=10.0.0.5 DST=10.0.0.30 PROTO=TCP DPT=80`,
    `200 6 veth200i0-IN ${stamp(3)} ACCEPT: IN=fwbr200i0 SRC=10.0.0.5 DST=10.0.0.20 PROTO=TCP DPT=8080`,
  );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "phoenix-lab-fwlog-"));
    api = await startLabApi(fidelityApiOptions(dir, backend));
    pve = tokenClient(api.url, 10_000);
  });
  afterAll(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a guest's page holds its own lines only (not vmid 2000's), with their count as `total` beside the data", async () => {
    const r = await pve.call("GET", "/nodes/pve/lxc/200/firewall/log", {});
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(2);
    expect((r.body.data as { n: number; t: string }[]).map((l) => [l.n, l.t.split(" ").pop()])).toEqual([
      [1, "DPT=9"],
      [2, "DPT=8080"],
    ]);
  });

  it("the node's page holds every line; start, limit, since and until page it; none is 'no content'", async () => {
    const all = await pve.call("GET", "/nodes/pve/firewall/log", {});
    expect(all.body.total).toBe(4);
    const page = await pve.call("GET", "/nodes/pve/firewall/log", { start: 1, limit: 2 });
    expect((page.body.data as { n: number }[]).map((l) => l.n)).toEqual([2, 3]);
    const since = await pve.call("GET", "/nodes/pve/firewall/log", { since: 1796205002 });
    expect(since.body.total).toBe(2);
    const none = await pve.call("GET", "/nodes/pve/qemu/300/firewall/log", { until: 1796204000 });
    expect(none.body).toMatchObject({ total: 1, data: [{ n: 1, t: "no content" }] });
  });

  it("refuses another node's name and a negative start as Proxmox does", async () => {
    expect((await pve.call("GET", "/nodes/other/firewall/log", {})).status).toBe(500);
    const bad = await pve.call("GET", "/nodes/pve/firewall/log", { start: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toHaveProperty("start");
  });
});
