// Bridges, static addresses, pools and MACs.
import { type Cidr, contains, formatIp, isHostAddress, parseCidr, parseIp, parseRange } from "../definition/ipv4";
import { type Problem, error } from "../definition/problems";
import type { Index } from "../definition/resolve";
import type { Bridge } from "../definition/schema";
import { type PoolInfo, poolFor, poolsOf } from "../definition/pools";

export function checkNetwork(ix: Index): Problem[] {
  const out: Problem[] = [];
  const bridges = new Map<string, { b: Bridge; net: Cidr; path: string }>();
  const badPools = new Set<string>();

  ix.def.network.bridges.forEach((b, i) => {
    const path = `network.bridges[${i}]`;
    if (bridges.has(b.name)) {
      out.push(error(`${path}.name`, `bridge '${b.name}' is declared twice`, "give each bridge one entry"));
      return;
    }
    const net = parseCidr(b.subnet);
    if (!net) {
      out.push(error(`${path}.subnet`, `'${b.subnet}' is not a valid IPv4 CIDR`, "write it like 10.0.0.0/24"));
      return;
    }
    if (net.address !== net.network)
      out.push(
        error(
          `${path}.subnet`,
          `subnet ${b.subnet} has host bits set`,
          `write the network address: ${formatIp(net.network)}/${net.prefix}`,
        ),
      );
    bridges.set(b.name, { b, net, path });
    if (b.gateway !== undefined) {
      const gw = parseIp(b.gateway);
      if (gw === undefined || !isHostAddress(net, gw))
        out.push(
          error(
            `${path}.gateway`,
            `gateway ${b.gateway} is not a host address in ${b.subnet}`,
            "use an address inside the bridge's subnet",
          ),
        );
    }
    const poolNames = new Set<string>();
    b.pools.forEach((p, j) => {
      const pp = `${path}.pools[${j}]`;
      if (poolNames.has(p.name))
        out.push(error(`${pp}.name`, `pool '${p.name}' is declared twice on bridge '${b.name}'`, "rename one"));
      poolNames.add(p.name);
      const r = parseRange(p.range);
      const before = out.length;
      if (!r) out.push(error(`${pp}.range`, `'${p.range}' is not a valid address range`, "write it like 10.0.0.100-10.0.0.199"));
      else if (r.first > r.last)
        out.push(error(`${pp}.range`, `range ${p.range} ends before it starts`, "put the lower address first"));
      else if (!isHostAddress(net, r.first) || !isHostAddress(net, r.last))
        out.push(
          error(`${pp}.range`, `range ${p.range} is not inside ${b.subnet}`, "keep the pool within the bridge's host addresses"),
        );
      if (out.length > before) badPools.add(pp);
      else if (r) {
        const other = b.pools.slice(0, j).find((q) => {
          const qr = parseRange(q.range);
          return qr !== undefined && qr.first <= r.last && r.first <= qr.last;
        });
        if (other) {
          out.push(
            error(
              `${pp}.range`,
              `pool '${p.name}' overlaps pool '${other.name}' on bridge '${b.name}'`,
              "make the pools' ranges disjoint",
            ),
          );
          badPools.add(pp);
        }
      }
    });
  });

  const pools = poolsOf([...bridges.values()].map((x) => x.b));
  const staticIps = new Map<number, string>();
  const macs = new Map<string, string>();
  const autoDemand = new Map<PoolInfo, string[]>();

  for (const m of ix.machines) {
    const ifaces = m.def.network ?? [];
    const ifNames = new Set<string>();
    ifaces.forEach((nic, k) => {
      const path = `${m.path}.network[${k}]`;
      if (ifNames.has(nic.name))
        out.push(
          error(`${path}.name`, `interface '${nic.name}' is declared twice on '${m.name}'`, "name interfaces eth0, eth1, …"),
        );
      ifNames.add(nic.name);
      if (nic.mac !== undefined) {
        const key = nic.mac.toLowerCase();
        const first = parseInt(key.slice(0, 2), 16);
        if (first & 1)
          out.push(
            error(
              `${path}.mac`,
              `MAC ${nic.mac} is a multicast address`,
              "use a unicast MAC, e.g. one starting 52:54:00 or BC:24:11",
            ),
          );
        const other = macs.get(key);
        if (other)
          out.push(
            error(
              `${path}.mac`,
              `MAC ${nic.mac} is already used by ${other}`,
              "give each interface its own MAC, or omit it to let Proxmox generate one",
            ),
          );
        else macs.set(key, path);
      }
      const br = bridges.get(nic.bridge);
      if (!br) {
        out.push(
          error(
            `${path}.bridge`,
            `unknown bridge '${nic.bridge}'`,
            `declare it under network.bridges, or use one of: ${[...bridges.keys()].join(", ")}`,
          ),
        );
        return;
      }
      if (nic.gateway !== undefined) {
        const gw = parseIp(nic.gateway);
        if (gw === undefined || !contains(br.net, gw))
          out.push(
            error(
              `${path}.gateway`,
              `gateway ${nic.gateway} is outside ${br.b.subnet}`,
              "use an address inside the bridge's subnet, or omit it to use the bridge's gateway",
            ),
          );
      }
      if (nic.pool !== undefined && nic.ip !== "auto")
        out.push(error(`${path}.pool`, `pool is only used with ip: auto (ip is ${nic.ip})`, "remove pool, or set ip: auto"));
      if (nic.ip === "auto") {
        const pool = poolFor(pools, nic.bridge, nic.pool);
        if (!pool) {
          out.push(
            nic.pool
              ? error(`${path}.pool`, `bridge '${nic.bridge}' has no pool '${nic.pool}'`, `declare it under ${br.path}.pools`)
              : error(
                  `${path}.ip`,
                  `ip is auto but bridge '${nic.bridge}' has no address pool`,
                  `add a pool under ${br.path}.pools, or give a static CIDR`,
                ),
          );
        } else autoDemand.set(pool, [...(autoDemand.get(pool) ?? []), path]);
        return;
      }
      if (nic.ip === "dhcp") return;
      const c = parseCidr(nic.ip);
      if (!c) {
        out.push(error(`${path}.ip`, `'${nic.ip}' is not a valid IPv4 CIDR`, "write it like 10.0.0.5/24"));
        return;
      }
      if (!isHostAddress(br.net, c.address)) {
        out.push(
          error(
            `${path}.ip`,
            `${nic.ip} is outside bridge '${nic.bridge}' subnet ${br.b.subnet}`,
            `pick a host address in ${br.b.subnet}`,
          ),
        );
        return;
      }
      if (c.prefix !== br.net.prefix)
        out.push(
          error(
            `${path}.ip`,
            `prefix /${c.prefix} differs from bridge '${nic.bridge}' subnet ${br.b.subnet}`,
            `write ${formatIp(c.address)}/${br.net.prefix}`,
          ),
        );
      const gwText = nic.gateway ?? br.b.gateway;
      if (gwText !== undefined && parseIp(gwText) === c.address)
        out.push(error(`${path}.ip`, `${formatIp(c.address)} is the gateway's address`, "pick another address"));
      const other = staticIps.get(c.address);
      if (other)
        out.push(
          error(
            `${path}.ip`,
            `${formatIp(c.address)} is already used by ${other}`,
            "give each interface its own address, or use ip: auto",
          ),
        );
      else staticIps.set(c.address, `${path} (${m.name})`);
    });
  }

  for (const [pool, users] of autoDemand) {
    if (badPools.has(pool.path)) continue;
    const br = bridges.get(pool.bridge)!;
    const gw = br.b.gateway !== undefined ? parseIp(br.b.gateway) : undefined;
    let free = 0;
    for (let a = pool.first; a <= pool.last; a++) if (!staticIps.has(a) && a !== gw && isHostAddress(br.net, a)) free++;
    if (users.length > free)
      out.push(
        error(
          `${pool.path}.range`,
          `pool '${pool.name}' on bridge '${pool.bridge}' runs dry: ${users.length} interfaces ask for an address, ${free} are free (${formatIp(pool.first)}–${formatIp(pool.last)}, less static and gateway addresses)`,
          "widen the range, or give some guests static addresses on another range",
        ),
      );
  }
  return out;
}
