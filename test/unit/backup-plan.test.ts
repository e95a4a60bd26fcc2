// The pure backup planning: a node's backup storage and jobs, guests that change node (said before they are deleted
// and made anew), the lock file's placements, Proxmox's calendar events and its retention marks.
import fc from "fast-check";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nextRun, parseCalendarEvent } from "../../definition/calendar";
import { checkShape } from "../../definition/load";
import { readLock, readPlacements, writeLock } from "../../definition/lock";
import { archiveName, parseArchiveName, pruneMarks } from "../../lab/pve/backup";
import { movedGuests, placementsOf } from "../../plan/moves";
import { buildPlan } from "../../plan/plan";
import { validated } from "../../validate";
import { base, lxc } from "./validate/support";

function plan(edit: (d: any) => void = () => {}) {
  const d = base();
  edit(d);
  return buildPlan(validated(checkShape(d).definition!));
}

describe("a node's backups in the plan", () => {
  it("uses the storage the node names, else its first with backup content, else none", () => {
    expect(plan((d) => (d.nodes[0].backup = { storage: "local", mode: "stop", compress: "none" })).nodes[0]!.backup).toEqual({
      storage: "local",
      mode: "stop",
      compress: "0",
    });
    expect(plan().nodes[0]!.backup).toEqual({ storage: "local", mode: "snapshot", compress: "zstd" });
    expect(plan((d) => (d.nodes[0].storage[0].content = ["vztmpl", "iso"])).nodes[0]!.backup).toBeUndefined();
  });

  it("resolves a job's guests to sorted vmids and its retention to prune-backups keys", () => {
    const p = plan((d) => {
      d.nodes[0].backupJobs = [
        {
          id: "ja",
          schedule: "daily",
          storage: "local",
          guests: ["data", "portainer", 250, "portainer"],
          retention: { keepLast: 2, keepMonthly: 1 },
        },
        { id: "jb", schedule: "sat 03:00", storage: "local", all: true, exclude: ["data"], compress: "none", enabled: false },
      ];
    });
    expect(p.nodes[0]!.backupJobs).toEqual([
      {
        id: "ja",
        node: "lab",
        schedule: "daily",
        storage: "local",
        vmids: [200, 210, 250],
        all: false,
        mode: "snapshot",
        compress: "zstd",
        prune: { "keep-last": 2, "keep-monthly": 1 },
        enabled: true,
      },
      {
        id: "jb",
        node: "lab",
        schedule: "sat 03:00",
        storage: "local",
        all: true,
        exclude: [210],
        mode: "snapshot",
        compress: "0",
        enabled: false,
      },
    ]);
  });

  it("backs guests up by default (keep 3), golden templates only when asked", () => {
    const p = plan((d) => {
      d.guests[1].backupBeforeReplace = false;
      d.guests[0].backupRetention = 5;
      d.templates[2].backupBeforeReplace = true;
    });
    const by = (n: string) => p.machines.find((m) => m.name === n)!.backup;
    expect(by("portainer")).toEqual({ beforeReplace: true, keep: 5 });
    expect(by("data")).toEqual({ beforeReplace: false, keep: 3 });
    expect(by("docker-golden")).toEqual({ beforeReplace: false, keep: 3 });
    expect(by("nvidia-golden")).toEqual({ beforeReplace: true, keep: 3 });
  });
});

