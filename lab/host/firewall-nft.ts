// The stored Proxmox firewall as an nftables ruleset of the lab's own bridge table, with pve-firewall's semantics for
// guests: nothing unless the datacenter enables it, a guest's rules only when its options enable them on NICs with
// firewall=1, rules in order (groups expanded in place, macros, aliases and IP sets resolved), established and related
// traffic allowed, then the guest's policy; and the node's own traffic with the lab's bridges through its host chains
// (firewall-host-chains.ts). Pure: it returns the script `nft -f -` reads.
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import type { FwFile } from "../pve/firewall-config";
import { ipVersion } from "../pve/firewall-rules";
import { type Direction, VERDICT, addresses, expand, matches, ruleComment } from "./firewall-match";
import { type NodeFirewall, hostChain, hostEnabled } from "./firewall-host-chains";
import { guestPortChain, policyLog, ruleLog } from "./firewall-log-rules";
import { layer2Filters, portFilters } from "./firewall-port-filters";

/** The prefix of the lab's own tables: the only ones it writes, and removed by `lab down`. */
export const FW_TABLE = "phoenix-lab-fw";

/**
 * The tables of one node of one lab, named after its state directory: labs side by side (two e2e lanes) and a
 * lab's nodes each render and remove only their own.
 */
export function firewallTable(stateDir: string): string {
  return `${FW_TABLE}-${createHash("sha256").update(resolve(stateDir)).digest("hex").slice(0, 10)}`;
}

export interface FwGuestPorts {
  vmid: number;
  /** A container's configured addresses join its ipfilter sets; a VM's do not (pve-firewall's compile_ipsets). */
  type?: "lxc" | "qemu";
  fw: FwFile;
  /**
   * Host-side devices of the guest's NICs that have firewall=1 (netN → veth…/tap…), with their static addresses, MAC
   * address and the device's number on this machine (its ifindex), which names the port in the packet marks.
   */
  ports: { net: string; dev: string; ips?: string[]; mac?: string; ifindex?: number }[];
}

/**
 * A port's number in the packet marks (1…65535). Marks are the packet's, not a table's: every lab's tables (labs side
 * by side, a cluster's nodes, one left behind by a killed run) see every bridged packet, so a port numbered from 1 in
 * each table would send one lab's packets through another lab's guest chains. The ifindex is unique on the machine.
 */
export function portMark(ifindex: number): number {
  return ((ifindex - 1) % 0xffff) + 1;
}

/** The datacenter firewall's switch: [OPTIONS] enable: 1 in cluster.fw (off by default, as on Proxmox). */
export function datacenterEnabled(cluster: FwFile): boolean {
  return Number(cluster.options.enable ?? 0) > 0;
}

function guestEnabled(fw: FwFile): boolean {
  return fw.options.enable === "1";
}

/** The mark a port's packets carry: its number in the high half as a sender (OUT), in the low half as a receiver (IN). */
const markOf = (dir: Direction, index: number) =>
  dir === "out"
    ? `meta mark & 0xffff0000 == 0x${(index << 16).toString(16)}`
    : `meta mark & 0x0000ffff == 0x${index.toString(16)}`;

interface Port {
  net: string;
  dev: string;
  ips?: string[];
  mac?: string;
  index: number;
}

/**
 * A guest's chain for one direction. Its log rules name pve-firewall's chain of the NIC the rule names, else of the
 * guest's first firewalled NIC (pve-firewall has a chain per NIC; a guest with several logs under the first one here).
 */
function guestChain(g: FwGuestPorts, ports: Port[], dir: Direction, cluster: FwFile, group?: number): string[] {
  const lines = [`ct state established,related ${VERDICT[dir].ACCEPT}`, "ct state invalid drop"];
  const resolve = (cidr: string) => {
    const a = addresses(cidr, cluster, g.fw);
    return a && !a.match.startsWith("{") ? a.match : undefined;
  };
  const marked = ports.map((p) => ({ ...p, mark: markOf(dir, p.index) }));
  lines.push(...portFilters(g.type, g.fw, marked, dir, resolve));
  for (const r of expand(g.fw.rules, dir, cluster)) {
    const m = matches(r, cluster, g.fw);
    const label = ruleComment(r);
    if (!m) {
      lines.push(`# skipped (unresolvable): ${r.type} ${r.action} ${r.source ?? ""} ${r.dest ?? ""}`);
      continue;
    }
    let ifaceMatch: string[] = [];
    let net = ports[0]!.net;
    if (r.iface) {
      const port = ports.find((p) => p.net === r.iface);
      if (!port) continue;
      ifaceMatch = [markOf(dir, port.index)];
      net = port.net;
    }
    const log = ruleLog(r, dir, g.vmid, guestPortChain(g.type, g.vmid, net, dir), group);
    if (log) lines.push([...ifaceMatch, ...m, log].join(" "));
    lines.push([...ifaceMatch, ...m, VERDICT[dir][r.action] ?? "drop", label].join(" "));
  }
  const policy = (dir === "in" ? g.fw.options.policy_in : g.fw.options.policy_out) ?? (dir === "in" ? "DROP" : "ACCEPT");
  const level = dir === "in" ? g.fw.options.log_level_in : g.fw.options.log_level_out;
  const log = policyLog(policy, level, g.vmid, guestPortChain(g.type, g.vmid, ports[0]!.net, dir), group);
  lines.push(...log);
  lines.push(`${VERDICT[dir][policy] ?? "drop"} comment "policy_${dir} ${policy}"`);
  return lines;
}

