// The lab's Proxmox firewall enforced for real: a bridge made for the test with two network namespaces plugged in as
// guests 301 and 302 (veth ports, as containers' are), firewall set through the lab API, traffic tried with curl
// (to busybox httpd; Debian's busybox wget crashes on this kind of machine) from one to the other. Proves: everything passes while the datacenter firewall is off; a
// port allowed passes and one not allowed is dropped; a rule changed through the API applies at once; a NIC without
// firewall=1 is not filtered; `nft list table` shows the rules; another lab's tables beside these change nothing; a
// guest sending from another address (ipfilter) or another MAC (macfilter) is dropped; the node's own traffic with
// the bridge goes through host.fw's rules, the datacenter's and its policies (the lab's stand-in port through); a rule's
// `log` and a policy's log level write pve-firewall's log lines (ulogd2 on the table's NFLOG group), read by the API.
// Needs root and nftables (ensure-apt).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LabApi, startLabApi } from "../../lab/api/server";
import { ensureBridge, removeBridge } from "../../lab/host/bridge";
import {
  ULOGD_PACKAGES,
  ensureFirewallLogger,
  logGroup,
  readLoggedPackets,
  stopFirewallLogger,
} from "../../lab/host/firewall-log";
import { ok, run } from "../../lab/host/run";
import type { ConfigFile } from "../../lab/pve/pve-config";
import type { GuestType } from "../../lab/pve/backend";
import { pvefwLine } from "../../lab/pve/firewall-log";
import { MemoryBackend } from "../../lab/pve/memory-backend";
import { HostFirewall, NFT, removeFirewallTable } from "../../lab/node/host-firewall";
import type { LabClient } from "../../lab/pve/client";
import { fidelityApiOptions, tokenClient } from "../support/fidelity-cases";

const ROOT = join(__dirname, "..", "..");
const tag = Math.random().toString(36).slice(2, 6);
const BRIDGE = `phxfw${tag}`;
const TABLE = `phoenix-lab-fw-test-${tag}`;
const NET = "10.231.7";
const GUESTS = [
  { vmid: 301, ns: `phxfwa${tag}`, dev: `vfa${tag}`, ip: `${NET}.11` },
  { vmid: 302, ns: `phxfwb${tag}`, dev: `vfb${tag}`, ip: `${NET}.12` },
];
const B = "/nodes/pve/lxc/302/firewall";
/** A port on the node's bridge address standing in for the internet (the lab's apt proxy's, in a lab). */
const STAND_IN = 8093;
const dir = mkdtempSync(join(tmpdir(), "phoenix-lab-fw-"));

/** The real backend's firewall part over the in-memory one: files on disk, nftables applied after every change. */
class NetnsBackend extends MemoryBackend {
  readonly firewall = new HostFirewall(join(dir, "pve"), () => this.guestPorts(), TABLE, {
    name: "pve",
    bridges: [BRIDGE],
    standIns: [STAND_IN],
  });
  private async guestPorts() {
    const out = [];
    for (const g of GUESTS) {
      const config = (await this.readConfig("lxc", g.vmid))!.config;
      out.push({ vmid: g.vmid, type: "lxc" as const, config, ports: { net0: g.dev } });
    }
    return out;
  }
  override async readFirewallLog() {
    return readLoggedPackets(dir).map((r) => pvefwLine(r));
  }
  override async readFirewall(path: string) {
    return this.firewall.read(path);
  }
  override async writeFirewall(path: string, text: string) {
    this.firewall.write(path, text);
    await this.firewall.apply();
  }
  override async writeConfig(type: GuestType, vmid: number, file: ConfigFile) {
    await super.writeConfig(type, vmid, file);
    await this.firewall.apply();
  }
}

const macOf = (g: (typeof GUESTS)[number]) => `BC:24:11:00:03:${String(g.vmid % 100).padStart(2, "0")}`;
const net0 = (g: (typeof GUESTS)[number], firewall: boolean) =>
  `name=eth0,bridge=${BRIDGE},hwaddr=${macOf(g)},ip=${g.ip}/24${firewall ? ",firewall=1" : ""}`;

