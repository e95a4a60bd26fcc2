// Bad definitions, backups (validate/backup.ts and the schema): the node's backup storage, backup jobs, a guest's
// backupBeforeReplace, backupRetention and lifecycle snapshots.
import { describe, expect, it } from "vitest";
import { type Case, base, lxc, problemsOf, runCases } from "./support";

const job = (extra: Record<string, unknown> = {}) => ({
  id: "nightly",
  schedule: "02:30",
  storage: "local",
  all: true,
  ...extra,
});

const cases: Case[] = [
  {
    name: "backup storage not on the node",
    mutate: (d) => (d.nodes[0].backup = { storage: "nas" }),
    expect: [
      {
        path: "nodes[0].backup.storage",
        message: "unknown storage 'nas' on node 'lab'",
        fix: "use one with backup content: local",
      },
    ],
  },
  {
    name: "backup storage without backup content",
    mutate: (d) => {
      d.nodes[0].storage[0].content = ["vztmpl", "iso"];
      d.nodes[0].backup = { storage: "local" };
    },
    expect: [{ path: "nodes[0].backup.storage", message: "storage 'local' does not hold backup content (it holds vztmpl, iso)" }],
  },
  {
    name: "backup storage on a zfspool",
    mutate: (d) => (d.nodes[0].backup = { storage: "tank-lxc" }),
    expect: [
      {
        path: "nodes[0].backup.storage",
        message: "storage 'tank-lxc' is a zfspool storage: Proxmox keeps backups only on file storages (dir, nfs, cifs, btrfs)",
      },
    ],
  },
  {
    name: "unknown backup mode",
    mutate: (d) => (d.nodes[0].backup = { storage: "local", mode: "live" }),
    expect: [{ path: "nodes[0].backup.mode", message: 'must be one of "snapshot", "suspend", "stop"' }],
  },
  {
    name: "unknown backup compression",
    mutate: (d) => (d.nodes[0].backup = { storage: "local", compress: "xz" }),
    expect: [{ path: "nodes[0].backup.compress", message: 'must be one of "zstd", "gzip", "lzo", "none"' }],
  },
  {
    name: "backup without its storage",
    mutate: (d) => (d.nodes[0].backup = { mode: "stop" }),
    expect: [{ path: "nodes[0].backup.storage", message: "missing required field (expected string)" }],
  },
  {
    name: "backupBeforeReplace not a boolean",
    mutate: (d) => (d.guests[1].backupBeforeReplace = "no"),
    expect: [{ path: "guests[1].backupBeforeReplace", message: "expected boolean, got string" }],
  },
  {
    name: "backupRetention of zero",
    mutate: (d) => (d.guests[1].backupRetention = 0),
    expect: [{ path: "guests[1].backupRetention", message: "Too small: expected number to be >0" }],
  },
  {
    name: "backupRetention not a whole number",
    mutate: (d) => (d.templates[1].backupRetention = 1.5),
    expect: [{ path: "templates[1].backupRetention", message: "expected a whole number", fix: "write a whole number" }],
  },
  {
    name: "job id that is no Proxmox id",
    mutate: (d) => (d.nodes[0].backupJobs = [job({ id: "9-nightly" })]),
    expect: [
      {
        path: "nodes[0].backupJobs[0].id",
        message: "letters, digits, '-' and '_', starting with a letter (a Proxmox job id)",
      },
    ],
  },
  {
    name: "job id used twice",
    mutate: (d) => (d.nodes[0].backupJobs = [job(), job({ schedule: "sat 03:00" })]),
    expect: [{ path: "nodes[0].backupJobs[1].id", message: "backup job id 'nightly' is also used by nodes[0].backupJobs[0]" }],
  },
  {
    name: "job schedule that is no calendar event",
    mutate: (d) => (d.nodes[0].backupJobs = [job({ schedule: "every night" })]),
    expect: [
      {
        path: "nodes[0].backupJobs[0].schedule",
        message: "unable to parse calendar event 'every night': invalid weekday 'every'",
        fix: "write a Proxmox calendar event such as 02:30, sat 03:00, mon..fri 22:00 or daily",
      },
    ],
  },
  {
    name: "job schedule with an hour out of range",
    mutate: (d) => (d.nodes[0].backupJobs = [job({ schedule: "25:00" })]),
    expect: [
      { path: "nodes[0].backupJobs[0].schedule", message: "unable to parse calendar event '25:00': value out of range in '25'" },
    ],
  },
  {
    name: "job storage unknown",
    mutate: (d) => (d.nodes[0].backupJobs = [job({ storage: "nas" })]),
    expect: [{ path: "nodes[0].backupJobs[0].storage", message: "unknown storage 'nas' on node 'lab'" }],
  },
  {
    name: "job with neither guests nor all",
    mutate: (d) => (d.nodes[0].backupJobs = [job({ all: undefined })]),
    expect: [{ path: "nodes[0].backupJobs[0]", message: "the job names no guests" }],
  },
  {
    name: "job with both guests and all",
    mutate: (d) => (d.nodes[0].backupJobs = [job({ guests: ["portainer"] })]),
    expect: [
      {
        path: "nodes[0].backupJobs[0]",
        message: "a job with all: true backs up every guest of the node; it takes no guests list",
      },
    ],
  },
  {
    name: "job exclude without all",
    mutate: (d) => (d.nodes[0].backupJobs = [job({ all: undefined, guests: ["data"], exclude: ["portainer"] })]),
    expect: [{ path: "nodes[0].backupJobs[0].exclude", message: "exclude goes with all: true" }],
  },
  {
    name: "job naming a guest that does not exist",
    mutate: (d) => (d.nodes[0].backupJobs = [job({ all: undefined, guests: ["portainer", "db"] })]),
    expect: [{ path: "nodes[0].backupJobs[0].guests[1]", message: "no guest is named 'db'" }],
  },
  {
    name: "job excluding a vmid out of range",
    mutate: (d) => (d.nodes[0].backupJobs = [job({ exclude: [42] })]),
    expect: [{ path: "nodes[0].backupJobs[0].exclude[0]", message: "42 is not a vmid" }],
  },
  {
    name: "job retention of zero",
    mutate: (d) => (d.nodes[0].backupJobs = [job({ retention: { keepDaily: 0 } })]),
    expect: [{ path: "nodes[0].backupJobs[0].retention.keepDaily", message: "Too small: expected number to be >0" }],
  },
  {
    name: "job retention with an unknown key",
    mutate: (d) => (d.nodes[0].backupJobs = [job({ retention: { keepForever: 1 } })]),
    expect: [{ path: "nodes[0].backupJobs[0].retention.keepForever", message: "unknown field 'keepForever'" }],
  },
  {
    name: "job mode unknown",
    mutate: (d) => (d.nodes[0].backupJobs = [job({ mode: "hot" })]),
    expect: [{ path: "nodes[0].backupJobs[0].mode", message: 'must be one of "snapshot", "suspend", "stop"' }],
  },
  {
    name: "snapshots on a guest whose disk cannot snapshot",
    mutate: (d) => d.guests.push(lxc(230, "plain", { snapshots: { afterProvision: true } })),
    expect: [
      {
        path: "guests[2].snapshots.afterProvision",
        message: "'plain' keeps its disk on storage 'local' (dir), where Proxmox cannot snapshot a container",
      },
    ],
  },
  {
    name: "snapshots keeping none",
    mutate: (d) => (d.guests[0].snapshots = { afterProvision: true, keep: 0 }),
    expect: [{ path: "guests[0].snapshots.keep", message: "Too small: expected number to be >0" }],
  },
  {
    name: "snapshot name Proxmox would refuse",
    mutate: (d) => (d.guests[0].snapshots = { afterProvision: true, name: "final form" }),
    expect: [
      { path: "guests[0].snapshots.name", message: "a Proxmox snapshot name: a letter, then letters, digits, '-' and '_'" },
    ],
  },
  {
    name: "snapshot name too long for its time stamp",
    mutate: (d) => (d.guests[0].snapshots = { afterProvision: true, name: "a".repeat(25) }),
    expect: [{ path: "guests[0].snapshots.name", message: "Too big: expected string to have <=24 characters" }],
  },
  {
    name: "snapshots on a golden template",
    mutate: (d) => (d.templates[1].snapshots = { afterProvision: true }),
    expect: [{ path: "templates[1].snapshots", message: "unknown field 'snapshots'" }],
  },
];

describe("bad definitions: backups, backup jobs, snapshots", () => runCases(cases, 25));

describe("good backup settings", () => {
  it("accepts a backup storage, jobs by name, vmid and all, retention, and snapshots on a zfs disk", () => {
    const d = base();
    d.nodes[0].backup = { storage: "local", mode: "stop", compress: "gzip" };
    d.nodes[0].backupJobs = [
      job({ all: undefined, guests: ["portainer", 250], retention: { keepLast: 3, keepWeekly: 2 }, enabled: false }),
      job({ id: "weekly", schedule: "sat 03:00", exclude: ["data"] }),
      job({ id: "often", schedule: "mon..fri 8..17:0/15" }),
    ];
    d.guests[0].snapshots = { afterProvision: true, keep: 2 };
    d.guests[1].backupBeforeReplace = false;
    d.templates[1].backupBeforeReplace = true;
    expect(problemsOf(d)).toEqual([]);
  });
});