const chain = (name: string, hook: string | undefined, body: string[], priority = 0) => [
  `  chain ${name} {`,
  ...(hook ? [`    type filter hook ${hook} priority ${priority}; policy accept;`] : []),
  ...body.map((l) => `    ${l}`),
  "  }",
];

/**
 * The script that replaces the lab's two tables whole (just their removal when nothing is to be filtered). This
 * kernel's bridge family has no conntrack, so, as pve-firewall does with iptables, filtering happens in the IP hooks
 * that bridged packets pass through (bridge-nf-call-iptables); the bridge table only marks each packet with the guest
 * ports it comes from and goes to, which the IP hooks cannot see.
 */
export function renderRuleset(
  cluster: FwFile,
  guests: FwGuestPorts[],
  table = FW_TABLE,
  node?: NodeFirewall,
  /** The NFLOG group of the node's logger (host/firewall-log.ts); without one nothing is logged. */
  logGroup?: number,
): string {
  const head = [`table bridge ${table}`, `delete table bridge ${table}`, `table inet ${table}`, `delete table inet ${table}`];
  if (!datacenterEnabled(cluster)) return head.join("\n") + "\n";
  const active = guests.filter((g) => guestEnabled(g.fw) && g.ports.length);
  let next = 1;
  const chains: string[] = [];
  const pre: string[] = [];
  const bridgeFwd: string[] = [];
  const layer2: string[] = [];
  const [fwdOut, fwdIn, input, output] = [[], [], [], []] as string[][];
  for (const g of active) {
    // without an ifindex (plain data in tests) ports are numbered in order
    const ports: Port[] = g.ports.map((p) => ({ ...p, index: p.ifindex === undefined ? next++ : portMark(p.ifindex) }));
    for (const dir of ["in", "out"] as const)
      chains.push(...chain(`guest-${g.vmid}-${dir}`, undefined, guestChain(g, ports, dir, cluster, logGroup)));
    for (const p of ports) {
      layer2.push(...layer2Filters(g.type, g.fw, p));
      pre.push(`iifname "${p.dev}" meta mark set 0x${(p.index << 16).toString(16)}`);
      bridgeFwd.push(`oifname "${p.dev}" meta mark set meta mark & 0xffff0000 | 0x${p.index.toString(16)}`);
      fwdOut.push(`${markOf("out", p.index)} jump guest-${g.vmid}-out`);
      fwdIn.push(`${markOf("in", p.index)} jump guest-${g.vmid}-in`);
      input.push(`${markOf("out", p.index)} jump guest-${g.vmid}-out`);
      for (const ip of p.ips ?? []) output.push(`${ipVersion(ip) === 6 ? "ip6" : "ip"} daddr ${ip} jump guest-${g.vmid}-in`);
    }
  }
  // the node's own traffic with the lab's bridges: after a guest's OUT chain on the way in, before its IN chain out
  const host = node && node.bridges.length > 0 && hostEnabled(node.fw) ? node : undefined;
  if (host) {
    chains.push(...chain("host-in", undefined, hostChain("in", cluster, host, logGroup)));
    chains.push(...chain("host-out", undefined, hostChain("out", cluster, host, logGroup)));
    input.push("jump host-in");
    output.unshift("jump host-out");
  }
  return [
    ...head,
    `table bridge ${table} {`,
    ...chain("mark-from", "prerouting", pre, -300),
    ...chain("mark-to", "forward", bridgeFwd, -300),
    ...chain("guest-l2", "forward", layer2),
    "}",
    `table inet ${table} {`,
    ...chains,
    ...chain("forward", "forward", [...fwdOut, ...fwdIn]),
    ...chain("input", "input", input),
    ...chain("output", "output", output),
    "}",
    "",
  ].join("\n");
}
