// The real node's firewall: pve-firewall's files under <state>/pve (firewall/cluster.fw, firewall/<vmid>.fw,
// nodes/<node>/host.fw), and their enforcement on the lab's bridge by Debian's nftables, rendered again after every
// change (an API write, a guest's start or stop, a config write that may flip a NIC's firewall=1) instead of
// pve-firewall's 10 s loop.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { emptyFwFile, parseFwFile, type FwFile } from "../pve/firewall-config";
import type { GuestType } from "../pve/backend";
import type { PveConfig } from "../pve/pve-config";
import { FW_TABLE, type FwGuestPorts, datacenterEnabled, renderRuleset } from "../host/firewall-nft";
import { logGroup } from "../host/firewall-log";
import { run } from "../host/run";

export const NFT = "/usr/sbin/nft";

export interface FirewallGuest {
  vmid: number;
  type: GuestType;
  config: PveConfig;
  /** Host-side devices of its NICs (netN → device) while it runs. */
  ports: Record<string, string>;
}

/** The host-side veth of each NIC of a running container, as `lxc-info` names them (in lxc.net order = netN order). */
export function lxcPorts(lxcPath: string, vmid: number, config: PveConfig): Record<string, string> {
  const r = run("lxc-info", ["-P", lxcPath, "-n", String(vmid)], { allowFail: true });
  if (r.code !== 0) return {};
  const links = [...r.stdout.matchAll(/^Link:\s+(\S+)/gm)].map((m) => m[1]!);
  const nets = Object.keys(config)
    .filter((k) => /^net\d+$/.test(k))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
  return Object.fromEntries(nets.flatMap((n, i) => (links[i] ? [[n, links[i]]] : [])));
}

/** The device's ifindex on this machine, or undefined when there is no such device. */
function ifindexOf(dev: string): number | undefined {
  const p = `/sys/class/net/${dev}/ifindex`;
  if (!/^[\w.-]+$/.test(dev) || !existsSync(p)) return undefined;
  const n = Number(readFileSync(p, "utf8").trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Removes the lab's table (lab down); nothing when nftables is not installed or the table is absent. */
export function removeFirewallTable(table: string): void {
  if (!existsSync(NFT)) return;
  for (const family of ["bridge", "inet"]) run(NFT, ["delete", "table", family, table], { allowFail: true });
}

/** The node of a lab whose own traffic is filtered: its name (nodes/<name>/host.fw), the lab's bridges, its stand-ins. */
export interface NodeTraffic {
  name: string;
  bridges: string[];
  /** TCP ports of the lab's stand-ins for the internet on those bridges (apt proxy, registry mirror). */
  standIns: number[];
}

export class HostFirewall {
  private queue: Promise<void> = Promise.resolve();
  private applied = false;

  constructor(
    private readonly root: string,
    private readonly guests: () => Promise<FirewallGuest[]>,
    /** The nftables tables' name (a test's own, beside a lab's). */
    readonly table = FW_TABLE,
    /** The node whose own traffic with the lab's bridges its host.fw and the datacenter's rules filter (one per lab). */
    private readonly node?: NodeTraffic,
  ) {}

  read(path: string): string | undefined {
    const p = join(this.root, path);
    return existsSync(p) ? readFileSync(p, "utf8") : undefined;
  }

  /** Whole-file replace (temp file, rename), as pmxcfs writes. */
  write(path: string, text: string): void {
    const p = join(this.root, path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(`${p}.tmp.${process.pid}`, text);
    renameSync(`${p}.tmp.${process.pid}`, p);
  }

  delete(path: string): void {
    rmSync(join(this.root, path), { force: true });
  }

  private file(path: string): FwFile {
    const text = this.read(path);
    return text === undefined ? emptyFwFile() : parseFwFile(text);
  }

  /** The ruleset for what is stored now (guests whose NICs have firewall=1 and are plugged in). */
  async ruleset(): Promise<string> {
    const cluster = this.file("firewall/cluster.fw");
    const guests: FwGuestPorts[] = [];
    if (datacenterEnabled(cluster))
      for (const g of await this.guests()) {
        const ports = Object.entries(g.ports)
          .filter(([net]) => /(?:^|,)firewall=1(?:,|$)/.test(g.config[net] ?? ""))
          .flatMap(([net, dev]) => {
            const ifindex = ifindexOf(dev);
            // a device already gone (the guest stopping) carries no packets
            if (ifindex === undefined) return [];
            const text = g.config[net] ?? "";
            const ips = [...text.matchAll(/(?:^|,)ip6?=([0-9a-fA-F.:]+)\//g)].map((m) => m[1]!);
            // a container's hwaddr=, a VM's <model>=MAC
            const mac =
              /(?:^|,)(?:hwaddr|virtio|e1000\w*|rtl8139|vmxnet3|ne2k_\w+|i82\d+\w*|pcnet)=([0-9A-Fa-f:]{17})(?:,|$)/.exec(
                text,
              )?.[1];
            return [{ net, dev, ifindex, ...(ips.length ? { ips } : {}), ...(mac ? { mac } : {}) }];
          });
        guests.push({ vmid: g.vmid, type: g.type, fw: this.file(`firewall/${g.vmid}.fw`), ports });
      }
    const node = this.node && {
      fw: this.file(`nodes/${this.node.name}/host.fw`),
      bridges: this.node.bridges,
      standIns: this.node.standIns,
    };
    return renderRuleset(cluster, guests, this.table, node, logGroup(this.table));
  }

  /** Renders and loads the ruleset, one at a time; a no-op until the datacenter firewall was first enabled. */
  apply(): Promise<void> {
    const next = this.queue.then(async () => {
      if (!existsSync(NFT)) return;
      const enabled = datacenterEnabled(this.file("firewall/cluster.fw"));
      if (!enabled && !this.applied) return;
      // bridged packets through the IP hooks, as pve-firewall's enable_bridge_firewall sets it (machine-wide)
      for (const f of ["bridge-nf-call-iptables", "bridge-nf-call-ip6tables"]) {
        const p = `/proc/sys/net/bridge/${f}`;
        if (enabled && existsSync(p) && readFileSync(p, "utf8").trim() !== "1") writeFileSync(p, "1");
      }
      run(NFT, ["-f", "-"], { input: await this.ruleset() });
      this.applied = enabled;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}
