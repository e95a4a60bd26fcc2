// Owners in a container archive: host ids to container ids through the container's map, unmapped ones as nobody.
import { describe, expect, it } from "vitest";
import { containerId, ownerMapLines } from "../../lab/node/archive-ids";
import { DEFAULT_ID_MAP, type IdMapEntry } from "../../lab/pve/idmap";

describe("archive owners of an unprivileged container", () => {
  it("host ids inside the default map become container ids; host root and others outside it are nobody", () => {
    expect(containerId(DEFAULT_ID_MAP, "u", 100000)).toBe(0);
    expect(containerId(DEFAULT_ID_MAP, "u", 104242)).toBe(4242);
    expect(containerId(DEFAULT_ID_MAP, "g", 165535)).toBe(65535);
    expect(containerId(DEFAULT_ID_MAP, "u", 0)).toBe(65534);
    expect(containerId(DEFAULT_ID_MAP, "u", 165536)).toBe(65534);
  });

  it("a custom map passing host gid 33 through keeps 33 as 33", () => {
    const map: IdMapEntry[] = [
      { type: "g", ct: 0, host: 100000, count: 33 },
      { type: "g", ct: 33, host: 33, count: 1 },
      { type: "g", ct: 34, host: 100034, count: 65502 },
    ];
    expect(containerId(map, "g", 33)).toBe(33);
    expect(containerId(map, "g", 100033)).toBe(65534);
    expect(containerId(map, "g", 100034)).toBe(34);
  });

  it("tar's map file: one line per distinct id, sorted, +host +container", () => {
    expect(ownerMapLines(DEFAULT_ID_MAP, "u", [104242, 100000, 104242, 0])).toBe("+0 +65534\n+100000 +0\n+104242 +4242\n");
  });
});
