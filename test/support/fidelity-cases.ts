// Issue 13's items 2–12 as one suite of cases, each asserting Proxmox's status, message and stage, registered by
// the in-memory backend's unit test and by the real backend's host test against whichever lab API they start.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { LabBackend } from "../../lab/pve/backend";
import { type ApiResponse, LabClient } from "../../lab/pve/client";
import type { LabApiOptions } from "../../lab/api/server";

export const NODE = "pve";
export const TOKEN_ID = "root@pam!phoenix";
const SECRET = "0b7c4e2a-5d6f-4a8b-9c1d-2e3f4a5b6c7d";
const PASSWORD = "fidelity-root-pw";
export const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
/** The storages both backends are given: `local` (a dir) and `tank-lxc` (a zfspool with rootdir and images). */
export const LOCAL_CONTENT = ["vztmpl", "iso", "backup", "snippets", "import"];
export const LXC_CONTENT = ["rootdir", "images"];

/** The lab API's options for the suite: node `pve`, root's token and password, no delay on a 401. */
export function fidelityApiOptions(stateDir: string, backend: LabBackend): LabApiOptions {
  return {
    stateDir,
    port: 0,
    node: NODE,
    tokens: [{ id: TOKEN_ID, secret: SECRET }],
    users: [{ userid: "root@pam", password: PASSWORD }],
    backend,
    unauthorizedDelayMs: 0,
  };
}

/** root@pam's token client of the lab API at `url`; task() waits up to `taskTimeoutMs`. */
export function tokenClient(url: string, taskTimeoutMs: number): LabClient {
  return new LabClient({ url, token: `${TOKEN_ID}=${SECRET}`, taskTimeoutMs });
}

/** An ed25519 public key made by ssh-keygen in `dir`, one Proxmox's check reads. */
export function makePublicKey(dir: string): string {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "fidelity@lab", "-f", join(dir, "key")]);
  return readFileSync(join(dir, "key.pub"), "utf8").trim();
}

/** What differs between backends, known once the lab API runs (beforeAll). */
export interface FidelityTarget {
  url: string;
  /** root@pam's token client, its task() waiting `timeoutMs` (registerFidelityCases). */
  pve: LabClient;
  /** An ssh-keygen public key. */
  key: string;
  /** Waits until every task the API started has ended. */
  settle: () => Promise<void>;
  /** A bridge the node has: containers' and VMs' NICs go there. */
  bridge: string;
  /** The node's bridges, measured apart from the API (the in-memory backend's vmbr0; the machine's for the real one). */
  nodeBridges: () => string[];
  /** `local`'s directory and `tank-lxc`'s dataset. */
  localPath: string;
  lxcPool: string;
}

/** Registers items 2–12 in order (later cases use guests earlier ones made); `timeoutMs` for each case and task. */
export function registerFidelityCases(target: () => FidelityTarget, timeoutMs: number): void {
  const t = target;
  const opts = { timeout: timeoutMs };
  const ct = (vmid: number, extra: Record<string, string> = {}) =>
    t().pve.task("POST", `nodes/${NODE}/lxc`, {
      vmid,
      ostemplate: TEMPLATE,
      hostname: `ct${vmid}`,
      rootfs: "tank-lxc:2",
      net0: `name=eth0,bridge=${t().bridge},ip=dhcp`,
      ...extra,
    });
  const wait = (upid: string) => t().pve.waitTask(upid, 50, timeoutMs);
  const config = (type: "lxc" | "qemu", vmid: number) =>
    t().pve.data<Record<string, string | number>>("GET", `nodes/${NODE}/${type}/${vmid}/config`);
  const login = (password: string) =>
    new LabClient({ url: t().url }).call<LoginData>("POST", "access/ticket", { username: "root@pam", password });
  const cases: Cases = { t, opts, ct, wait, config, login };
  itemsTwoToFour(cases);
  itemsFiveToSeven(cases);
  itemsEightToTen(cases);
  itemsElevenAndTwelve(cases);
}

