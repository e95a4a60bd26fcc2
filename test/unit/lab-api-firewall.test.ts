// The lab's Proxmox firewall API over the in-memory backend: requests as bpg's provider sends them land in
// pve-firewall's files (cluster.fw, <vmid>.fw) in its format and read back through GET; Proxmox's checks and
// messages, rule positions (create first, moveto, delete), digests; and the nftables ruleset those files render to.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LabApi, startLabApi } from "../../lab/api/server";
import { portMark, renderRuleset } from "../../lab/host/firewall-nft";
import { parseFwFile, printFwFile } from "../../lab/pve/firewall-config";
import { MemoryBackend } from "../../lab/pve/memory-backend";
import type { LabClient } from "../../lab/pve/client";
import { fidelityApiOptions, tokenClient } from "../support/fidelity-cases";

let dir: string;
let api: LabApi;
let pve: LabClient;
let backend: MemoryBackend;
const CT = "/nodes/pve/lxc/200/firewall";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "phoenix-lab-fw-"));
  backend = new MemoryBackend({
    guests: [
      {
        type: "lxc",
        vmid: 200,
        config: { hostname: "web", net0: "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=192.168.100.20/24,firewall=1" },
      },
    ],
  });
  api = await startLabApi(fidelityApiOptions(dir, backend));
  pve = tokenClient(api.url, 10_000);
});

afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

const file = (path: string) => backend.firewallFiles.get(path) ?? "";
const refused = async (method: string, path: string, params: Record<string, string | number>) => {
  const r = await pve.call(method, path, params);
  return { status: r.status, reason: r.statusText, errors: r.body.errors };
};

describe("datacenter options", () => {
  it("start empty (Proxmox's defaults are the reader's), are stored in cluster.fw's [OPTIONS] and read back with a digest", async () => {
    expect(await pve.data("GET", "/cluster/firewall/options")).toEqual({ digest: expect.any(String) });
    await pve.data("PUT", "/cluster/firewall/options", { enable: 1, policy_in: "DROP", policy_out: "ACCEPT", ebtables: 1 });
    expect(file("firewall/cluster.fw")).toBe("[OPTIONS]\n\nebtables: 1\nenable: 1\npolicy_in: DROP\npolicy_out: ACCEPT\n");
    const got = await pve.data<Record<string, unknown>>("GET", "/cluster/firewall/options");
    expect(got).toMatchObject({ enable: 1, ebtables: 1, policy_in: "DROP", policy_out: "ACCEPT" });
    await pve.data("PUT", "/cluster/firewall/options", { delete: "ebtables" });
    expect(await pve.data("GET", "/cluster/firewall/options")).not.toHaveProperty("ebtables");
  });

  it("refuses a policy Proxmox does not have, and a stale digest", async () => {
    expect(await refused("PUT", "/cluster/firewall/options", { policy_in: "ALLOW" })).toMatchObject({
      status: 400,
      errors: { policy_in: "value 'ALLOW' does not have a value in the enumeration 'ACCEPT, REJECT, DROP'" },
    });
    expect(await refused("PUT", "/cluster/firewall/options", { enable: 1, digest: "0".repeat(40) })).toMatchObject({
      status: 500,
      reason: "detected modified configuration - file changed by other user? Try again.",
    });
  });
});

describe("a node's options", () => {
  it("are stored in its host.fw, read back with their numbers, and checked as pve-firewall's host options", async () => {
    await pve.data("PUT", "/nodes/pve/firewall/options", { enable: 0, ndp: 0, nf_conntrack_max: 65536 });
    expect(file("nodes/pve/host.fw")).toBe("[OPTIONS]\n\nenable: 0\nndp: 0\nnf_conntrack_max: 65536\n");
    expect(await pve.data("GET", "/nodes/pve/firewall/options")).toMatchObject({ enable: 0, ndp: 0, nf_conntrack_max: 65536 });
    expect(await refused("PUT", "/nodes/pve/firewall/options", { nf_conntrack_max: 1000 })).toMatchObject({ status: 400 });
    expect(await refused("PUT", "/nodes/pve/firewall/options", { policy_in: "DROP" })).toMatchObject({ status: 400 });
    await pve.data("PUT", "/nodes/pve/firewall/options", { delete: "enable,ndp,nf_conntrack_max" });
    expect(await pve.data("GET", "/nodes/pve/firewall/options")).toEqual({ digest: expect.any(String) });
  });
});