describe("guests that change node", () => {
  const two = (d: any) => {
    d.nodes.push({ ...structuredClone(d.nodes[0]), name: "lab2", gpus: [] });
    delete d.nodes[1].nvidia;
    for (const m of [...d.templates, ...d.guests]) m.node = "lab";
  };

  it("names each guest whose node changed, with or without its backup", () => {
    const p = plan((d) => {
      two(d);
      d.guests[1].node = "lab2";
      d.guests.push(lxc(230, "cache", { node: "lab2", backupBeforeReplace: false }));
    });
    // data binds a dataset of its node: replaced; cache is a plain container: migrated, so never backed up for it
    const moves = movedGuests(p, { ...placementsOf(p), data: "lab", cache: "lab" }, new Set(["cache2"]));
    expect(moves.map((m) => [m.guest, m.from, m.to, m.how, m.backupStorage ?? null])).toEqual([
      ["data", "lab", "lab2", "replace", "local"],
      ["cache", "lab", "lab2", "migrate", null],
    ]);
    expect(moves[0]!.message).toMatch(
      /^data moves from node 'lab' to node 'lab2': it is not migrated \(its mount points bind the old node's datasets\), .* after a backup to storage 'local' of 'lab'/,
    );
    expect(moves[1]!.message).toMatch(/^cache migrates from node 'lab' to node 'lab2' \(restart mode.*its data kept\)$/);
    // replaced anyway (another field forces it): a backup-less replacement, said as such
    const blocked = movedGuests(p, { ...placementsOf(p), cache: "lab" }, new Set(["cache"]));
    expect(blocked[0]).toMatchObject({ guest: "cache", how: "replace" });
    expect(blocked[0]!.message).toMatch(
      /not migrated \(it is replaced anyway\).*WITHOUT a backup \(backupBeforeReplace: false\)/,
    );
  });

  it("is empty exactly when every recorded placement is the planned one (property)", () => {
    const p = plan();
    const names = p.machines.map((m) => m.name);
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...names, "gone"), fc.constantFrom("lab", "other")),
        (previous: Record<string, string>) => {
          const moved = movedGuests(p, previous).map((m) => m.guest);
          const expected = names.filter((n) => previous[n] !== undefined && previous[n] !== "lab");
          expect(moved).toEqual(expected);
        },
      ),
    );
  });

  it("keeps placements in the lock file beside the allocations, and a lock written without them keeps the old ones", () => {
    const dir = mkdtempSync(join(tmpdir(), "phoenix-lock-"));
    try {
      const file = join(dir, "env.yaml");
      expect(readPlacements(file)).toEqual({});
      writeLock(file, { "data/eth0": "10.0.0.100/24" }, { data: "lab", portainer: "lab" });
      writeLock(file, { "data/eth0": "10.0.0.101/24" });
      expect(readLock(file)).toEqual({ "data/eth0": "10.0.0.101/24" });
      expect(readPlacements(file)).toEqual({ data: "lab", portainer: "lab" });
      expect(JSON.parse(readFileSync(join(dir, "env.lock.json"), "utf8")).placements).toEqual({ data: "lab", portainer: "lab" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("calendar events", () => {
  it("parses Proxmox's forms and finds the next run", () => {
    const at = (s: string) => new Date(s).getTime() / 1000;
    const next = (ev: string, after: string) => new Date(nextRun(parseCalendarEvent(ev), at(after))! * 1000);
    expect(next("02:30", "2026-11-24T10:00:00").toString()).toBe(new Date("2026-11-25T02:30:00").toString());
    expect(next("sat 03:00", "2026-11-24T10:00:00").getDay()).toBe(6);
    expect(next("mon..fri 22:00", "2026-11-28T10:00:00").toString()).toBe(new Date("2026-11-30T22:00:00").toString());
    expect(next("*/15", "2026-11-24T10:07:00").toString()).toBe(new Date("2026-11-24T10:15:00").toString());
    // weekdays alone run at midnight, as Proxmox reads them
    expect(next("mon,wed", "2026-11-24T10:00:00").toString()).toBe(new Date("2026-11-25T00:00:00").toString());
    expect(next("daily", "2026-11-24T10:00:00").toString()).toBe(new Date("2026-11-25T00:00:00").toString());
    expect(next("monthly", "2026-11-24T10:00:00").toString()).toBe(new Date("2026-12-01T00:00:00").toString());
    for (const bad of ["25:00", "sat 3:75", "noon", "1 2 3 4", "*/0"])
      expect(() => parseCalendarEvent(bad), bad).toThrow(/^unable to parse calendar event/);
  });
});

describe("vzdump archives and retention", () => {
  it("names archives as vzdump does and reads them back", () => {
    const at = new Date(2026, 10, 24, 9, 5, 7);
    const name = archiveName("lxc", 200, at, "zstd");
    expect(name).toBe("vzdump-lxc-200-2026_11_24-09_05_07.tar.zst");
    expect(parseArchiveName(name)).toMatchObject({ type: "lxc", vmid: 200, format: "tar.zst", ctime: at.getTime() / 1000 });
    expect(archiveName("qemu", 300, at)).toBe("vzdump-qemu-300-2026_11_24-09_05_07.vma");
    expect(parseArchiveName("notes.txt")).toBeUndefined();
  });

  it("never removes a protected backup, keeps the newest keep-last, removes the rest (property)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ ctime: fc.integer({ min: 1e9, max: 2e9 }), protected: fc.boolean() }), {
          selector: (b) => b.ctime,
          maxLength: 20,
        }),
        fc.integer({ min: 1, max: 6 }),
        (backups, keep) => {
          const group = backups.map((b, i) => ({ volid: `s:backup/${i}`, ...b }));
          const marks = pruneMarks(group, { "keep-last": keep });
          const unprotected = group.filter((b) => !b.protected).sort((a, b) => b.ctime - a.ctime);
          for (const b of group) {
            const expected = b.protected ? "protected" : unprotected.indexOf(b) < keep ? "keep" : "remove";
            expect(marks.get(b.volid)).toBe(expected);
          }
        },
      ),
    );
  });

  it("keeps one backup per day, newest first, as prune_mark_backup_group does", () => {
    const at = (d: string) => new Date(d).getTime() / 1000;
    const group = ["2026-11-24T10:00:00", "2026-11-24T02:00:00", "2026-11-23T02:00:00", "2026-11-22T02:00:00"].map((d, i) => ({
      volid: `b${i}`,
      ctime: at(d),
    }));
    expect(Object.fromEntries(pruneMarks(group, { "keep-daily": 2 }))).toEqual({
      b0: "keep",
      b1: "remove",
      b2: "keep",
      b3: "remove",
    });
    expect(Object.fromEntries(pruneMarks(group, { "keep-last": 1, "keep-daily": 2 }))).toEqual({
      b0: "keep",
      b1: "remove",
      b2: "keep",
      b3: "keep",
    });
    expect(Object.fromEntries(pruneMarks(group, {}))).toEqual({ b0: "keep", b1: "keep", b2: "keep", b3: "keep" });
  });
});