interface Cases {
  t: () => FidelityTarget;
  opts: { timeout: number };
  ct: (vmid: number, extra?: Record<string, string>) => Promise<string>;
  wait: (upid: string) => Promise<{ status: string; exitstatus?: string }>;
  config: (type: "lxc" | "qemu", vmid: number) => Promise<Record<string, string | number>>;
  login: (password: string) => Promise<ApiResponse<LoginData>>;
}
type LoginData = { ticket: string; CSRFPreventionToken: string; cap: Record<string, Record<string, number>> };

function itemsTwoToFour({ t, opts, ct, config }: Cases): void {
  describe("items 2–4: keys, clones of running containers, interfaces of stopped ones", () => {
    it(
      "2: refuses a create whose ssh-public-keys ssh-keygen cannot read, before anything is made (500, no errors map)",
      opts,
      async () => {
        const r = await t().pve.call("POST", `nodes/${NODE}/lxc`, {
          vmid: 810,
          ostemplate: TEMPLATE,
          rootfs: "tank-lxc:2",
          "ssh-public-keys": `${t().key}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDx2lab not@a-key`,
        });
        expect([r.status, r.statusText, r.body.errors]).toEqual([500, "SSH public key validation error", undefined]);
        expect((await t().pve.call("GET", `nodes/${NODE}/lxc/810/config`)).status).toBe(500);
        expect(await ct(810, { "ssh-public-keys": `${t().key}\n\n` })).toBe("OK");
      },
    );

    it("3: refuses a full clone of a running container; of the stopped one it works", opts, async () => {
      const pve = t().pve;
      expect(await ct(820)).toBe("OK");
      expect(await pve.task("POST", `nodes/${NODE}/lxc/820/status/start`)).toBe("OK");
      const r = await pve.call("POST", `nodes/${NODE}/lxc/820/clone`, { newid: 821, full: 1 });
      expect([r.status, r.statusText]).toEqual([500, "Full clone of a running container is only possible from a snapshot"]);
      // … from a snapshot it is: the snapshot's volumes are copied, under the new vmid's first disk numbers
      expect(await pve.task("POST", `nodes/${NODE}/lxc/820/snapshot`, { snapname: "before-copy" })).toBe("OK");
      const unknown = await pve.call("POST", `nodes/${NODE}/lxc/820/clone`, { newid: 822, full: 1, snapname: "nope" });
      expect([unknown.status, unknown.statusText]).toEqual([500, "snapshot 'nope' does not exist"]);
      const fromSnapshot = { newid: 822, full: 1, snapname: "before-copy" };
      expect(await pve.task("POST", `nodes/${NODE}/lxc/820/clone`, fromSnapshot)).toBe("OK");
      const copy = await config("lxc", 822);
      expect([copy.rootfs, copy.hostname, copy.snaptime, copy.parent]).toEqual([
        "tank-lxc:subvol-822-disk-0,size=2G",
        "ct820",
        undefined,
        undefined,
      ]);
      expect(await pve.task("POST", `nodes/${NODE}/lxc/820/status/stop`)).toBe("OK");
      expect(await pve.task("POST", `nodes/${NODE}/lxc/820/clone`, { newid: 821 })).toBe("OK");
    });

    it("4: answers the interfaces of a stopped (or absent) container with 200 and null", opts, async () => {
      expect(await ct(830)).toBe("OK");
      for (const vmid of [830, 839]) {
        const r = await t().pve.call("GET", `nodes/${NODE}/lxc/${vmid}/interfaces`);
        expect([r.status, r.body.data]).toEqual([200, null]);
      }
    });
  });
}

