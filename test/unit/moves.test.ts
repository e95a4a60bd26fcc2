// Guests that change node: which migrate and which are replaced (plan/moves.ts), the `migrated` record that keeps a
// migrated container from looking replaced, and the placement provider (provisioners/placement/) against the lab as
// a two-node cluster: its create migrates a running container in restart mode and keeps its vmid, a guest not made
// yet or already there is left alone, its delete removes the guest only from its own node. A guest the cluster moved
// without Phoenix (HA, an admin) is followed from where it runs, found by vmid and name through any node's API.
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkShape } from "../../definition/load";
import { type LabApi, startLabApi } from "../../lab/api/server";
import { LabClient } from "../../lab/pve/client";
import { MemoryBackend } from "../../lab/pve/memory-backend";
import { changesBetween, deploymentOf } from "../../plan/deployment";
import { migrationBlocker, planMoves, placementsOf } from "../../plan/moves";
import { buildPlan } from "../../plan/plan";
import {
  type GuestPlacementInputs,
  diffPlacement,
  locate,
  placeGuest,
  removeGuest,
} from "../../provisioners/placement/guest-placement";
import { pveSession } from "../../provisioners/engine/pve-api";
import { whereGuestsRun } from "../../provisioners/placement/whereabouts";
import { clusterApis } from "../../components/args/backup";
import { validated } from "../../validate";
import { base, lxc, vm } from "./validate/support";

function plan(edit: (d: any) => void = () => {}) {
  const d = base();
  d.nodes.push({ ...structuredClone(d.nodes[0]), name: "lab2", gpus: [] });
  delete d.nodes[1].nvidia;
  for (const m of [...d.templates, ...d.guests]) m.node = "lab";
  d.guests.push(lxc(230, "cache", { node: "lab", disk: { storage: "tank-lxc", size: 2 } }));
  d.guests.push(vm(240, "box", { node: "lab" }));
  edit(d);
  return buildPlan(validated(checkShape(d).definition!));
}
const byName = (p: ReturnType<typeof plan>, name: string) => p.machines.find((m) => m.name === name)!;

describe("which guests migrate", () => {
  it("a plain container migrates; templates, clones, VMs, bind mounts and passed-through devices do not", () => {
    const p = plan();
    expect(migrationBlocker(byName(p, "cache"))).toBeUndefined();
    expect(migrationBlocker(byName(p, "data"))).toMatch(/mount points/);
    expect(migrationBlocker(byName(p, "portainer"))).toMatch(/clone .* golden template 'docker-golden'/);
    expect(migrationBlocker(byName(p, "docker-golden"))).toMatch(/golden template/);
    expect(migrationBlocker(byName(p, "box"))).toMatch(/VM/);
    expect(migrationBlocker({ ...byName(p, "cache"), devices: ["/dev/nvidia0"] })).toMatch(/devices/);
  });

  it("a container moved to another node migrates, is recorded migrated, and is neither replaced nor said to be", () => {
    const before = plan();
    const after = plan((d) => (d.guests.find((g: any) => g.name === "cache").node = "lab2"));
    const previous = deploymentOf(before, new Map());
    const { moves, migrated } = planMoves(after, previous, {}, deploymentOf(after, new Map()));
    expect(moves.map((m) => [m.guest, m.from, m.to, m.how])).toEqual([["cache", "lab", "lab2", "migrate"]]);
    expect([...migrated]).toEqual(["cache"]);
    const next = deploymentOf(after, new Map(), new Map(), migrated);
    expect(next.guests["cache"]).toMatchObject({ node: "lab2", migrated: true });
    expect(changesBetween(previous, next)).toEqual([]);
    // without the migration the same change is a replacement, named by its node
    expect(changesBetween(previous, deploymentOf(after, new Map()))).toEqual([
      expect.objectContaining({ op: "replace", because: [{ field: "node", from: "lab", to: "lab2" }] }),
    ]);
  });

  it("keeps `migrated` on later ups, and drops it when the guest is made from something else (then it is replaced)", () => {
    const moved = (d: any) => (d.guests.find((g: any) => g.name === "cache").node = "lab2");
    const p = plan(moved);
    const previous = deploymentOf(p, new Map(), new Map(), new Set(["cache"]));
    expect(planMoves(p, previous, {}, deploymentOf(p, new Map())).migrated).toEqual(new Set(["cache"]));
    const other = plan((d) => {
      moved(d);
      d.templates.push({ ...structuredClone(d.templates[0]), name: "debian-13-base" });
      d.guests.find((g: any) => g.name === "cache").template = "debian-13-base";
    });
    const r = planMoves(other, previous, {}, deploymentOf(other, new Map()));
    expect(r).toEqual({ moves: [], migrated: new Set(), refused: [], notes: [] });
  });

  it("a container moved while another field replaces it is replaced, and the lock file stands in for a first record", () => {
    const p = plan((d) => {
      const g = d.guests.find((x: any) => x.name === "cache");
      g.node = "lab2";
      g.unprivileged = false;
    });
    const previous = deploymentOf(plan(), new Map());
    expect(planMoves(p, previous, {}, deploymentOf(p, new Map())).moves.map((m) => m.how)).toEqual(["replace"]);
    const fromLock = planMoves(p, undefined, { ...placementsOf(p), cache: "lab" }, deploymentOf(p, new Map()));
    expect(fromLock.moves.map((m) => [m.guest, m.how])).toEqual([["cache", "migrate"]]);
  });

  it("moves exactly the guests whose recorded node differs, each once (property)", () => {
    const p = plan();
    const names = p.machines.map((m) => m.name);
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names, "gone"), fc.constantFrom("lab", "lab2")), (nodes) => {
        const { moves, migrated } = planMoves(p, undefined, nodes, deploymentOf(p, new Map()));
        expect(moves.map((m) => m.guest)).toEqual(names.filter((n) => nodes[n] === "lab2"));
        for (const m of moves) expect(m.how === "migrate").toBe(migrationBlocker(byName(p, m.guest)) === undefined);
        expect([...migrated].sort()).toEqual(
          moves
            .filter((m) => m.how === "migrate")
            .map((m) => m.guest)
            .sort(),
        );
      }),
    );
  });
});

