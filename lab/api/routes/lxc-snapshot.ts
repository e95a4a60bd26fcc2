// /nodes/{node}/lxc/{vmid}/snapshot: list (with the `current` entry), create (task vzsnapshot), delete (vzdelsnapshot),
// rollback (vzrollback, optionally starting the container again), and a snapshot's config and description.
import type { Identity } from "../auth";
import { type ApiContext, checkLock, loadConfig, lockedTask, requireNode } from "../context";
import { fail } from "../errors";
import { configJson } from "./lxc";
import type { Route } from "../router";
import { NODE, VMID } from "../../pve/lxc-schema";
import { canonicalDescription, configDigest } from "../../pve/pve-config";
import {
  RESERVED_SNAPSHOT_NAMES,
  checkRollback,
  checkSnapshotCreate,
  createSnapshot,
  deleteSnapshot,
  isSnapshotSection,
  rollbackSnapshot,
} from "../snapshots";

const BASE = { node: NODE, vmid: VMID };
const SNAPNAME = { type: "string", format: "pve-configid", maxLength: 40 } as const;

async function list(ctx: ApiContext, vmid: number): Promise<unknown[]> {
  const file = await loadConfig(ctx, "lxc", vmid);
  const out: unknown[] = Object.entries(file.sections)
    .filter(([name]) => isSnapshotSection(name))
    .map(([name, s]) => ({
      name,
      description: s.description ?? "",
      ...(s.snaptime ? { snaptime: Number(s.snaptime) } : {}),
      ...(s.parent ? { parent: s.parent } : {}),
      ...(s.snapstate ? { snapstate: s.snapstate } : {}),
    }));
  const running = (await ctx.backend.runtime("lxc", vmid)).status === "running";
  out.push({
    name: "current",
    digest: configDigest(file),
    running: running ? 1 : 0,
    description: "You are here!",
    ...(file.config.parent ? { parent: file.config.parent } : {}),
  });
  return out;
}

async function snapshotOf(ctx: ApiContext, vmid: number, name: string) {
  const file = await loadConfig(ctx, "lxc", vmid);
  const snap = isSnapshotSection(name) ? file.sections[name] : undefined;
  if (!snap) throw fail(`snapshot '${name}' does not exist`);
  return { file, snap };
}

export function lxcSnapshotRoutes(ctx: ApiContext): Route[] {
  const route = (
    method: Route["method"],
    path: string,
    schema: Route["schema"],
    handler: (p: Record<string, string>, vmid: number, id: Identity) => Promise<unknown>,
  ): Route => ({
    method,
    path: `/nodes/{node}/lxc/{vmid}/snapshot${path}`,
    schema: { ...BASE, ...schema },
    handler: async (req) => {
      requireNode(ctx, req.params.node!);
      return handler(req.params, Number(req.params.vmid), req.identity);
    },
  });
  return [
    route("GET", "", {}, (_p, vmid) => list(ctx, vmid)),
    route("POST", "", { snapname: SNAPNAME, description: { type: "string", optional: true } }, async (p, vmid, id) => {
      const name = p.snapname!;
      if (RESERVED_SNAPSHOT_NAMES.includes(name)) throw fail(`unable to use snapshot name '${name}' (reserved name)`);
      await checkSnapshotCreate(ctx, vmid, name);
      return lockedTask(ctx, id, "vzsnapshot", vmid, "snapshot", (log) => {
        log(`snapshotting CT ${vmid} as '${name}'`);
        return createSnapshot(ctx, vmid, name, p.description, log, true);
      });
    }),
    route("GET", "/{snapname}", { snapname: SNAPNAME }, async (p, vmid) => {
      await snapshotOf(ctx, vmid, p.snapname!);
      return [{ cmd: "rollback" }, { cmd: "config" }];
    }),
    route("DELETE", "/{snapname}", { snapname: SNAPNAME, force: { type: "boolean", optional: true } }, async (p, vmid, id) => {
      await snapshotOf(ctx, vmid, p.snapname!);
      checkLock(ctx, "lxc", vmid);
      return lockedTask(ctx, id, "vzdelsnapshot", vmid, "snapshot-delete", (log) =>
        deleteSnapshot(ctx, vmid, p.snapname!, p.force === "1", log),
      );
    }),
    route(
      "POST",
      "/{snapname}/rollback",
      { snapname: SNAPNAME, start: { type: "boolean", optional: true } },
      async (p, vmid, id) => {
        await checkRollback(ctx, vmid, p.snapname!);
        return lockedTask(ctx, id, "vzrollback", vmid, undefined, async (log) => {
          ctx.locks.set(vmid, "rollback");
          try {
            await rollbackSnapshot(ctx, vmid, p.snapname!, log, true);
          } finally {
            ctx.locks.delete(vmid);
          }
          if (p.start === "1") {
            log(`starting CT ${vmid}`);
            await ctx.backend.startGuest("lxc", vmid, (await loadConfig(ctx, "lxc", vmid)).config, log);
          }
        });
      },
    ),
    route("GET", "/{snapname}/config", { snapname: SNAPNAME }, async (p, vmid) => {
      const { snap } = await snapshotOf(ctx, vmid, p.snapname!);
      return configJson(ctx, vmid, { config: snap, lxc: [], sections: {} });
    }),
    route(
      "PUT",
      "/{snapname}/config",
      { snapname: SNAPNAME, description: { type: "string", optional: true } },
      async (p, vmid) => {
        const { file, snap } = await snapshotOf(ctx, vmid, p.snapname!);
        if (p.description !== undefined) {
          if (p.description === "") delete snap.description;
          else snap.description = canonicalDescription(p.description);
        }
        await ctx.backend.writeConfig("lxc", vmid, file);
        return null;
      },
    ),
  ];
}