describe("aliases, IP sets and security groups", () => {
  it("stores them in pve-firewall's sections and lists them as Proxmox does", async () => {
    await pve.data("POST", "/cluster/firewall/aliases", { name: "admin", cidr: "192.168.100.10", comment: "the admin" });
    await pve.data("POST", "/cluster/firewall/ipset", { name: "trusted", comment: "ours" });
    await pve.data("POST", "/cluster/firewall/ipset/trusted", { cidr: "192.168.100.0/24" });
    await pve.data("POST", "/cluster/firewall/ipset/trusted", { cidr: "192.168.100.66", nomatch: 1 });
    await pve.data("POST", "/cluster/firewall/groups", { group: "webserver", comment: "web" });
    await pve.data("POST", "/cluster/firewall/groups/webserver", { type: "in", action: "ACCEPT", macro: "HTTP", enable: 1 });
    const text = file("firewall/cluster.fw");
    expect(text).toContain("[ALIASES]\n\nadmin 192.168.100.10 # the admin\n");
    expect(text).toContain("[IPSET trusted] # ours\n\n192.168.100.0/24\n!192.168.100.66\n");
    expect(text).toContain("[group webserver] # web\n\nIN HTTP(ACCEPT)\n");
    expect(await pve.data("GET", "/cluster/firewall/aliases/admin")).toMatchObject({
      name: "admin",
      cidr: "192.168.100.10",
      ipversion: 4,
    });
    expect(await pve.data("GET", "/cluster/firewall/ipset/trusted")).toEqual([
      { cidr: "192.168.100.0/24", digest: expect.any(String) },
      { cidr: "192.168.100.66", nomatch: 1, digest: expect.any(String) },
    ]);
    expect(await pve.data("GET", "/cluster/firewall/ipset/trusted/192.168.100.0%2F24")).toMatchObject({
      cidr: "192.168.100.0/24",
    });
    expect(await pve.data("GET", "/cluster/firewall/groups")).toEqual([
      { group: "webserver", comment: "web", digest: expect.any(String) },
    ]);
  });

  it("answers Proxmox's failures: duplicates, unknown names, a non-empty group or set, a bad address", async () => {
    expect(await refused("POST", "/cluster/firewall/aliases", { name: "admin", cidr: "10.0.0.1" })).toMatchObject({
      status: 500,
      reason: "alias 'admin' already exists",
    });
    expect(await refused("GET", "/cluster/firewall/aliases/nobody", {})).toMatchObject({
      status: 500,
      reason: "no such alias 'nobody'",
    });
    expect((await refused("POST", "/cluster/firewall/aliases", { name: "bad", cidr: "10.0.0.300" })).status).toBe(400);
    expect(await refused("DELETE", "/cluster/firewall/groups/webserver", {})).toMatchObject({
      reason: "Security group 'webserver' is not empty",
    });
    expect(await refused("DELETE", "/cluster/firewall/ipset/trusted", {})).toMatchObject({
      reason: "IPSet 'trusted' is not empty",
    });
    expect(await refused("GET", "/cluster/firewall/groups/nogroup", {})).toMatchObject({
      reason: "no such security group 'nogroup'",
    });
    expect((await refused("POST", "/cluster/firewall/groups", { group: "1bad" })).status).toBe(400);
  });
});