describe("guests the cluster moved without Phoenix", () => {
  const previous = () => deploymentOf(plan(), new Map());
  const follow = (p: ReturnType<typeof plan>, found: Record<string, string>) =>
    planMoves(p, previous(), {}, deploymentOf(p, new Map()), new Map(Object.entries(found)));

  it("one found elsewhere while the definition keeps it on the node it left is refused, with the fix", () => {
    const r = follow(plan(), { cache: "lab2", box: "lab" });
    expect(r.moves).toEqual([]);
    expect(r.refused).toEqual([
      expect.stringMatching(
        /^cache runs on node 'lab2', not on 'lab' where the last up left it \(moved outside Phoenix.*\); Phoenix does not bring it back to 'lab' by itself\. To keep it where it runs, set its node to 'lab2'.*nothing was touched$/,
      ),
    ]);
  });

  it("one found where the definition now puts it is adopted there, not said replaced", () => {
    const there = plan((d) => (d.guests.find((g: any) => g.name === "cache").node = "lab2"));
    const adopted = follow(there, { cache: "lab2" });
    expect(adopted.moves.map((m) => [m.guest, m.from, m.to, m.how, m.recorded])).toEqual([
      ["cache", "lab2", "lab2", "migrate", "lab"],
    ]);
    expect(adopted.moves[0]!.message).toMatch(/the definition puts it there, so it is adopted where it runs \(nothing moves\)$/);
    expect(adopted.refused).toEqual([]);
    expect([...adopted.migrated]).toEqual(["cache"]);
    expect(changesBetween(previous(), deploymentOf(there, new Map(), new Map(), adopted.migrated))).toEqual([]);
  });

  it("one moved by the cluster to one node and by the definition to another migrates from where it runs", () => {
    // with a third node, moved by HA to lab3 and by the user to lab2: migrated from lab3
    const three = plan((d) => {
      d.nodes.push({ ...structuredClone(d.nodes[1]), name: "lab3" });
      d.guests.find((g: any) => g.name === "cache").node = "lab2";
    });
    expect(follow(three, { cache: "lab3" }).moves.map((m) => [m.from, m.to])).toEqual([["lab3", "lab2"]]);
  });

  it("a VM, a clone or a guest with bind mounts found elsewhere is refused, naming the command that brings it back", () => {
    const r = follow(plan(), { box: "lab2", data: "lab2", portainer: "lab2" });
    expect(r.moves).toEqual([]);
    expect(r.refused).toHaveLength(3);
    expect(r.refused.join("\n")).toMatch(
      /^box runs on node 'lab2', not on 'lab' .*a VM is not migrated by Phoenix\): move it back with 'qm migrate 240 lab' on node 'lab2'/m,
    );
    expect(r.refused.join("\n")).toMatch(/^data .*mount points.*'pct migrate \d+ lab'/m);
    // one replaced for another reason is refused too: its replacement would delete it where it is not
    const replaced = plan((d) => (d.guests.find((g: any) => g.name === "cache").unprivileged = false));
    expect(follow(replaced, { cache: "lab2" }).refused).toEqual([expect.stringMatching(/another change replaces it/)]);
  });

  it("one found where the record says is not a move; one removed from the definition but found elsewhere is said", () => {
    expect(follow(plan(), { cache: "lab", box: "lab" })).toMatchObject({ moves: [], refused: [], notes: [] });
    const without = plan((d) => (d.guests = d.guests.filter((g: any) => g.name !== "cache")));
    const r = follow(without, { cache: "lab2" });
    expect(r.moves).toEqual([]);
    expect(r.notes).toEqual([expect.stringMatching(/^cache runs on node 'lab2'.*no longer in the definition.*stays on 'lab2'/)]);
  });

  it("takes exactly the guests found off their recorded node: adopted where the plan follows, refused otherwise (property)", () => {
    const kept = plan();
    const followed = plan((d) => (d.guests.find((g: any) => g.name === "cache").node = "lab2"));
    const names = kept.machines.map((m) => m.name);
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), fc.constantFrom("lab", "lab2")), fc.boolean(), (where, moved) => {
        const p = moved ? followed : kept;
        const r = follow(p, where);
        const off = names.filter((n) => where[n] === "lab2");
        // followed (found off its recorded node) or refused: those, each once; moves the definition alone makes aside
        const outside = r.moves.filter((m) => m.recorded !== undefined);
        const taken = [...outside.map((m) => m.guest), ...r.refused.map((x) => x.split(" ")[0]!)].sort();
        expect(taken).toEqual([...off].sort());
        // only a plain container the definition moved to where it runs is adopted; never a replacement
        const adoptable = (n: string) => moved && n === "cache";
        expect(outside.map((m) => m.guest)).toEqual(off.filter(adoptable));
        expect(outside.every((m) => m.how === "migrate" && m.from === "lab2" && m.to === "lab2")).toBe(true);
        expect(r.moves.every((m) => m.how === "migrate" || m.guest !== "cache")).toBe(true);
      }),
    );
  });
});

