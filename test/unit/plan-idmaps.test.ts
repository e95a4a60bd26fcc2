// The plan of id maps and mount owners: an owner's host ids go through the container's map (100000+id by default, a
// custom map's, the id itself when privileged); custom maps become lxc.idmap lines, inherited along the clone chain.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { checkShape } from "../../definition/load";
import { DEFAULT_ID_MAPS, hostIdOf, idMapLine, uncovered, withinRanges } from "../../definition/idmap";
import { buildPlan } from "../../plan/plan";
import { validated } from "../../validate";
import { base } from "./validate/support";

function plan(mutate: (d: any) => void) {
  const d = base();
  mutate(d);
  const shaped = checkShape(d);
  expect(shaped.problems).toEqual([]);
  return buildPlan(validated(shaped.definition!));
}
const gid33 = [
  { type: "uid", containerId: 0, hostId: 100000, size: 65536 },
  { type: "gid", containerId: 0, hostId: 100000, size: 33 },
  { type: "gid", containerId: 33, hostId: 33, size: 1 },
  { type: "gid", containerId: 34, hostId: 100034, size: 65502 },
];

describe("mount owners", () => {
  it("shift through the default map of an unprivileged container, and not at all in a privileged one", () => {
    const p = plan((d) => {
      d.guests[1].mountPoints[0].owner = { uid: 1000, gid: 1001 };
      d.guests.push({
        vmid: 211,
        name: "priv",
        template: "debian-12-base",
        unprivileged: false,
        network: [{ ip: "auto" }],
        mountPoints: [{ hostPath: "/srv/p", path: "/p", owner: { uid: 33, gid: 33 } }],
      });
    });
    const data = p.machines.find((m) => m.name === "data")!;
    expect(data.mountPoints[0]).toMatchObject({
      source: "/tank/shared-data",
      owner: { uid: 1000, gid: 1001, hostUid: 101000, hostGid: 101001 },
    });
    expect(p.machines.find((m) => m.name === "priv")!.mountPoints[0]!.owner).toEqual({
      uid: 33,
      gid: 33,
      hostUid: 33,
      hostGid: 33,
    });
  });

  it("shift through a custom map, inherited from the golden template the guest is cloned from", () => {
    const p = plan((d) => {
      d.nodes[0].subgid = [
        { start: 100000, count: 65536 },
        { start: 33, count: 1 },
      ];
      d.templates[1].idMaps = gid33;
      d.guests[0].mountPoints = [{ dataset: "tank/shared-data", subdir: "www", path: "/var/www", owner: { uid: 33, gid: 33 } }];
    });
    const portainer = p.machines.find((m) => m.name === "portainer")!;
    expect(portainer.mountPoints[0]!.owner).toEqual({ uid: 33, gid: 33, hostUid: 100033, hostGid: 33 });
    expect(portainer.mountPoints[0]!.source).toBe("/tank/shared-data/www");
    // Proxmox's clone copies the template's lxc.idmap lines; the clone's own step writes the same ones.
    const lines = gid33.map((e) => idMapLine(e as never));
    expect(lines[2]).toBe("lxc.idmap: g 33 33 1");
    expect(p.machines.find((m) => m.name === "docker-golden")!.lxcOptions).toEqual(lines);
    expect(portainer.lxcOptions).toEqual(lines);
    expect(p.machines.find((m) => m.name === "data")!.lxcOptions).toEqual([]);
  });

  it("raw lxc.idmap lines stay as written, and are the map owners go through", () => {
    const p = plan((d) => {
      d.nodes[0].subuid = [
        { start: 100000, count: 65536 },
        { start: 200000, count: 65536 },
      ];
      d.guests[1].lxcOptions = ["lxc.idmap: u 0 200000 65536", "lxc.idmap: g 0 100000 65536"];
      d.guests[1].mountPoints[0].owner = { uid: 5, gid: 5 };
    });
    const data = p.machines.find((m) => m.name === "data")!;
    expect(data.lxcOptions).toEqual(["lxc.idmap: u 0 200000 65536", "lxc.idmap: g 0 100000 65536"]);
    expect(data.mountPoints[0]!.owner).toEqual({ uid: 5, gid: 5, hostUid: 200005, hostGid: 100005 });
  });
});

describe("id map arithmetic (properties)", () => {
  const entry = fc.record({
    type: fc.constantFrom("uid" as const, "gid" as const),
    containerId: fc.integer({ min: 0, max: 70000 }),
    hostId: fc.integer({ min: 0, max: 300000 }),
    size: fc.integer({ min: 1, max: 70000 }),
  });

  it("every container id outside the gaps is mapped, every id in them is not", () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 5 }), fc.integer({ min: 0, max: 65535 }), (map, id) => {
        for (const type of ["uid", "gid"] as const) {
          const inGap = uncovered(map, type).some(([s, e]) => id >= s && id < e);
          expect(hostIdOf(map, type, id) === undefined).toBe(inGap);
        }
      }),
    );
  });

  it("the default map shifts by 100000; no map is the identity", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), (id) => {
        expect(hostIdOf(DEFAULT_ID_MAPS, "uid", id)).toBe(100000 + id);
        expect(hostIdOf(undefined, "gid", id)).toBe(id);
      }),
    );
    expect(uncovered(DEFAULT_ID_MAPS, "uid")).toEqual([]);
  });

  it("a span lies within ranges exactly when each of its ids does", () => {
    const range = fc.record({ start: fc.integer({ min: 0, max: 200 }), count: fc.integer({ min: 1, max: 50 }) });
    fc.assert(
      fc.property(
        fc.array(range, { maxLength: 4 }),
        fc.integer({ min: 0, max: 250 }),
        fc.integer({ min: 1, max: 30 }),
        (ranges, start, size) => {
          const each = Array.from({ length: size }, (_, i) => start + i).every((id) =>
            ranges.some((r) => id >= r.start && id < r.start + r.count),
          );
          expect(withinRanges(start, size, ranges)).toBe(each);
        },
      ),
    );
  });
});
