// Bad definitions, the day-two fields: `protect` on guests and golden templates (a boolean; base templates are files
// and have none), and the adoption record beside a definition (definition/adoption.ts, validate/adoption.ts):
// its shape, entries that no longer match their guest, a rebuild that protection would refuse.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { loadDefinition } from "../../../validate";
import { type Case, type Raw, base, runCases } from "./support";

const cases: Case[] = [
  {
    name: "protect is not a boolean",
    mutate: (d) => (d.guests[0].protect = "yes"),
    expect: [{ path: "guests[0].protect", message: "expected boolean, got string" }],
  },
  {
    name: "protect on a golden template is a boolean too",
    mutate: (d) => (d.templates[1].protect = 1),
    expect: [{ path: "templates[1].protect", message: "expected boolean, got number" }],
  },
  {
    name: "protect on a base template (a file, never replaced by the stack)",
    mutate: (d) => (d.templates[0].protect = true),
    expect: [{ path: "templates[0].protect", message: "unknown field 'protect'" }],
  },
  {
    name: "protect on a dataset is a boolean",
    mutate: (d) => (d.nodes[0].zfs.datasets[0].protect = "no"),
    expect: [{ path: "nodes[0].zfs.datasets[0].protect", message: "expected boolean, got string" }],
  },
];

describe("protect", () => {
  runCases(cases, 4);
});

describe("the adoption record beside the definition", () => {
  const dir = mkdtempSync(join(tmpdir(), "phx-validate-adopt-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const entry = (over: Raw = {}) => ({
    vmid: 200,
    node: "lab",
    type: "lxc",
    kind: "guest",
    observed: {},
    keep: [],
    rebuild: false,
    ...over,
  });
  const load = (mutate: (d: Raw) => void, record: Raw) => {
    const d = base();
    mutate(d);
    const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, stringify(d));
    writeFileSync(file.replace(/\.yaml$/, ".adopted.json"), JSON.stringify(record));
    const r = loadDefinition(file);
    return {
      ...r,
      where: file
        .split("/")
        .pop()!
        .replace(/\.yaml$/, ".adopted.json"),
    };
  };

  it("a record that matches its guests is fine", () => {
    const r = load(() => {}, { version: 1, guests: { portainer: entry() } });
    expect(r.definition).toBeDefined();
    expect(r.problems.filter((p) => p.path.includes("adopted"))).toEqual([]);
  });

  it("a bad field in the record is an error at its path, with the fix", () => {
    const r = load(() => {}, { version: 1, guests: { portainer: entry({ vmid: "200", keep: ["not a path!"] }) } });
    expect(r.definition).toBeUndefined();
    expect(r.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          severity: "error",
          path: `${r.where}:guests.portainer.vmid`,
          message: "expected number, got string",
        }),
        expect.objectContaining({ severity: "error", path: `${r.where}:guests.portainer.keep[0]` }),
      ]),
    );
    for (const p of r.problems) expect(p.fix).toBeTruthy();
  });

  it("an entry whose guest now has another vmid is set aside, said as a warning", () => {
    const r = load((d) => (d.guests[0].vmid = 205), { version: 1, guests: { portainer: entry() } });
    expect(r.definition).toBeDefined();
    expect(r.problems).toContainEqual(
      expect.objectContaining({
        severity: "warning",
        path: `${r.where}:guests.portainer`,
        message: "'portainer' was adopted as lxc 200 on lab, but guests[0] makes it lxc 205 on lab: it is not treated as adopted",
      }),
    );
  });

  it("a rebuild of a protected guest is refused before any up", () => {
    const r = load((d) => (d.guests[0].protect = true), { version: 1, guests: { portainer: entry({ rebuild: true }) } });
    expect(r.definition).toBeUndefined();
    expect(r.problems).toContainEqual(
      expect.objectContaining({
        severity: "error",
        path: "guests[0].protect",
        message: `'portainer' is marked for rebuilding (${r.where}:guests.portainer.rebuild), which replaces it, but it is protected`,
        fix: "set protect: false on guests[0] for the rebuild, or set rebuild back to false",
      }),
    );
  });
});
