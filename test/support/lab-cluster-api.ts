// A two-node lab cluster behind one API over in-memory backends, and polling where its guests are: what the unit
// tests of the lab's cluster, HA and migration routes share.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LabClient } from "../../lab/pve/client";
import type { MemoryBackend } from "../../lab/pve/memory-backend";
import { type LabApi, type LabApiOptions, startLabApi } from "../../lab/api/server";

export const TOKEN_ID = "root@pam!phoenix";
export const SECRET = "0b7c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d";
export const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";

export interface TwoNodeLab {
  dir: string;
  api: LabApi;
  pve: LabClient;
  close(): Promise<void>;
}

/**
 * The lab's API for nodes pve1 (`one`) and pve2 (`two`), in a fresh state directory named after `prefix`, answering
 * as `version` (the lab's default, PVE 9, when not given).
 */
export async function startTwoNodeLab(
  prefix: string,
  one: MemoryBackend,
  two: MemoryBackend,
  version?: LabApiOptions["version"],
): Promise<TwoNodeLab> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const api = await startLabApi({
    stateDir: dir,
    port: 0,
    node: "pve1",
    nodes: [{ node: "pve2", backend: two }],
    tokens: [{ id: TOKEN_ID, secret: SECRET }],
    backend: one,
    unauthorizedDelayMs: 0,
    ...(version ? { version } : {}),
  });
  const pve = new LabClient({ url: api.url, token: `${TOKEN_ID}=${SECRET}` });
  return {
    dir,
    api,
    pve,
    close: async () => {
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type ClusterGuest = { type?: string; vmid?: number; node?: string; status?: string; hastate?: string; lock?: string };

/** Where a guest is, from /cluster/resources, and polling for it to get somewhere (5 s). */
export function guestWatch(pve: () => LabClient) {
  const where = async (vmid: number) =>
    (await pve().data<ClusterGuest[]>("GET", "cluster/resources", { type: "vm" })).find((r) => r.vmid === vmid);
  const until = async (vmid: number, done: (r: ClusterGuest | undefined) => boolean) => {
    for (let i = 0; i < 100; i++) {
      const r = await where(vmid);
      if (done(r)) return r;
      await new Promise((res) => setTimeout(res, 50));
    }
    return where(vmid);
  };
  return { where, until };
}
