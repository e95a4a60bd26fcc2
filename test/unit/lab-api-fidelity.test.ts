// What third-party Proxmox clients found the lab doing differently from Proxmox VE (issue 13, items 2–12), each
// asserted with Proxmox's status, message and stage (test/support/fidelity-cases.ts), over loopback HTTPS with the
// in-memory backend; test/host/lab-api-fidelity-real.test.ts runs the same cases against the real backend.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { MemoryBackend } from "../../lab/pve/memory-backend";
import { type LabApi, startLabApi } from "../../lab/api/server";
import {
  type FidelityTarget,
  LOCAL_CONTENT,
  LXC_CONTENT,
  TEMPLATE,
  fidelityApiOptions,
  makePublicKey,
  registerFidelityCases,
  tokenClient,
} from "../support/fidelity-cases";

let dir: string;
let api: LabApi;
let target: FidelityTarget;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "phoenix-lab-fidelity-"));
  const backend = new MemoryBackend({
    storages: [
      { id: "local", type: "dir", path: "/var/lib/vz", content: LOCAL_CONTENT },
      { id: "tank-lxc", type: "zfspool", pool: "tank/lxc", content: LXC_CONTENT },
    ],
    files: [{ volid: TEMPLATE, size: 120_000_000 }],
  });
  api = await startLabApi(fidelityApiOptions(dir, backend));
  target = {
    url: api.url,
    pve: tokenClient(api.url, 30_000),
    key: makePublicKey(dir),
    settle: () => api.tasks.settle(),
    bridge: "vmbr0",
    nodeBridges: () => ["vmbr0"],
    localPath: "/var/lib/vz",
    lxcPool: "tank/lxc",
  };
});

afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

registerFidelityCases(() => target, 30_000);
