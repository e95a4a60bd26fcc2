// stacks/dev.yaml with its own pool, bridge, addresses and storage path, so a test's lab cannot collide
// with a running demo or another test.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { freePort } from "./sshd";

export interface IsolatedDefinition {
  raw: any;
  tag: string;
  pool: string;
  bridge: string;
  net: string;
  text(): string;
  /** Gives the node's sshd and the lab API free loopback ports (so a running demo lab is left alone). */
  assignPorts(): Promise<{ ssh: number; api: number }>;
}

/**
 * `gateway: true` keeps dev.yaml's HTTPS gateway and exposes, `dns: true` its DNS server; without them they are left
 * out, so tests about other things neither install Caddy or dnsmasq nor count their steps (test/e2e/gateway.test.ts
 * and test/e2e/dns.test.ts are theirs).
 */
export function isolatedDevDefinition(dir: string, opts: { gateway?: boolean; dns?: boolean } = {}): IsolatedDefinition {
  const tag = Math.random().toString(36).slice(2, 7);
  const octet = freeOctet();
  const net = `10.253.${octet}`;
  const pool = `phxlab${tag}`;
  const bridge = `phxbr${tag}`;
  const d = parse(readFileSync(join(__dirname, "..", "..", "stacks", "dev.yaml"), "utf8"));
  d.nodes[0].zfs.pools = [{ name: pool }];
  d.nodes[0].zfs.datasets = d.nodes[0].zfs.datasets.map((x: any) => ({ ...x, name: x.name.replace(/^tank\//, `${pool}/`) }));
  d.nodes[0].storage[0].path = join(dir, "vz");
  d.nodes[0].storage[1].pool = `${pool}/lxc-disks`;
  d.network.bridges[0] = {
    name: bridge,
    subnet: `${net}.0/24`,
    gateway: `${net}.1`,
    pools: [{ name: "g", range: `${net}.100-${net}.199` }],
  };
  // The DNS server on the node listens on its address on this bridge.
  if (d.network.dns?.listen) d.network.dns.listen = `${net}.1`;
  for (const m of [...d.templates, ...d.guests]) for (const n of m.network ?? []) n.bridge = bridge;
  d.templates[1].network[0].ip = `${net}.91/24`;
  const daemon = d.templates[1].features.docker.daemon;
  daemon["registry-mirrors"] = [`http://${net}.1:5000`];
  daemon["insecure-registries"] = [`${net}.1:5000`];
  d.guests[0].network[0].ip = `${net}.10/24`;
  for (const g of d.guests) for (const mp of g.mountPoints ?? []) mp.dataset = mp.dataset.replace(/^tank\//, `${pool}/`);
  if (!opts.dns) delete d.network.dns;
  if (!opts.gateway) {
    delete d.gateway;
    for (const x of [...d.guests, ...(d.apps ?? [])]) delete x.expose;
  }
  const assignPorts = async () => {
    const ports = { ssh: await freePort(), api: await freePort() };
    d.nodes[0].ssh.port = ports.ssh;
    d.nodes[0].api.endpoint = `https://127.0.0.1:${ports.api}/`;
    return ports;
  };
  return { raw: d, tag, pool, bridge, net, text: () => stringify(d), assignPorts };
}

/**
 * A 10.253.<octet>.0/24 no interface of this machine is on: labs side by side (other tests, other branches' runs)
 * with the same subnet route each other's guests to the wrong bridge (an apt proxy that "cannot be reached").
 */
function freeOctet(): number {
  let used = "";
  try {
    used = execFileSync("ip", ["-4", "-o", "addr"], { encoding: "utf8" });
  } catch {
    // no ip(8): any octet
  }
  const taken = new Set([...used.matchAll(/inet 10\.253\.(\d+)\./g)].map((m) => Number(m[1])));
  const free = Array.from({ length: 200 }, (_, i) => i + 20).filter((o) => !taken.has(o));
  return free[Math.floor(Math.random() * free.length)] ?? Math.floor(Math.random() * 200) + 20;
}

/** A plain container of the isolated definition: the base template, a 2 GiB disk, one NIC on the lab's bridge. */
export function plainGuest(iso: IsolatedDefinition, vmid: number, name: string, extra: Record<string, unknown> = {}) {
  return {
    vmid,
    name,
    template: "debian-12-base",
    memory: 512,
    disk: { storage: "tank-lxc", size: 2 },
    network: [{ name: "eth0", bridge: iso.bridge, ip: "auto" }],
    backupBeforeReplace: false,
    ...extra,
  };
}