describe("the APIs asked where guests run", () => {
  it("takes each node's API with its secrets resolved, in the definition's order, and leaves out nodes without credentials", () => {
    const endpoint = "https://10.0.0.1:8006/";
    const nodes = [
      { name: "a", api: { endpoint, insecure: false, token: { secret: "tokenA" } } },
      { name: "b" },
      { name: "c", api: { endpoint, insecure: true, username: "root@pam", password: { secret: "nope" } } },
      { name: "d", api: { endpoint, insecure: false, fingerprint: "AB", username: "root@pam", password: "plain" } },
    ] as any;
    const secret = (n: string) => ({ tokenA: "root@pam!t=s" })[n];
    expect(clusterApis({ nodes }, secret)).toEqual([
      { node: "a", api: { endpoint, insecure: false, token: "root@pam!t=s" } },
      { node: "d", api: { endpoint, insecure: false, fingerprint: "AB", username: "root@pam", password: "plain" } },
    ]);
  });
});

describe("the placement provider's diff", () => {
  const i = (x: Partial<GuestPlacementInputs> = {}): GuestPlacementInputs => ({
    api: { endpoint: "https://127.0.0.1:8006/" },
    node: "lab",
    vmid: 230,
    guest: "cache",
    migrate: true,
    timeout: 180,
    ...x,
  });
  it("replaces it for a node it migrates to or another vmid; any other change is in place", () => {
    expect(diffPlacement(i(), i({ node: "lab2" }))).toEqual({ changes: true, replaces: ["node"] });
    expect(diffPlacement(i({ migrate: false }), i({ node: "lab2", migrate: false }))).toEqual({ changes: true, replaces: [] });
    expect(diffPlacement(i(), i({ vmid: 231 })).replaces).toEqual(["vmid"]);
    expect(diffPlacement(i(), i({ timeout: 60 }))).toEqual({ changes: true, replaces: [] });
    expect(diffPlacement(i(), i()).changes).toBe(false);
    // `from` alone changes nothing: a guest is moved only with its node (plan/moves.ts)
    expect(diffPlacement(i(), i({ from: "lab2" })).changes).toBe(false);
  });
});

