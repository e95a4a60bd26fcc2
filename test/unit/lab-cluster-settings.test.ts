// `phoenix lab up` with a definition of several nodes: the API daemon's settings carry every node beyond the first
// with its own storages (its own pool, its own `local`), and a one-node definition stays a lone node.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { checkShape } from "../../definition/load";
import { apiSettings } from "../../lab/lab";

const dev = () => parse(readFileSync(join(__dirname, "..", "..", "stacks", "dev.yaml"), "utf8"));

describe("the lab's API settings from the definition's nodes", () => {
  it("a one-node definition: a lone node, no others", () => {
    const { definition, problems } = checkShape(dev());
    expect(problems).toEqual([]);
    const s = apiSettings(definition!);
    expect(s.node).toBe("lab");
    expect(s.nodes).toBeUndefined();
  });

  it("two nodes: the second with its own pool and `local`, the first unchanged", () => {
    const d = dev();
    const second = structuredClone(d.nodes[0]);
    second.name = "lab2";
    second.storage[0].path = "/var/lib/vz2";
    second.storage[1].pool = "tank2/lxc-disks";
    second.zfs = { pools: [{ name: "tank2" }], datasets: [{ name: "tank2/lxc-disks" }] };
    delete second.api;
    d.nodes.push(second);
    const { definition, problems } = checkShape(d);
    expect(problems).toEqual([]);
    const s = apiSettings(definition!);
    expect(s.node).toBe("lab");
    expect(s.storages.map((x) => [x.id, x.path ?? x.pool])).toEqual([
      ["local", "/var/lib/vz"],
      ["tank-lxc", "tank/lxc-disks"],
    ]);
    expect(s.nodes).toEqual([
      {
        node: "lab2",
        storages: [
          expect.objectContaining({ id: "local", type: "dir", path: "/var/lib/vz2" }),
          expect.objectContaining({ id: "tank-lxc", type: "zfspool", pool: "tank2/lxc-disks" }),
        ],
      },
    ]);
  });
});
