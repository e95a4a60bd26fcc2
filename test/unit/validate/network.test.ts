// Bad definitions, the network (validate/network.ts): bridges, static addresses, pools, MACs.
import { describe } from "vitest";
import { type Case, lxc, runCases } from "./support";

const cases: Case[] = [
  {
    name: "static IP outside subnet",
    mutate: (d) => (d.guests[0].network[0].ip = "10.200.0.10/24"),
    expect: [{ path: "guests[0].network[0].ip", message: "10.200.0.10/24 is outside bridge 'vmbr0' subnet 10.100.0.0/24" }],
  },
  {
    name: "static IP equals gateway",
    mutate: (d) => (d.guests[0].network[0].ip = "10.100.0.1/24"),
    expect: [{ path: "guests[0].network[0].ip", message: "10.100.0.1 is the gateway's address" }],
  },
  {
    name: "two guests with the same static IP",
    mutate: (d) => (d.guests[1].network[0].ip = "10.100.0.10/24"),
    expect: [{ path: "guests[1].network[0].ip", message: "10.100.0.10 is already used by guests[0].network[0] (portainer)" }],
  },
  {
    name: "wrong prefix",
    mutate: (d) => (d.guests[0].network[0].ip = "10.100.0.10/16"),
    expect: [{ path: "guests[0].network[0].ip", message: "prefix /16 differs from bridge 'vmbr0' subnet 10.100.0.0/24" }],
  },
  {
    name: "auto IP with no pool",
    mutate: (d) => (d.network.bridges[0].pools = []),
    expect: [{ path: "guests[1].network[0].ip", message: "ip is auto but bridge 'vmbr0' has no address pool" }],
  },
  {
    name: "unknown pool",
    mutate: (d) => (d.guests[1].network[0].pool = "servers"),
    expect: [{ path: "guests[1].network[0].pool", message: "bridge 'vmbr0' has no pool 'servers'" }],
  },
  {
    name: "pool with a static address",
    mutate: (d) => (d.guests[0].network[0].pool = "guests"),
    expect: [{ path: "guests[0].network[0].pool", message: "pool is only used with ip: auto (ip is 10.100.0.10/24)" }],
  },
  {
    name: "unknown bridge",
    mutate: (d) => (d.guests[1].network[0].bridge = "vmbr9"),
    expect: [{ path: "guests[1].network[0].bridge", message: "unknown bridge 'vmbr9'" }],
  },
  {
    name: "pool runs dry (2 addresses, 3 auto guests)",
    mutate: (d) => {
      d.network.bridges[0].pools[0].range = "10.100.0.100-10.100.0.101";
      d.guests.push(lxc(220, "extra1"), lxc(221, "extra2"));
    },
    expect: [
      {
        path: "network.bridges[0].pools[0].range",
        message:
          "pool 'guests' on bridge 'vmbr0' runs dry: 3 interfaces ask for an address, 2 are free (10.100.0.100–10.100.0.101, less static and gateway addresses)",
      },
    ],
  },
  {
    name: "pool range outside subnet",
    mutate: (d) => (d.network.bridges[0].pools[0].range = "10.101.0.100-10.101.0.199"),
    expect: [
      { path: "network.bridges[0].pools[0].range", message: "range 10.101.0.100-10.101.0.199 is not inside 10.100.0.0/24" },
    ],
  },
  {
    name: "pool range reversed",
    mutate: (d) => (d.network.bridges[0].pools[0].range = "10.100.0.199-10.100.0.100"),
    expect: [{ path: "network.bridges[0].pools[0].range", message: "range 10.100.0.199-10.100.0.100 ends before it starts" }],
  },
  {
    name: "subnet with host bits set",
    mutate: (d) => (d.network.bridges[0].subnet = "10.100.0.5/24"),
    expect: [{ path: "network.bridges[0].subnet", message: "subnet 10.100.0.5/24 has host bits set" }],
  },
  {
    name: "bridge gateway outside subnet",
    mutate: (d) => (d.network.bridges[0].gateway = "10.200.0.1"),
    expect: [{ path: "network.bridges[0].gateway", message: "gateway 10.200.0.1 is not a host address in 10.100.0.0/24" }],
  },
  {
    name: "MAC collision (case-insensitive)",
    mutate: (d) => {
      d.guests[0].network[0].mac = "52:54:00:AB:CD:EF";
      d.guests[1].network[0].mac = "52:54:00:ab:cd:ef";
    },
    expect: [{ path: "guests[1].network[0].mac", message: "MAC 52:54:00:ab:cd:ef is already used by guests[0].network[0]" }],
  },
  {
    name: "multicast MAC",
    mutate: (d) => (d.guests[1].network[0].mac = "01:00:5E:00:00:01"),
    expect: [{ path: "guests[1].network[0].mac", message: "MAC 01:00:5E:00:00:01 is a multicast address" }],
  },
  {
    name: "interface declared twice",
    mutate: (d) => d.guests[1].network.push({ name: "eth0", ip: "dhcp" }),
    expect: [{ path: "guests[1].network[1].name", message: "interface 'eth0' is declared twice on 'data'" }],
  },
];

describe("bad definitions: network", () => runCases(cases, 16));