function itemsFiveToSeven({ t, opts, ct, wait, login }: Cases): void {
  describe("items 5–7: endpoints clients read, the node's bridges, tickets", () => {
    it(
      "5: answers GET /storage, /access/users, /access/domains (without authentication) and /cluster/ha/resources",
      opts,
      async () => {
        const pve = t().pve;
        expect(await pve.data("GET", "storage")).toEqual([
          expect.objectContaining({ storage: "local", type: "dir", path: t().localPath }),
          expect.objectContaining({ storage: "tank-lxc", type: "zfspool", pool: t().lxcPool, content: "images,rootdir" }),
        ]);
        expect(await pve.data("GET", "storage", { type: "zfspool" })).toHaveLength(1);
        expect(await pve.data("GET", "access/users")).toEqual([expect.objectContaining({ userid: "root@pam", enable: 1 })]);
        const domains = await new LabClient({ url: t().url }).call<{ realm: string }[]>("GET", "access/domains");
        expect([domains.status, domains.body.data.map((d) => d.realm)]).toEqual([200, ["pam", "pve"]]);
        expect(await pve.data("GET", "cluster/ha/resources")).toEqual([]);
        expect((await new LabClient({ url: t().url }).call("GET", "access/users")).status).toBe(401);
      },
    );

    it(
      "6: lists the node's bridges; a container on a bridge the node lacks fails its start task as Proxmox's",
      opts,
      async () => {
        const pve = t().pve;
        const net = await pve.data<{ iface: string; type: string }[]>("GET", `nodes/${NODE}/network`, { type: "any_bridge" });
        expect(t().nodeBridges()).toContain(t().bridge);
        expect(t().nodeBridges()).not.toContain("vmbr9");
        expect(net.map((n) => [n.iface, n.type])).toEqual(
          t()
            .nodeBridges()
            .map((b) => [b, "bridge"]),
        );
        expect(await ct(840, { net0: "name=eth0,bridge=vmbr9,ip=dhcp" })).toBe("OK");
        const upid = await pve.data<string>("POST", `nodes/${NODE}/lxc/840/status/start`);
        expect((await wait(upid)).exitstatus).toBe("startup for container '840' failed");
        expect(await pve.taskLog(upid)).toContain("bridge 'vmbr9' does not exist");
        expect((await pve.data<{ status: string }>("GET", `nodes/${NODE}/lxc/840/status/current`)).status).toBe("stopped");
      },
    );

    it("7: renews a ticket posted as the password and takes a ticket in Authorization: PVEAuthCookie=…", opts, async () => {
      const first = (await login(PASSWORD)).body.data;
      const renewed = await login(first.ticket);
      expect(renewed.status).toBe(200);
      expect(renewed.body.data.ticket).toMatch(/^PVE:root@pam:[0-9A-F]{8}::/);
      const header = (ticket: string) =>
        new LabClient({ url: t().url }).call("GET", "version", {}, { Authorization: `PVEAuthCookie=${ticket}` });
      expect((await header(renewed.body.data.ticket)).status).toBe(200);
      const forged = await header(`${first.ticket.slice(0, -4)}AAAA`);
      expect([forged.status, forged.statusText, forged.body]).toEqual([401, "Authentication failed!", { data: null }]);
      expect((await login(`${first.ticket.slice(0, -4)}AAAA`)).status).toBe(401);
    });
  });
}