let api: LabApi;
let pve: LabClient;
const servers: ChildProcess[] = [];

/** Whether a fetch of `url` from inside namespace `ns` (from its address `from`, if given) is answered within 2 s. */
const fetches = (ns: string, url: string, from?: string) =>
  ok("ip", ["netns", "exec", ns, "curl", "-sf", "-m", "2", "-o", "/dev/null", ...(from ? ["--interface", from] : []), url]);

/** Whether guest 301 gets an answer from guest 302's httpd on `port` (2 s). */
const reaches = (port: number) => fetches(GUESTS[0]!.ns, `http://${GUESTS[1]!.ip}:${port}/`);

beforeAll(async () => {
  execFileSync("bash", [join(ROOT, "scripts", "ensure-apt.sh"), "nftables", "busybox", "curl", "iproute2", ...ULOGD_PACKAGES], {
    stdio: "inherit",
    timeout: 600_000,
  });
  ensureBridge(BRIDGE, `${NET}.1/24`);
  await ensureFirewallLogger(dir, [{ dir, group: logGroup(TABLE) }]);
  for (const g of GUESTS) {
    run("ip", ["netns", "add", g.ns]);
    run("ip", ["link", "add", g.dev, "type", "veth", "peer", "name", "eth0", "netns", g.ns]);
    run("ip", ["link", "set", g.dev, "master", BRIDGE, "up"]);
    // the MAC its config names, as LXC gives a container's veth (pve-firewall's macfilter drops any other)
    run("ip", ["netns", "exec", g.ns, "ip", "link", "set", "eth0", "address", macOf(g)]);
    run("ip", ["netns", "exec", g.ns, "ip", "addr", "add", `${g.ip}/24`, "dev", "eth0"]);
    run("ip", ["netns", "exec", g.ns, "ip", "link", "set", "eth0", "up"]);
    run("ip", ["netns", "exec", g.ns, "ip", "link", "set", "lo", "up"]);
  }
  const www = join(dir, "www");
  mkdirSync(www);
  writeFileSync(join(www, "index.html"), "guest 302\n");
  for (const port of [8080, 8081])
    servers.push(
      spawn("ip", ["netns", "exec", GUESTS[1]!.ns, "busybox", "httpd", "-f", "-p", String(port), "-h", www], { stdio: "ignore" }),
    );
  const backend = new NetnsBackend({
    guests: GUESTS.map((g) => ({ type: "lxc" as const, vmid: g.vmid, config: { hostname: `g${g.vmid}`, net0: net0(g, true) } })),
    network: [{ iface: BRIDGE, type: "bridge", cidr: `${NET}.1/24` }],
  });
  api = await startLabApi(fidelityApiOptions(dir, backend));
  pve = tokenClient(api.url, 10_000);
  for (let i = 0; i < 50 && !reaches(8080); i++) await new Promise((r) => setTimeout(r, 100));
}, 700_000);

afterAll(async () => {
  await api?.close();
  await stopFirewallLogger(dir);
  for (const s of servers) s.kill();
  removeFirewallTable(TABLE);
  for (const g of GUESTS) {
    run("ip", ["link", "del", g.dev], { allowFail: true });
    run("ip", ["netns", "del", g.ns], { allowFail: true });
  }
  removeBridge(BRIDGE);
  rmSync(dir, { recursive: true, force: true });
});

const table = () => run(NFT, ["list", "table", "inet", TABLE], { allowFail: true });

