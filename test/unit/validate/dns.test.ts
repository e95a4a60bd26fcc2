// Bad definitions, internal DNS (validate/dns.ts): a domain, a node and an address to listen on, names that are DNS
// labels and mean one address each.
import { describe } from "vitest";
import { type Case, type Raw, runCases } from "./support";

/** A DNS server on the bridge's gateway address, forwarding to a resolver outside (no warning about upstreams). */
const withDns = (d: Raw, dns: Raw = {}) => (d.network.dns = { listen: "10.100.0.1", upstream: ["192.0.2.53"], ...dns });

const cases: Case[] = [
  { name: "a DNS server on the bridge's gateway address is valid", mutate: (d) => withDns(d), expect: [] },
  {
    name: "listen derived from the node's ssh.host on the bridge",
    mutate: (d) => {
      withDns(d, { listen: undefined });
      d.nodes[0].ssh.host = "10.100.0.2";
    },
    expect: [],
  },
  {
    name: "no domain",
    mutate: (d) => {
      withDns(d);
      delete d.network.domain;
    },
    expect: [
      {
        path: "network.dns",
        message: "an internal DNS server needs network.domain: its names are <guest>.<domain>",
        fix: "set network.domain, e.g. lab.internal",
      },
    ],
  },
  {
    name: "an unknown node",
    mutate: (d) => withDns(d, { node: "pve2" }),
    expect: [{ path: "network.dns.node", message: "no node named 'pve2'", fix: "name one of: lab" }],
  },
  {
    name: "a node without ssh",
    mutate: (d) => {
      withDns(d, { node: "pve2" });
      d.nodes.push({
        ...d.nodes[0],
        name: "pve2",
        gpus: [],
        nvidia: undefined,
        ssh: undefined,
        zfs: { pools: [], datasets: [] },
      });
      for (const m of [...d.templates, ...d.guests]) m.node = "lab";
    },
    expect: [{ path: "nodes[1].ssh", message: "network.dns runs dnsmasq on node 'pve2' over SSH, and it has no ssh" }],
  },
  {
    name: "no listen, and the node's ssh.host is loopback",
    mutate: (d) => withDns(d, { listen: undefined }),
    expect: [
      {
        path: "network.dns",
        message:
          "listen is not set, and the node's ssh.host (127.0.0.1) is not an IPv4 address inside a bridge's subnet (vmbr0 10.100.0.0/24)",
      },
    ],
  },
  {
    name: "listen outside every bridge",
    mutate: (d) => withDns(d, { listen: "192.168.7.1" }),
    expect: [
      {
        path: "network.dns.listen",
        message: "192.168.7.1 is inside no bridge's subnet (vmbr0 10.100.0.0/24): guests could not reach it",
      },
    ],
  },
  {
    name: "listen on the broadcast address",
    mutate: (d) => withDns(d, { listen: "10.100.0.255" }),
    expect: [{ path: "network.dns.listen", message: "10.100.0.255 is the network or broadcast address of 10.100.0.0/24" }],
  },
  {
    name: "listen on a guest's address",
    mutate: (d) => withDns(d, { listen: "10.100.0.10" }),
    expect: [
      {
        path: "network.dns.listen",
        message: "10.100.0.10 is guests[0].network[0]'s address (portainer): the DNS server listens on the node",
      },
    ],
  },
  {
    name: "forwarding nowhere: the bridge's dns is the server itself",
    mutate: (d) => withDns(d, { upstream: undefined }),
    expect: [
      {
        severity: "warning",
        path: "network.dns.upstream",
        message:
          "no server to forward other names to (the bridge's dns is empty or only 10.100.0.1 itself): guests will resolve <name>.lab.internal and nothing else",
      },
    ],
  },
  {
    name: "forwarding nowhere is fine when guests keep their own nameservers",
    mutate: (d) => withDns(d, { upstream: undefined, useInGuests: false }),
    expect: [],
  },
  { name: "forwarding nowhere, said explicitly (upstream: [])", mutate: (d) => withDns(d, { upstream: [] }), expect: [] },
  {
    name: "a guest name that is not a DNS label stays unnamed",
    mutate: (d) => {
      withDns(d);
      d.guests[1].name = "Data.Store";
    },
    expect: [
      {
        severity: "warning",
        path: "guests[1].name",
        message:
          "'Data.Store' is not one DNS label (lower-case letters, digits and '-'): the guest gets no name under lab.internal",
        fix: "rename it, e.g. 'data-store'",
      },
    ],
  },
  {
    name: "a guest on DHCP only gets no record",
    mutate: (d) => {
      withDns(d);
      d.guests[1].network[0].ip = "dhcp";
    },
    expect: [
      {
        severity: "warning",
        path: "guests[1].network",
        message: "data has no static or pool address (dhcp only): data.lab.internal gets no record",
      },
    ],
  },
  {
    name: "a service exposed under a guest's name",
    mutate: (d) => {
      withDns(d);
      d.gateway = { guest: "portainer" };
      d.guests[0].expose = [{ name: "data", port: 9443, scheme: "https" }];
    },
    expect: [
      {
        path: "guests[0].expose[0].name",
        message: "data.lab.internal would name two addresses: the gateway's (this service) and guests[1]'s (the guest data)",
        fix: "rename the service or the guest (e.g. data-web)",
      },
    ],
  },
  {
    name: "the gateway exposing a service under its own name: one address",
    mutate: (d) => {
      withDns(d);
      d.gateway = { guest: "portainer" };
      d.guests[0].expose = [{ name: "portainer", port: 9443, scheme: "https" }];
    },
    expect: [],
  },
];

describe("internal DNS", () => runCases(cases, 16));
