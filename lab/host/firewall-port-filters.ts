// What pve-firewall puts at the head of a guest's chains before its rules (ruleset_create_vm_chain): DHCP let through
// unless `dhcp: 0`, the MAC filter (`macfilter`, on by default), router advertisements from the guest dropped unless
// `radv`, the IP filter (`ipfilter`, or an `ipfilter-netN` IP set), neighbour discovery (`ndp`, on by default); and
// its ebtables part on the bridge: frames from another MAC, and ARP for another address, dropped. Pure text.
import type { FwFile } from "../pve/firewall-config";

type Direction = "in" | "out";

export interface FilteredPort {
  net: string;
  dev: string;
  ips?: string[];
  mac?: string;
}

const on = (v: string | undefined, byDefault: boolean) => (v === undefined ? byDefault : v === "1");

/** pve-firewall's mac_to_linklocal: fe80:: with the MAC's modified EUI-64 (the universal/local bit flipped). */
export function linkLocal(mac: string): string {
  const p = mac.toLowerCase().split(":");
  const first = (parseInt(p[0]!, 16) ^ 0x02).toString(16).padStart(2, "0");
  const group = (a: string, b: string) => (parseInt(a + b, 16) || 0).toString(16);
  return `fe80::${group(first, p[1]!)}:${group(p[2]!, "ff")}:${group("fe", p[3]!)}:${group(p[4]!, p[5]!)}`;
}

/**
 * The addresses the guest may send from on a port, by family, when it is IP-filtered: its `ipfilter-netN` set (aliases
 * resolved by `resolve`) plus the port's link-local address and, for a container, its configured ip/ip6. Undefined
 * when the port is not filtered (no `ipfilter` option and no such set).
 */
export function ipfilterSet(
  type: "lxc" | "qemu" | undefined,
  fw: FwFile,
  port: FilteredPort,
  resolve: (cidr: string) => string | undefined,
): { v4: string[]; v6: string[] } | undefined {
  const explicit = fw.ipset[`ipfilter-${port.net}`];
  if (!on(fw.options.ipfilter, false) && !explicit) return undefined;
  const all = (explicit ?? []).filter((e) => !e.nomatch).flatMap((e) => resolve(e.cidr) ?? []);
  if (port.mac) all.push(linkLocal(port.mac));
  if (type !== "qemu") all.push(...(port.ips ?? []));
  return { v4: all.filter((a) => !a.includes(":")), v6: all.filter((a) => a.includes(":")) };
}

/** The head of a guest's chain in one direction, for its ports (`mark` names a port's packets in that direction). */
export function portFilters(
  type: "lxc" | "qemu" | undefined,
  fw: FwFile,
  ports: (FilteredPort & { mark: string })[],
  dir: Direction,
  resolve: (cidr: string) => string | undefined,
): string[] {
  const o = fw.options;
  const accept = dir === "out" ? "return" : "accept";
  const lines: string[] = [];
  if (on(o.dhcp, true))
    lines.push(
      dir === "out"
        ? `meta nfproto ipv4 udp sport 68 udp dport 67 ${accept}`
        : `meta nfproto ipv4 udp sport 67 udp dport 68 ${accept}`,
      dir === "out"
        ? `meta nfproto ipv6 udp sport 546 udp dport 547 ${accept}`
        : `meta nfproto ipv6 udp sport 547 udp dport 546 ${accept}`,
    );
  if (dir === "out") {
    for (const p of ports)
      if (p.mac && on(o.macfilter, true)) lines.push(`${p.mark} ether saddr != ${p.mac.toLowerCase()} drop comment "macfilter"`);
    if (!on(o.radv, false)) lines.push('icmpv6 type nd-router-advert drop comment "radv off"');
    for (const p of ports) {
      const set = ipfilterSet(type, fw, p, resolve);
      if (!set) continue;
      for (const [family, key, list] of [
        ["ipv4", "ip", set.v4],
        ["ipv6", "ip6", set.v6],
      ] as const)
        lines.push(
          list.length
            ? `${p.mark} meta nfproto ${family} ${key} saddr != { ${list.join(", ")} } drop comment "ipfilter-${p.net}"`
            : `${p.mark} meta nfproto ${family} drop comment "ipfilter-${p.net}"`,
        );
    }
  }
  if (on(o.ndp, true)) {
    const types = ["nd-router-solicit", ...(dir === "in" || on(o.radv, false) ? ["nd-router-advert"] : [])];
    lines.push(`icmpv6 type { ${[...types, "nd-neighbor-solicit", "nd-neighbor-advert"].join(", ")} } ${accept}`);
  }
  return lines;
}

/**
 * The bridge's part (pve-firewall's ebtables chain per port, guests with their firewall on): frames from the port
 * with another source MAC dropped (macfilter), and ARP claiming another IPv4 address, when the port has an ARP list
 * (its `ipfilter-netN` set's IPv4 entries, a container's configured address with `ipfilter`).
 */
export function layer2Filters(type: "lxc" | "qemu" | undefined, fw: FwFile, port: FilteredPort): string[] {
  const lines: string[] = [];
  if (port.mac && on(fw.options.macfilter, true))
    lines.push(`iifname "${port.dev}" ether saddr != ${port.mac.toLowerCase()} drop`);
  const arp = [
    ...(fw.ipset[`ipfilter-${port.net}`] ?? []).map((e) => e.cidr.split("/")[0]!).filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a)),
    ...(type !== "qemu" && on(fw.options.ipfilter, false) ? (port.ips ?? []).filter((a) => !a.includes(":")) : []),
  ];
  if (arp.length) lines.push(`iifname "${port.dev}" arp saddr ip != { ${[...new Set(arp)].join(", ")} } drop`);
  return lines;
}