describe("a container's rules", () => {
  it("a new rule goes first and is disabled unless enabled; GET answers its fields, pos (as given) and digest", async () => {
    await pve.data("PUT", `${CT}/options`, { enable: 1, policy_in: "DROP" });
    await pve.data("POST", `${CT}/rules`, {
      type: "in",
      action: "ACCEPT",
      proto: "tcp",
      dport: "8080",
      enable: 1,
      comment: "app",
    });
    await pve.data("POST", `${CT}/rules`, { type: "in", action: "ACCEPT", macro: "SSH", source: "+trusted", enable: 1 });
    await pve.data("POST", `${CT}/rules`, { type: "group", action: "webserver", iface: "net0" });
    expect(file("firewall/200.fw")).toBe(
      "[OPTIONS]\n\nenable: 1\npolicy_in: DROP\n\n[RULES]\n\n|GROUP webserver -i net0\nIN SSH(ACCEPT) -source +trusted\nIN ACCEPT -p tcp -dport 8080 # app\n",
    );
    const list = await pve.data<{ pos: number; type: string; digest: string }[]>("GET", `${CT}/rules`);
    expect(list.map((r) => [r.pos, r.type])).toEqual([
      [0, "group"],
      [1, "in"],
      [2, "in"],
    ]);
    expect(await pve.data("GET", `${CT}/rules/2`)).toEqual({
      type: "in",
      action: "ACCEPT",
      proto: "tcp",
      dport: "8080",
      enable: 1,
      comment: "app",
      pos: "2",
      digest: list[0]!.digest,
    } as unknown as Record<string, unknown>);
    expect(await refused("GET", `${CT}/rules/3`, {})).toMatchObject({ status: 500, reason: "no rule at position 3" });
  });

  it("moves a rule before the one at moveto, changes and deletes by position, checking the digest", async () => {
    await pve.data("PUT", `${CT}/rules/0`, { moveto: 2 });
    const types = async () =>
      (await pve.data<{ macro?: string; type: string; dport?: string }[]>("GET", `${CT}/rules`)).map(
        (r) => r.macro ?? r.dport ?? r.type,
      );
    expect(await types()).toEqual(["SSH", "group", "8080"]);
    await pve.data("PUT", `${CT}/rules/2`, { dport: "8080:8090,9000", enable: 1 });
    expect(file("firewall/200.fw")).toContain("IN ACCEPT -p tcp -dport 8080:8090,9000 # app");
    const { digest } = (await pve.data<{ digest: string }[]>("GET", `${CT}/rules`))[0]!;
    await pve.data("DELETE", `${CT}/rules/1`, { digest });
    expect(await types()).toEqual(["SSH", "8080:8090,9000"]);
    expect(await refused("DELETE", `${CT}/rules/0`, { digest })).toMatchObject({ status: 500 });
  });

  it("refuses what verify_rule refuses, with its messages", async () => {
    const bad = async (params: Record<string, string | number>) =>
      (await refused("POST", `${CT}/rules`, { type: "in", action: "ACCEPT", ...params })).errors;
    expect(await bad({ macro: "Nope" })).toEqual({ macro: "unknown macro 'Nope'" });
    expect(await bad({ dport: "22" })).toEqual({ proto: "missing property - 'dport' requires this property" });
    expect(await bad({ proto: "tcp", dport: "70000" })).toEqual({ dport: "invalid port '70000'" });
    expect(await bad({ proto: "tcp", dport: "90:80" })).toEqual({
      dport: "backwards range '90:80' not allowed, did you mean '80:90'?",
    });
    expect(await bad({ proto: "nope" })).toEqual({ proto: "unknown protocol 'nope'" });
    expect(await bad({ source: "ghost" })).toEqual({ source: "no such alias 'ghost'" });
    expect(await bad({ source: "+ghosts" })).toEqual({ source: "no such ipset 'ghosts'" });
    expect(await bad({ iface: "eth0" })).toEqual({ iface: "value does not match the regex pattern 'net\\d+'" });
    expect(await bad({ action: "ALLOW" })).toEqual({ action: "unknown action 'ALLOW'" });
    expect(await bad({ macro: "SSH", proto: "udp" })).toEqual({
      proto: "parameter 'proto' already define in macro (value = 'tcp')",
    });
    expect((await refused("POST", `${CT}/rules`, { type: "sideways", action: "ACCEPT" })).status).toBe(400);
    expect(await refused("GET", "/nodes/pve/lxc/999/firewall/rules", {})).toMatchObject({
      reason: "Configuration file 'nodes/pve/lxc/999.conf' does not exist",
    });
  });

  it("reads back a file written by hand in pve-firewall's format, and prints it the same", () => {
    const text = file("firewall/cluster.fw");
    expect(printFwFile(parseFwFile(text))).toBe(text);
  });
});

