// Bad definitions, id maps and mount owners (validate/idmaps.ts): whole maps of 0–65535, no overlaps, host ids in root's
// subuid/subgid on the node, unprivileged containers only, written over SSH as root; and a good one passes.
import { describe, expect, it } from "vitest";
import { type Case, base, lxc, problemsOf, runCases, vm } from "./support";

/** The original reference's intent: container gid 33 (www-data) on host gid 33, the rest on Proxmox's shift. */
const gid33 = () => [
  { type: "uid", containerId: 0, hostId: 100000, size: 65536 },
  { type: "gid", containerId: 0, hostId: 100000, size: 33 },
  { type: "gid", containerId: 33, hostId: 33, size: 1 },
  { type: "gid", containerId: 34, hostId: 100034, size: 65502 },
];

const cases: Case[] = [
  {
    name: "a host id outside root's subgid (newgidmap would refuse it)",
    mutate: (d) => (d.guests[1].idMaps = gid33()),
    expect: [
      {
        path: "guests[1].idMaps[2].hostId",
        message:
          "host gids 33–33 are not root's on node 'lab' (subgid: 100000–165535): LXC maps ids through newgidmap, which refuses them",
        fix: "add root:33:1 to the node's /etc/subgid and declare { start: 33, count: 1 } under nodes[0].subgid",
      },
    ],
  },
  {
    name: "a map that leaves ids out (Proxmox replaces its default map whole)",
    mutate: (d) => {
      d.nodes[0].subgid = [
        { start: 100000, count: 65536 },
        { start: 33, count: 1 },
      ];
      d.guests[1].idMaps = gid33().filter((e) => e.containerId !== 34);
    },
    expect: [
      {
        path: "guests[1].idMaps",
        message:
          "the map leaves container gids 34–65535 unmapped: Proxmox replaces its default map whole, so a map must cover gids 0–65535",
        fix: "add { type: gid, containerId: 34, hostId: 100034, size: 65502 }",
      },
    ],
  },
  {
    name: "a map with gids only",
    mutate: (d) => {
      d.nodes[0].subgid = [
        { start: 100000, count: 65536 },
        { start: 33, count: 1 },
      ];
      d.guests[1].idMaps = gid33().filter((e) => e.type === "gid");
    },
    expect: [
      {
        path: "guests[1].idMaps",
        message:
          "the map leaves container uids 0–65535 unmapped: Proxmox replaces its default map whole, so a map must cover uids 0–65535",
        fix: "add { type: uid, containerId: 0, hostId: 100000, size: 65536 }",
      },
    ],
  },
  {
    name: "overlapping ranges, in the container and on the host",
    mutate: (d) =>
      (d.guests[1].idMaps = [
        { type: "uid", containerId: 0, hostId: 100000, size: 65536 },
        { type: "uid", containerId: 1000, hostId: 200000, size: 1 },
        { type: "gid", containerId: 0, hostId: 100000, size: 1000 },
        { type: "gid", containerId: 1000, hostId: 100500, size: 64536 },
      ]),
    expect: [
      {
        path: "guests[1].idMaps[1]",
        message:
          "container uid 1000 of { type: uid, containerId: 1000, hostId: 200000, size: 1 } is also mapped by { type: uid, containerId: 0, hostId: 100000, size: 65536 }",
      },
      { path: "guests[1].idMaps[1].hostId", message: expect.stringContaining("host uids 200000–200000 are not root's") as never },
      {
        path: "guests[1].idMaps[3]",
        message:
          "host gid 100500 of { type: gid, containerId: 1000, hostId: 100500, size: 64536 } is also mapped by { type: gid, containerId: 0, hostId: 100000, size: 1000 }",
      },
    ],
  },
  {
    name: "an id map on a privileged container",
    mutate: (d) => {
      d.guests[1].unprivileged = false;
      d.guests[1].idMaps = [
        { type: "uid", containerId: 0, hostId: 100000, size: 65536 },
        { type: "gid", containerId: 0, hostId: 100000, size: 65536 },
      ];
    },
    expect: [
      {
        path: "guests[1].unprivileged",
        message: "'data' is privileged, and an id map makes a container unprivileged (Proxmox treats any lxc.idmap entry so)",
      },
    ],
  },
  {
    name: "raw lxc.idmap lines are held to the same rules",
    mutate: (d) => (d.guests[1].lxcOptions = ["lxc.idmap: u 0 100000 65536", "lxc.idmap = g 0 100000 1000"]),
    expect: [
      {
        path: "guests[1].lxcOptions",
        message:
          "the map leaves container gids 1000–65535 unmapped: Proxmox replaces its default map whole, so a map must cover gids 0–65535",
      },
    ],
  },
  {
    name: "an lxc.idmap line Proxmox cannot parse",
    mutate: (d) => (d.guests[1].lxcOptions = ["lxc.idmap: u 0 100000"]),
    expect: [{ path: "guests[1].lxcOptions[0]", message: "failed to parse idmap: u 0 100000" }],
  },
  {
    name: "lxc.idmap lines beside idMaps",
    mutate: (d) => {
      d.guests[1].idMaps = [
        { type: "uid", containerId: 0, hostId: 100000, size: 65536 },
        { type: "gid", containerId: 0, hostId: 100000, size: 65536 },
      ];
      d.guests[1].lxcOptions = ["lxc.idmap: u 0 100000 65536", "lxc.idmap: g 0 100000 65536"];
    },
    expect: [{ path: "guests[1].lxcOptions", message: "lxc.idmap lines here and idMaps both set the container's id map" }],
  },
  {
    name: "idMaps on a VM",
    mutate: (d) => d.guests.push(vm(300, "vm1", { idMaps: [{ type: "uid", containerId: 0, hostId: 100000, size: 65536 }] })),
    expect: [{ path: "guests[2].idMaps", message: "idMaps apply to LXC containers only" }],
  },
  {
    name: "an id map without SSH to the node (Proxmox's API takes no lxc.* keys)",
    mutate: (d) => {
      delete d.nodes[0].ssh;
      d.nodes[0].zfs.datasets = [];
      d.templates.splice(1, 2);
      d.guests = [
        lxc(210, "data", {
          idMaps: [
            { type: "uid", containerId: 0, hostId: 100000, size: 65536 },
            { type: "gid", containerId: 0, hostId: 100000, size: 65536 },
          ],
        }),
      ];
    },
    expect: [
      {
        path: "guests[0].idMaps",
        message:
          "'data''s id map goes into /etc/pve/lxc/210.conf over SSH to node 'lab' as root: Proxmox's API takes no lxc.* keys, and only root may write them",
        fix: "set nodes[0].ssh with user: root",
      },
    ],
  },
  {
    name: "a mount owner with SSH to the node as another user",
    mutate: (d) => {
      d.nodes[0].ssh.user = "admin";
      d.guests[1].mountPoints[0].owner = { uid: 1000, gid: 1000 };
    },
    expect: [
      {
        path: "guests[1].mountPoints",
        message: "mount owners are set on node 'lab' over SSH as root, and the node has ssh as 'admin'",
        fix: "set nodes[0].ssh with user: root",
      },
    ],
  },
];

describe("id maps and mount owners", () => {
  runCases(cases, 11);

  it("accepts a whole map within root's declared ranges, and mount owners, on a clone of an idMapped template", () => {
    const d = base();
    d.nodes[0].subgid = [
      { start: 100000, count: 65536 },
      { start: 33, count: 1 },
    ];
    d.templates[1].idMaps = gid33();
    d.guests[0].mountPoints = [{ dataset: "tank/shared-data", path: "/srv", owner: { uid: 33, gid: 33 } }];
    d.guests[1].mountPoints[0].owner = { uid: 1000, gid: 1000 };
    expect(problemsOf(d).filter((p) => p.severity === "error")).toEqual([]);
  });
});