describe("the placement provider on a two-node lab", () => {
  const TOKEN = "root@pam!phoenix=0b7c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d";
  const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
  let dir: string;
  let api: LabApi;
  let pve: LabClient;
  const node = (pool: string) =>
    new MemoryBackend({
      storages: [
        { id: "local", type: "dir", path: "/var/lib/vz", content: ["vztmpl", "backup"] },
        { id: "tank-lxc", type: "zfspool", pool: `${pool}/lxc-disks`, content: ["rootdir"] },
      ],
      files: [{ volid: TEMPLATE, size: 120_000_000 }],
    });
  const input = (x: Partial<GuestPlacementInputs> = {}): GuestPlacementInputs => ({
    api: { endpoint: api.url, token: TOKEN, insecure: true },
    node: "pve2",
    vmid: 320,
    guest: "cache",
    migrate: true,
    from: "pve1",
    timeout: 30,
    ...x,
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "phoenix-placement-"));
    api = await startLabApi({
      stateDir: dir,
      port: 0,
      node: "pve1",
      nodes: [{ node: "pve2", backend: node("tank2") }],
      tokens: [{ id: TOKEN.split("=")[0]!, secret: TOKEN.split("=")[1]! }],
      backend: node("tank1"),
      unauthorizedDelayMs: 0,
    });
    pve = new LabClient({ url: api.url, token: TOKEN });
  });
  afterAll(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("leaves a guest not made yet (or someone else's) alone, migrates a moving one to its node with its vmid, and stays", async () => {
    await placeGuest(input());
    const s = await pveSession(input().api);
    expect(await locate(s, 320)).toBeUndefined();
    await pve.task("POST", "nodes/pve1/lxc", {
      vmid: 320,
      ostemplate: TEMPLATE,
      hostname: "cache",
      rootfs: "tank-lxc:2",
      start: 1,
    });
    expect(await locate(s, 320)).toEqual({ node: "pve1", status: "running" });
    // a guest whose node change is a replacement is not moved by its placement
    await placeGuest(input({ migrate: false }));
    expect((await locate(s, 320))?.node).toBe("pve1");
    // nor is a vmid found on another node than the one the last up left it on: someone else's guest
    await placeGuest(input({ from: undefined }));
    await placeGuest(input({ from: "pve3" }));
    expect((await locate(s, 320))?.node).toBe("pve1");
    await placeGuest(input());
    expect(await locate(s, 320)).toEqual({ node: "pve2", status: "running" });
    const config = await pve.data<Record<string, string>>("GET", "nodes/pve2/lxc/320/config");
    expect(config["rootfs"]).toMatch(/^tank-lxc:subvol-320-disk-0/);
    await placeGuest(input());
    expect((await locate(s, 320))?.node).toBe("pve2");
  });

  it("finds where a guest runs by vmid and name, through the first node that answers", async () => {
    const dead = { node: "gone", api: { endpoint: "https://127.0.0.1:1/", token: TOKEN, insecure: true } };
    const apis = [dead, { node: "pve1", api: input().api }];
    const guests = [
      { name: "cache", vmid: 320, type: "lxc" as const },
      { name: "someone-else", vmid: 320, type: "lxc" as const },
      { name: "cache", vmid: 320, type: "vm" as const },
    ];
    expect(await whereGuestsRun(apis, guests)).toEqual({ found: new Map([["cache", "pve2"]]) });
    const none = await whereGuestsRun([dead], guests);
    expect(none.found.size).toBe(0);
    expect(none.error).toMatch(/^node 'gone': /);
  });

  it("its delete removes the guest from its own node only: the old placement of a migrated guest leaves it", async () => {
    const s = await pveSession(input().api);
    await removeGuest(input({ node: "pve1" }));
    expect((await locate(s, 320))?.node).toBe("pve2");
    await removeGuest(input());
    expect(await locate(s, 320)).toBeUndefined();
    // a guest already gone is nothing to delete
    await removeGuest(input());
  });
});
