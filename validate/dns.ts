// Cross-field checks of the definition's dns (issue 17): a domain to serve, a node and an address to listen on, and
// names that are DNS labels and mean one address each.
import { bridgeHolding, dnsListen, dnsNode, dnsUpstream, isDnsLabel } from "../definition/dns-names";
import { isHostAddress, parseCidr, parseIp } from "../definition/ipv4";
import { type Problem, error, warning } from "../definition/problems";
import type { Index } from "../definition/resolve";

export function checkDns(ix: Index): Problem[] {
  const dns = ix.def.network.dns;
  if (!dns) return [];
  const out: Problem[] = [];
  const domain = ix.def.network.domain;
  if (domain === undefined)
    out.push(
      error(
        "network.dns",
        "an internal DNS server needs network.domain: its names are <guest>.<domain>",
        "set network.domain, e.g. lab.internal",
      ),
    );
  if (dns.node !== undefined && !ix.nodes.has(dns.node))
    out.push(
      error("network.dns.node", `no node named '${dns.node}'`, `name one of: ${ix.def.nodes.map((n) => n.name).join(", ")}`),
    );
  const node = dnsNode(ix);
  if (node && !node.ssh) {
    const i = ix.def.nodes.indexOf(node);
    out.push(
      error(
        `nodes[${i}].ssh`,
        `network.dns runs dnsmasq on node '${node.name}' over SSH, and it has no ssh`,
        "give the node ssh: { host, user: root, privateKey: { secret: … } }",
      ),
    );
  }
  out.push(...checkListen(ix));
  const listen = dnsListen(ix);
  if (listen !== undefined && dns.useInGuests && dns.upstream === undefined && dnsUpstream(ix, listen).length === 0)
    out.push(
      warning(
        "network.dns.upstream",
        `no server to forward other names to (the bridge's dns is empty or only ${listen} itself): guests will resolve ` +
          `<name>.${domain ?? "<domain>"} and nothing else`,
        "list your resolvers in network.dns.upstream, e.g. [192.168.1.1] (upstream: [] says to answer only these names)",
      ),
    );
  out.push(...checkNames(ix, domain ?? "<domain>"));
  return out;
}

function checkListen(ix: Index): Problem[] {
  const dns = ix.def.network.dns!;
  const bridges = ix.def.network.bridges;
  const subnets = bridges.map((b) => `${b.name} ${b.subnet}`).join(", ");
  if (dns.listen === undefined) {
    if (dnsListen(ix) !== undefined) return [];
    const node = dnsNode(ix);
    const host = node?.ssh?.host;
    return [
      error(
        "network.dns",
        `listen is not set, and ${host !== undefined ? `the node's ssh.host (${host})` : `node '${node?.name ?? "?"}' has no ssh.host that`} ` +
          `is not an IPv4 address inside a bridge's subnet (${subnets})`,
        "set network.dns.listen to the node's address on the bridge the guests use, e.g. its gateway address",
      ),
    ];
  }
  const bridge = bridgeHolding(bridges, dns.listen);
  const net = bridge ? parseCidr(bridge.subnet) : undefined;
  if (!bridge || !net)
    return [
      error(
        "network.dns.listen",
        `${dns.listen} is inside no bridge's subnet (${subnets}): guests could not reach it`,
        "use the node's address on a bridge, e.g. the bridge's gateway",
      ),
    ];
  if (!isHostAddress(net, parseIp(dns.listen)!))
    return [
      error(
        "network.dns.listen",
        `${dns.listen} is the network or broadcast address of ${bridge.subnet}`,
        "use the node's address on the bridge",
      ),
    ];
  for (const m of ix.machines)
    for (const [k, nic] of m.def.network.entries())
      if (nic.ip.split("/")[0] === dns.listen)
        return [
          error(
            "network.dns.listen",
            `${dns.listen} is ${m.path}.network[${k}]'s address (${m.name}): the DNS server listens on the node`,
            "use the node's address on the bridge, e.g. the bridge's gateway",
          ),
        ];
  return [];
}

/** Guests' names: DNS labels, an address to name, and one address per fqdn (guests and exposed services). */
function checkNames(ix: Index, domain: string): Problem[] {
  const out: Problem[] = [];
  const gateway = ix.def.gateway?.guest;
  const guestsByName = new Map<string, string>();
  for (const m of ix.machines) {
    if (m.kind !== "guest") continue;
    if (!isDnsLabel(m.name)) {
      out.push(
        warning(
          `${m.path}.name`,
          `'${m.name}' is not one DNS label (lower-case letters, digits and '-'): the guest gets no name under ${domain}`,
          `rename it, e.g. '${m.name.toLowerCase().replace(/[^a-z0-9-]/g, "-")}'`,
        ),
      );
      continue;
    }
    if (!m.def.network.some((n) => n.ip !== "dhcp")) {
      out.push(
        warning(
          `${m.path}.network`,
          `${m.name} has no static or pool address (dhcp only): ${m.name}.${domain} gets no record`,
          "give it a static address or ip: auto (from a pool)",
        ),
      );
      continue;
    }
    guestsByName.set(m.name, m.path);
  }
  if (gateway === undefined) return out;
  // Exposed services are named at the gateway's address: a guest of the same name has its own, unless it is the gateway.
  const services = [
    ...ix.def.guests.flatMap((g, i) => g.expose.map((e, j) => ({ name: e.name, path: `guests[${i}].expose[${j}].name` }))),
    ...ix.def.apps.flatMap((a, i) => a.expose.map((e, j) => ({ name: e.name, path: `apps[${i}].expose[${j}].name` }))),
  ];
  for (const s of services) {
    const guest = guestsByName.get(s.name);
    if (guest !== undefined && s.name !== gateway)
      out.push(
        error(
          s.path,
          `${s.name}.${domain} would name two addresses: the gateway's (this service) and ${guest}'s (the guest ${s.name})`,
          `rename the service or the guest (e.g. ${s.name}-web)`,
        ),
      );
  }
  return out;
}