function itemsEightToTen({ t, opts, ct, wait }: Cases): void {
  describe("items 8–10: unknown deletes, the stage of errors, task identity", () => {
    it("8: refuses delete=<unknown option> with 400 'unknown option', for containers and VMs", opts, async () => {
      const pve = t().pve;
      expect(await ct(850)).toBe("OK");
      expect(await pve.task("POST", `nodes/${NODE}/qemu`, { vmid: 851, name: "vm851", memory: 512 })).toBe("OK");
      for (const type of ["lxc", "qemu"] as const) {
        const r = await pve.call("PUT", `nodes/${NODE}/${type}/${type === "lxc" ? 850 : 851}/config`, { delete: "bogus" });
        expect([r.status, r.body.errors]).toEqual([400, { delete: "unknown option 'bogus'" }]);
      }
    });

    it("9: fails in the task what Proxmox's workers fail, and at once what its create checks first", opts, async () => {
      const pve = t().pve;
      const exit = async (path: string) => (await wait(await pve.data<string>("POST", path))).exitstatus;
      expect(await exit(`nodes/${NODE}/lxc/859/status/start`)).toBe(
        `Configuration file 'nodes/${NODE}/lxc/859.conf' does not exist`,
      );
      expect(await exit(`nodes/${NODE}/qemu/858/status/start`)).toBe(
        `Configuration file 'nodes/${NODE}/qemu-server/858.conf' does not exist`,
      );
      expect(await ct(852)).toBe("OK");
      expect(await pve.call("POST", `nodes/${NODE}/lxc/852/template`)).toMatchObject({ status: 200 });
      await t().settle();
      expect(await exit(`nodes/${NODE}/lxc/852/status/start`)).toBe("you can't start a CT if it's a template");
      expect(await pve.task("POST", `nodes/${NODE}/qemu`, { vmid: 853, name: "vm853", memory: 512, start: 1 })).toBe("OK");
      expect(await exit(`nodes/${NODE}/qemu/853/status/start`)).toBe("VM 853 already running");
      const running = await pve.call("POST", `nodes/${NODE}/lxc/820/status/start`);
      expect(running.status).toBe(200);
      await wait(running.body.data as string);
      expect((await pve.call("POST", `nodes/${NODE}/lxc/820/status/start`)).statusText).toBe("CT 820 already running");
      const r = await pve.call("POST", `nodes/${NODE}/lxc`, { vmid: 854, ostemplate: TEMPLATE, rootfs: "local:2" });
      expect([r.status, r.body.errors]).toEqual([400, { storage: "storage 'local' does not support container directories" }]);
      const d = await pve.call("POST", `nodes/${NODE}/lxc`, { vmid: 854, ostemplate: TEMPLATE });
      expect([d.status, d.body.errors]).toEqual([400, { storage: "storage 'local' does not support container directories" }]);
    });

    it("10: shows a token's task with user and tokenid apart; a clone's task carries the source vmid", opts, async () => {
      const pve = t().pve;
      const upid = await pve.data<string>("POST", `nodes/${NODE}/lxc/830/clone`, { newid: 831, hostname: "copy" });
      expect(upid.split(":").slice(5, 8)).toEqual(["vzclone", "830", TOKEN_ID]);
      expect((await wait(upid)).exitstatus).toBe("OK");
      const status = await pve.data<Record<string, unknown>>("GET", `nodes/${NODE}/tasks/${encodeURIComponent(upid)}/status`);
      expect(status).toMatchObject({ user: "root@pam", tokenid: "phoenix", id: "830", type: "vzclone" });
      const listed = (await pve.data<Record<string, unknown>[]>("GET", `nodes/${NODE}/tasks`)).find((x) => x.upid === upid);
      expect(listed).toMatchObject({ user: "root@pam", tokenid: "phoenix" });
    });
  });
}