describe("the Proxmox firewall on the lab's bridge", () => {
  it("filters nothing while the datacenter firewall is off, even with the guest's firewall on and a DROP policy", async () => {
    await pve.data("PUT", `${B}/options`, { enable: 1, policy_in: "DROP" });
    await pve.data("POST", `${B}/rules`, { type: "in", action: "ACCEPT", proto: "tcp", dport: "8080", enable: 1 });
    expect(reaches(8080)).toBe(true);
    expect(reaches(8081)).toBe(true);
    expect(table().code).not.toBe(0);
  });

  it("with the datacenter on: the allowed port answers, the other is dropped, and nft lists the guest's chain", async () => {
    await pve.data("PUT", "/cluster/firewall/options", { enable: 1 });
    expect(reaches(8080)).toBe(true);
    expect(reaches(8081)).toBe(false);
    const listed = table().stdout;
    expect(listed).toContain("chain guest-302-in");
    expect(listed).toMatch(/tcp dport 8080 accept/);
    expect(listed).toMatch(/drop comment "policy_in DROP"/);
  });

  it("leaves this lab's traffic alone beside another lab's tables, whose firewalled port drops everything", async () => {
    // Another lab on this machine (a lane beside, or one left behind by a killed run): datacenter on, one port with
    // firewall=1 whose policies drop in and out. Every bridged packet passes through its tables too.
    const other = { dir: join(dir, "other"), dev: `vfo${tag}`, table: `${TABLE}-o` };
    run("ip", ["link", "add", other.dev, "type", "veth", "peer", "name", `vfp${tag}`]);
    const fw = new HostFirewall(
      other.dir,
      async () => [
        { vmid: 302, type: "lxc" as const, config: { net0: "name=eth0,bridge=x,firewall=1" }, ports: { net0: other.dev } },
      ],
      other.table,
    );
    try {
      fw.write("firewall/cluster.fw", "[OPTIONS]\n\nenable: 1\n");
      fw.write("firewall/302.fw", "[OPTIONS]\n\nenable: 1\npolicy_in: DROP\npolicy_out: DROP\n");
      await fw.apply();
      expect(run(NFT, ["list", "table", "inet", other.table]).stdout).toContain("chain guest-302-out");
      expect(reaches(8080)).toBe(true);
      expect(reaches(8081)).toBe(false);
    } finally {
      removeFirewallTable(other.table);
      run("ip", ["link", "del", other.dev], { allowFail: true });
    }
  });

  it("applies a rule changed through the API at once", async () => {
    await pve.data("PUT", `${B}/rules/0`, { dport: "8081" });
    expect(reaches(8081)).toBe(true);
    expect(reaches(8080)).toBe(false);
  });

  it("expands a security group in place and resolves an alias as the rule's source", async () => {
    await pve.data("POST", "/cluster/firewall/aliases", { name: "guest301", cidr: GUESTS[0]!.ip });
    await pve.data("POST", "/cluster/firewall/groups", { group: "web" });
    await pve.data("POST", "/cluster/firewall/groups/web", {
      type: "in",
      action: "ACCEPT",
      proto: "tcp",
      dport: "8079:8080",
      source: "guest301",
      enable: 1,
    });
    await pve.data("POST", `${B}/rules`, { type: "group", action: "web", enable: 1 });
    expect(reaches(8080)).toBe(true);
    expect(table().stdout).toMatch(/ip saddr 10\.231\.7\.11 tcp dport 8079-8080 accept/);
  });

  it("leaves a NIC without firewall=1 alone, and filters it again once the flag is back", async () => {
    await pve.data("DELETE", `${B}/rules/0`);
    await pve.data("DELETE", `${B}/rules/0`);
    expect(reaches(8080)).toBe(false);
    await pve.data("PUT", "/nodes/pve/lxc/302/config", { net0: net0(GUESTS[1]!, false) });
    expect(reaches(8080)).toBe(true);
    await pve.data("PUT", "/nodes/pve/lxc/302/config", { net0: net0(GUESTS[1]!, true) });
    expect(reaches(8080)).toBe(false);
  });

  it("drops what a guest sends from another address with ipfilter, and from another MAC unless macfilter is 0", async () => {
    const [a, b] = GUESTS as [(typeof GUESTS)[number], (typeof GUESTS)[number]];
    const www = join(dir, "www");
    servers.push(spawn("ip", ["netns", "exec", a.ns, "busybox", "httpd", "-f", "-p", "8090", "-h", www], { stdio: "ignore" }));
    const spoofed = `${NET}.99`;
    run("ip", ["netns", "exec", b.ns, "ip", "addr", "add", `${spoofed}/24`, "dev", "eth0"]);
    /** Whether guest 302 reaches guest 301's httpd, from its own address or `from`. */
    const out = (from?: string) => fetches(b.ns, `http://${a.ip}:8090/`, from);
    for (let i = 0; i < 50 && !out(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(out()).toBe(true);
    expect(out(spoofed)).toBe(true);
    await pve.data("PUT", `${B}/options`, { ipfilter: 1 });
    expect(out()).toBe(true);
    expect(out(spoofed)).toBe(false);
    // as nft lists it back: a one-element set as the address itself
    expect(table().stdout).toMatch(/ip saddr != 10\.231\.7\.12 drop comment "ipfilter-net0"/);
    await pve.data("PUT", `${B}/options`, { delete: "ipfilter" });
    expect(out(spoofed)).toBe(true);
    // another MAC: cut off (bridge and IP hooks) while macfilter is on, its default
    // neighbour entries learnt (or failed: ARP from the new MAC is dropped too) before each change
    const flush = () => {
      for (const g of GUESTS) run("ip", ["netns", "exec", g.ns, "ip", "neigh", "flush", "all"]);
    };
    run("ip", ["netns", "exec", b.ns, "ip", "link", "set", "eth0", "address", "02:00:00:00:00:99"]);
    flush();
    expect(out()).toBe(false);
    await pve.data("PUT", `${B}/options`, { macfilter: 0 });
    flush();
    expect(out()).toBe(true);
    run("ip", ["netns", "exec", b.ns, "ip", "link", "set", "eth0", "address", macOf(b)]);
    await pve.data("PUT", `${B}/options`, { delete: "macfilter" });
    flush();
    expect(out()).toBe(true);
  });

  it("filters the node's own traffic with the bridge: host.fw's rules, then the datacenter's, then its policies", async () => {
    const [a] = GUESTS as [(typeof GUESTS)[number]];
    const www = join(dir, "www");
    for (const port of [8092, STAND_IN])
      servers.push(spawn("busybox", ["httpd", "-f", "-p", `${NET}.1:${port}`, "-h", www], { stdio: "ignore" }));
    servers.push(spawn("ip", ["netns", "exec", a.ns, "busybox", "httpd", "-f", "-p", "8094", "-h", www], { stdio: "ignore" }));
    /** Whether guest 301 reaches the node's httpd on `port` at the bridge address. */
    const toNode = (port: number) => fetches(a.ns, `http://${NET}.1:${port}/`);
    /** Whether the node reaches guest 301's httpd on 8094. */
    const fromNode = () => ok("curl", ["-sf", "-m", "2", "-o", "/dev/null", `http://${a.ip}:8094/`]);
    for (let i = 0; i < 50 && !(toNode(STAND_IN) && fromNode()); i++) await new Promise((r) => setTimeout(r, 100));
    // the datacenter is on (above) with its default policy_in DROP: only the lab's stand-in answers
    expect(toNode(STAND_IN)).toBe(true);
    expect(toNode(8092)).toBe(false);
    await pve.data("POST", "/cluster/firewall/rules", {
      type: "in",
      action: "ACCEPT",
      proto: "tcp",
      dport: "8092",
      dest: `${NET}.1`,
      enable: 1,
    });
    expect(toNode(8092)).toBe(true);
    // the node's own rules come first
    await pve.data("POST", "/nodes/pve/firewall/rules", { type: "in", action: "DROP", proto: "tcp", dport: "8092", enable: 1 });
    expect(toNode(8092)).toBe(false);
    const hostIn = /chain host-in \{([\s\S]*?)\n\t\}/.exec(table().stdout)?.[1] ?? "";
    const at = ["tcp dport 8092 drop", "tcp dport 8092 accept", 'drop comment "node policy_in DROP"'].map((x) =>
      hostIn.indexOf(x),
    );
    expect(
      at.every((x, k) => x >= 0 && (k === 0 || x > at[k - 1]!)),
      hostIn,
    ).toBe(true);
    // host.fw's enable: 0 turns the node's firewall off (its guests' stay)
    await pve.data("PUT", "/nodes/pve/firewall/options", { enable: 0 });
    expect(toNode(8092)).toBe(true);
    await pve.data("PUT", "/nodes/pve/firewall/options", { delete: "enable" });
    expect(toNode(8092)).toBe(false);
    await pve.data("DELETE", "/nodes/pve/firewall/rules/0");
    expect(toNode(8092)).toBe(true);
    // out: policy_out ACCEPT by default; DROP stops the node's new connections to a guest unless a rule lets them out
    expect(fromNode()).toBe(true);
    await pve.data("PUT", "/cluster/firewall/options", { policy_out: "DROP" });
    expect(fromNode()).toBe(false);
    expect(toNode(8092)).toBe(true);
    await pve.data("POST", "/cluster/firewall/rules", { type: "out", action: "ACCEPT", proto: "tcp", dport: "8094", enable: 1 });
    expect(fromNode()).toBe(true);
    await pve.data("PUT", "/cluster/firewall/options", { delete: "policy_out" });
    await pve.data("DELETE", "/cluster/firewall/rules/0");
    await pve.data("DELETE", "/cluster/firewall/rules/0");
  });

  it("logs what a rule with `log` lets in and what the policy drops, as pve-firewall's log lines read through the API", async () => {
    const [a, b] = GUESTS as [(typeof GUESTS)[number], (typeof GUESTS)[number]];
    await pve.data("POST", `${B}/rules`, { type: "in", action: "ACCEPT", proto: "tcp", dport: "8080", log: "info", enable: 1 });
    await pve.data("PUT", `${B}/options`, { log_level_in: "warning" });
    expect(table().stdout).toMatch(/log prefix ":302:6:veth302i0-IN: ACCEPT: " group \d+/);
    expect(reaches(8080)).toBe(true);
    expect(reaches(8081)).toBe(false);
    type Line = { n: number; t: string };
    const guestLog = async () => (await pve.call("GET", `${B}/log`, { limit: 0 })).body.data as Line[];
    for (let i = 0; i < 30 && !(await guestLog()).some((l) => l.t.includes("policy DROP")); i++)
      await new Promise((r) => setTimeout(r, 100));
    const lines = (await guestLog()).map((l) => l.t);
    const at = (re: RegExp) => lines.find((l) => re.test(l));
    const stamp = "\\d{2}/\\w{3}/\\d{4}:\\d{2}:\\d{2}:\\d{2} [+-]\\d{4}";
    expect(at(/DPT=8080 /)).toMatch(
      new RegExp(
        `^302 6 veth302i0-IN ${stamp} ACCEPT: .*SRC=${a.ip.replace(/\./g, "\\.")} DST=${b.ip.replace(/\./g, "\\.")} .*PROTO=TCP SPT=\\d+ DPT=8080 .*SYN $`,
      ),
    );
    expect(at(/DPT=8081 /)).toMatch(new RegExp(`^302 4 veth302i0-IN ${stamp} policy DROP: .*PROTO=TCP SPT=\\d+ DPT=8081 `));
    // a packet the policy let through unlogged, and guest 301's page: neither has them
    expect(lines.every((l) => l.startsWith("302 "))).toBe(true);
    expect((await pve.call("GET", "/nodes/pve/lxc/301/firewall/log", {})).body.data).toEqual([{ n: 1, t: "no content" }]);
    const node = (await pve.call("GET", "/nodes/pve/firewall/log", { limit: 0 })).body;
    expect(node.total).toBeGreaterThanOrEqual(2);
    await pve.data("DELETE", `${B}/rules/0`);
    await pve.data("PUT", `${B}/options`, { delete: "log_level_in" });
    expect(table().stdout).not.toContain(" log ");
  });

  it("lets everything through again once the datacenter firewall is off, and removes its tables", async () => {
    await pve.data("PUT", "/cluster/firewall/options", { enable: 0 });
    expect(reaches(8080)).toBe(true);
    expect(reaches(8081)).toBe(true);
    expect(table().code).not.toBe(0);
  });
});
