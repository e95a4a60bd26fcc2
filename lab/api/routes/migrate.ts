// POST /nodes/{node}/lxc/{vmid}/migrate and /nodes/{node}/qemu/{vmid}/migrate: a guest moved to another node of the
// lab's cluster with its vmid, config and volumes (api/migrate.ts), with Proxmox's parameters; GET on the same paths:
// the migration's preconditions (api/migrate-precondition.ts).
import { type ApiContext, requireNode, rootOnly } from "../context";
import { NODE, VMID } from "../../pve/lxc-schema";
import type { Route } from "../router";
import { migrateGuest, parseStorageMap } from "../migrate";
import { ctPrecondition, vmPrecondition } from "../migrate-precondition";

const TARGET_STORAGE = { type: "string", optional: true } as const;
const PRECONDITION = { node: NODE, vmid: VMID, target: { ...NODE, optional: true } } as const;

/** `pciMappings`: the cluster's PCI mapping file (/cluster/mapping/pci), which a VM's preconditions read. */
export function migrateRoutes(ctx: ApiContext, pciMappings: string): Route[] {
  return [
    {
      method: "GET",
      path: "/nodes/{node}/lxc/{vmid}/migrate",
      schema: PRECONDITION,
      handler: (r) => {
        requireNode(ctx, r.params.node!);
        return ctPrecondition(ctx, Number(r.params.vmid), r.method, r.path);
      },
    },
    {
      method: "GET",
      path: "/nodes/{node}/qemu/{vmid}/migrate",
      schema: PRECONDITION,
      handler: (r) => {
        requireNode(ctx, r.params.node!);
        return vmPrecondition(ctx, Number(r.params.vmid), pciMappings);
      },
    },
    {
      method: "POST",
      path: "/nodes/{node}/lxc/{vmid}/migrate",
      schema: {
        node: NODE,
        vmid: VMID,
        target: NODE,
        "target-storage": TARGET_STORAGE,
        online: { type: "boolean", optional: true },
        restart: { type: "boolean", optional: true },
        timeout: { type: "integer", optional: true },
        bwlimit: { type: "number", minimum: 0, optional: true },
      },
      handler: async (r) => {
        requireNode(ctx, r.params.node!);
        return migrateGuest(ctx, r.identity, {
          type: "lxc",
          vmid: Number(r.params.vmid),
          target: r.params.target!,
          online: r.params.online === "1",
          restart: r.params.restart === "1",
          timeout: Number(r.params.timeout ?? 180),
          storageMap: parseStorageMap(r.params["target-storage"]),
        });
      },
    },
    {
      method: "POST",
      path: "/nodes/{node}/qemu/{vmid}/migrate",
      schema: {
        node: NODE,
        vmid: VMID,
        target: NODE,
        targetstorage: TARGET_STORAGE,
        online: { type: "boolean", optional: true },
        force: { type: "boolean", optional: true },
        migration_type: { type: "string", enum: ["secure", "insecure"], optional: true },
        migration_network: { type: "string", optional: true },
        "with-local-disks": { type: "boolean", optional: true },
        bwlimit: { type: "integer", minimum: 0, optional: true },
        "with-conntrack-state": { type: "boolean", optional: true },
      },
      handler: async (r) => {
        requireNode(ctx, r.params.node!);
        rootOnly(r.identity, r.params, ["force", "migration_type", "migration_network"]);
        return migrateGuest(ctx, r.identity, {
          type: "qemu",
          vmid: Number(r.params.vmid),
          target: r.params.target!,
          online: r.params.online === "1",
          restart: false,
          timeout: 180,
          storageMap: parseStorageMap(r.params.targetstorage),
        });
      },
    },
  ];
}