function itemsElevenAndTwelve({ t, opts, config, login }: Cases): void {
  describe("items 11–12: volume numbers and the smaller differences", () => {
    it(
      "11: numbers the rootfs disk-0 on create, full clone, template and linked clone, whatever the order given",
      opts,
      async () => {
        const pve = t().pve;
        // keys in alphabetical order, as bpg's client encodes them: mp0 before rootfs
        const body = { hostname: "ct860", mp0: "tank-lxc:1,mp=/data", ostemplate: TEMPLATE, rootfs: "tank-lxc:2", vmid: 860 };
        expect(await pve.task("POST", `nodes/${NODE}/lxc`, body)).toBe("OK");
        expect(await config("lxc", 860)).toMatchObject({
          rootfs: "tank-lxc:subvol-860-disk-0,size=2G",
          mp0: "tank-lxc:subvol-860-disk-1,mp=/data,size=1G",
        });
        expect(await pve.task("POST", `nodes/${NODE}/lxc/860/clone`, { newid: 861, full: 1 })).toBe("OK");
        expect(await config("lxc", 861)).toMatchObject({
          rootfs: "tank-lxc:subvol-861-disk-0,size=2G",
          mp0: "tank-lxc:subvol-861-disk-1,mp=/data,size=1G",
        });
        await pve.call("POST", `nodes/${NODE}/lxc/860/template`);
        await t().settle();
        expect(await pve.task("POST", `nodes/${NODE}/lxc/860/clone`, { newid: 862 })).toBe("OK");
        expect(await config("lxc", 862)).toMatchObject({
          rootfs: "tank-lxc:basevol-860-disk-0/subvol-862-disk-0,size=2G",
          mp0: "tank-lxc:basevol-860-disk-1/subvol-862-disk-1,mp=/data,size=1G",
        });
        // the storage holds the volumes under the names the configs give them, and no others of these guests
        const content = await pve.data<{ volid: string }[]>("GET", `nodes/${NODE}/storage/tank-lxc/content`);
        const names = content.map((v) => v.volid.slice("tank-lxc:".length)).filter((v) => /-86[0-2]-disk-/.test(v));
        expect(names.sort()).toEqual([
          "basevol-860-disk-0",
          "basevol-860-disk-0/subvol-862-disk-0",
          "basevol-860-disk-1",
          "basevol-860-disk-1/subvol-862-disk-1",
          "subvol-861-disk-0",
          "subvol-861-disk-1",
        ]);
      },
    );

    it(
      "12: a bare NIC model, skiplock refused to a token, root's cap, the node status fields, linked clone + storage",
      opts,
      async () => {
        const pve = t().pve;
        const vm870 = { vmid: 870, name: "vm870", net0: `virtio,bridge=${t().bridge}` };
        expect(await pve.task("POST", `nodes/${NODE}/qemu`, vm870)).toBe("OK");
        expect(String((await config("qemu", 870)).net0)).toMatch(
          new RegExp(`^virtio=BC:24:11(:[0-9A-F]{2}){3},bridge=${t().bridge}$`),
        );
        for (const path of [`lxc/850/status/start`, `qemu/870/status/start`, `qemu/870/status/shutdown`]) {
          const r = await pve.call("POST", `nodes/${NODE}/${path}`, { skiplock: 1 });
          expect([r.status, r.body.errors]).toEqual([400, { skiplock: "Only root may use this option." }]);
        }
        const cap = (await login(PASSWORD)).body.data.cap;
        expect(cap.vms).toMatchObject({ "VM.Allocate": 1, "VM.PowerMgmt": 1 });
        expect(Object.keys(cap).sort()).toEqual(["access", "dc", "mapping", "nodes", "sdn", "storage", "vms"]);
        const s = await pve.data<Record<string, Record<string, unknown> & unknown[]>>("GET", `nodes/${NODE}/status`);
        expect(s.loadavg).toHaveLength(3);
        for (const k of ["rootfs", "swap", "ksm", "boot-info", "current-kernel", "memory", "cpuinfo"])
          expect(s[k]).toBeTypeOf("object");
        expect(s.wait).toBeTypeOf("number");
        expect(Number(s.rootfs.total)).toBeGreaterThan(0);
        expect(s["current-kernel"].sysname).toBe("Linux");
        // pve-manager 9 added memory.available (the lab answers as 9.0 unless told an 8.x version; 8.4's status has none).
        expect(s.memory.available).toBeTypeOf("number");
        const linked = await pve.call("POST", `nodes/${NODE}/lxc/852/clone`, { newid: 871, storage: "tank-lxc" });
        expect([linked.status, linked.statusText]).toEqual([500, "parameter 'storage' not allowed for linked clones"]);
      },
    );
  });
}