describe("the nftables rendering", () => {
  it("filters nothing while the datacenter is off; with it on, the guest's rules in order, macros, sets and its policy", () => {
    const cluster = parseFwFile(file("firewall/cluster.fw"));
    const guest = parseFwFile(file("firewall/200.fw"));
    const ports = [{ net: "net0", dev: "veth200i0", ips: ["192.168.100.20"] }];
    const off = renderRuleset({ ...cluster, options: { enable: "0" } }, [{ vmid: 200, fw: guest, ports }]);
    expect(off).not.toContain("chain");
    const on = renderRuleset(cluster, [{ vmid: 200, fw: guest, ports }]);
    const chain = on.slice(on.indexOf("chain guest-200-in"), on.indexOf("chain guest-200-out"));
    const lines = chain
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => !l.startsWith("chain") && l !== "}" && l !== "");
    expect(lines).toEqual([
      "ct state established,related accept",
      "ct state invalid drop",
      // DHCP answers and neighbour discovery come in before the rules (pve-firewall's dhcp and ndp, on unless 0)
      "meta nfproto ipv4 udp sport 67 udp dport 68 accept",
      "meta nfproto ipv6 udp sport 547 udp dport 546 accept",
      "icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept",
      'ip saddr != { 192.168.100.66 } ip saddr { 192.168.100.0/24 } tcp dport 22 accept comment "in SSH ACCEPT"',
      'tcp dport { 8080-8090, 9000 } accept comment "app"',
      'drop comment "policy_in DROP"',
    ]);
    expect(on).toContain('iifname "veth200i0" meta mark set 0x10000');
    expect(on).toContain("ip daddr 192.168.100.20 jump guest-200-in");
    const disabled = renderRuleset(cluster, [{ vmid: 200, fw: { ...guest, options: { enable: "0" } }, ports }]);
    expect(disabled).not.toContain("guest-200");
  });

  it("filters what a guest sends by its MAC (on by default), its addresses (ipfilter or an ipfilter-netN set), no router adverts", () => {
    const cluster = parseFwFile(file("firewall/cluster.fw"));
    const guest = parseFwFile("[OPTIONS]\n\nenable: 1\nipfilter: 1\n\n[IPSET ipfilter-net1]\n\n10.0.0.7\n");
    const ports = [
      { net: "net0", dev: "veth200i0", ifindex: 1, ips: ["10.0.0.5"], mac: "BC:24:11:00:03:02" },
      { net: "net1", dev: "veth200i1", ifindex: 2, mac: "BC:24:11:00:03:03" },
    ];
    const out = (text: string) => text.slice(text.indexOf("chain guest-200-out"), text.indexOf("chain forward"));
    const ct = renderRuleset(cluster, [{ vmid: 200, type: "lxc", fw: guest, ports }]);
    const mark0 = "meta mark & 0xffff0000 == 0x10000";
    expect(out(ct)).toContain(`${mark0} ether saddr != bc:24:11:00:03:02 drop comment "macfilter"`);
    expect(out(ct)).toContain('icmpv6 type nd-router-advert drop comment "radv off"');
    // a container's configured address, its link-local address (from the MAC), and the set's entries
    expect(out(ct)).toContain(`${mark0} meta nfproto ipv4 ip saddr != { 10.0.0.5 } drop comment "ipfilter-net0"`);
    expect(out(ct)).toContain(`${mark0} meta nfproto ipv6 ip6 saddr != { fe80::be24:11ff:fe00:302 } drop`);
    expect(out(ct)).toContain("meta mark & 0xffff0000 == 0x20000 meta nfproto ipv4 ip saddr != { 10.0.0.7 } drop");
    // DHCP requests leave before the filters; the rules come after them
    expect(out(ct).indexOf("udp sport 68 udp dport 67 return")).toBeLessThan(out(ct).indexOf("macfilter"));
    // the bridge drops frames from another MAC and ARP for another address, port by port
    expect(ct).toContain('iifname "veth200i0" ether saddr != bc:24:11:00:03:02 drop');
    expect(ct).toContain('iifname "veth200i0" arp saddr ip != { 10.0.0.5 } drop');
    expect(ct).toContain('iifname "veth200i1" arp saddr ip != { 10.0.0.7 } drop');
    // a VM's configured address is not added (only its set and link-local address): net0 has no IPv4 at all
    const vm = renderRuleset(cluster, [{ vmid: 200, type: "qemu", fw: guest, ports }]);
    expect(out(vm)).toContain(`${mark0} meta nfproto ipv4 drop comment "ipfilter-net0"`);
    expect(vm).not.toContain('iifname "veth200i0" arp');
    // macfilter: 0, no ipfilter, dhcp: 0, radv: 1: none of it
    const open = parseFwFile("[OPTIONS]\n\nenable: 1\nmacfilter: 0\ndhcp: 0\nradv: 1\n");
    const plain = renderRuleset(cluster, [{ vmid: 200, type: "lxc", fw: open, ports }]);
    expect(plain).not.toMatch(/ether saddr|ipfilter|radv off|udp sport 6[78]|arp saddr/);
    expect(out(plain)).toContain("nd-router-advert, nd-neighbor-solicit");
  });

  it("filters the node's own traffic with the lab's bridges: host.fw's rules, the datacenter's, management, its policies", () => {
    const cluster = parseFwFile(
      "[OPTIONS]\n\nenable: 1\npolicy_out: DROP\n\n[IPSET management]\n\n192.168.1.0/24\n\n" +
        "[RULES]\n\nIN ACCEPT -dest 10.0.0.1 -p udp -dport 53\nOUT ACCEPT -p tcp -dport 443\n",
    );
    const host = parseFwFile("[RULES]\n\nIN DROP -p udp -dport 53 -source 10.0.0.66\n");
    const node = { fw: host, bridges: ["vmbr0", "vmbr1"], standIns: [3142, 5000] };
    const text = renderRuleset(cluster, [], "t", node);
    const body = (name: string) =>
      text
        .slice(text.indexOf(`chain ${name} {`), text.indexOf("}\n", text.indexOf(`chain ${name} {`) + 10))
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith("chain"));
    expect(body("host-in")).toEqual([
      'iifname != { "vmbr0", "vmbr1" } return comment "not the lab\'s bridges"',
      "ct state invalid drop",
      "ct state established,related accept",
      "icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept",
      "meta l4proto igmp accept",
      'tcp dport { 3142, 5000 } accept comment "the lab\'s stand-ins for the internet"',
      'ip saddr 10.0.0.66 udp dport 53 drop comment "in DROP"',
      'ip daddr 10.0.0.1 udp dport 53 accept comment "in ACCEPT"',
      // pve-firewall adds the cluster network to the set: the lab's nodes answer on 127.0.0.1
      'ip saddr { 192.168.1.0/24, 127.0.0.0/8 } tcp dport { 8006, 5900-5999, 3128, 22, 60000-60050 } accept comment "management"',
      'drop comment "node policy_in DROP"',
    ]);
    expect(body("host-out")).toEqual([
      'oifname != { "vmbr0", "vmbr1" } return comment "not the lab\'s bridges"',
      "ct state invalid drop",
      "ct state established,related return",
      "icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } return",
      "meta l4proto igmp return",
      'tcp dport 443 return comment "out ACCEPT"',
      'ip daddr 127.0.0.0/8 tcp dport { 8006, 22, 5900-5999, 3128 } return comment "local_network"',
      'drop comment "node policy_out DROP"',
    ]);
    // a local_network alias is the cluster network: management access from it with no management set, in both families
    const aliased = parseFwFile(
      "[OPTIONS]\n\nenable: 1\n\n[ALIASES]\n\nlocal_network 10.20.0.0/16\n\n" + "[IPSET management]\n\nfd00::/64\n!fd00::9\n",
    );
    const lan = renderRuleset(aliased, [], "t", node);
    expect(lan).toContain(
      'ip saddr { 10.20.0.0/16 } tcp dport { 8006, 5900-5999, 3128, 22, 60000-60050 } accept comment "management"',
    );
    expect(lan).toContain(
      'ip6 saddr != { fd00::9 } ip6 saddr { fd00::/64 } tcp dport { 8006, 5900-5999, 3128, 22, 60000-60050 } accept comment "management"',
    );
    expect(lan).toContain('ip daddr 10.20.0.0/16 tcp dport { 8006, 22, 5900-5999, 3128 } return comment "local_network"');
    expect(lan).not.toContain("127.0.0.0/8");
    // the input hook ends with it; the output hook starts with it
    expect(body("input").at(-1)).toBe("jump host-in");
    expect(body("output")[1]).toBe("jump host-out");
    // host.fw's enable: 0, or no bridges: no node chains
    expect(renderRuleset(cluster, [], "t", { ...node, fw: parseFwFile("[OPTIONS]\n\nenable: 0\n") })).not.toContain("host-in");
    expect(renderRuleset(cluster, [], "t", { ...node, bridges: [] })).not.toContain("host-in");
  });

  it("names each port in the marks by its ifindex, so two labs' tables never match each other's ports", () => {
    const cluster = parseFwFile(file("firewall/cluster.fw"));
    const guest = parseFwFile(file("firewall/200.fw"));
    // two labs, each with one firewalled port: numbered in order, both would be port 1
    const a = renderRuleset(cluster, [{ vmid: 200, fw: guest, ports: [{ net: "net0", dev: "vethA", ifindex: 17 }] }], "a");
    const b = renderRuleset(cluster, [{ vmid: 200, fw: guest, ports: [{ net: "net0", dev: "vethB", ifindex: 40 }] }], "b");
    expect(a).toContain('iifname "vethA" meta mark set 0x110000');
    expect(a).toContain('oifname "vethA" meta mark set meta mark & 0xffff0000 | 0x11');
    expect(a).toContain("meta mark & 0x0000ffff == 0x11 jump guest-200-in");
    expect(b).toContain("meta mark & 0xffff0000 == 0x280000 jump guest-200-out");
    expect(b).not.toMatch(/== 0x(11|110000) /);
    // every ifindex maps into 1…65535, and neighbours stay apart
    for (const i of [1, 2, 65535, 65536, 65537, 1_000_000]) expect(portMark(i)).toBeGreaterThanOrEqual(1);
    for (const i of [1, 2, 65535, 65536, 65537, 1_000_000]) expect(portMark(i)).toBeLessThanOrEqual(0xffff);
    expect(portMark(65536)).not.toBe(portMark(65535));
    expect(portMark(65536)).toBe(portMark(1));
  });
});
