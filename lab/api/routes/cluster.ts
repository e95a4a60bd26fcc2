// /cluster: next free vmid, the resource list (the provider finds a VM's node through it), PCI
// hardware mappings (kept in <stateDir>/pve/mapping/pci.json), and /pools (read-only, empty).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { GuestType } from "../../pve/backend";
import { type ApiContext, LABEL } from "../context";
import { fail, paramError } from "../errors";
import { VMID } from "../../pve/lxc-schema";
import { splitList } from "../../pve/pve-config";
import type { Route } from "../router";
import { type PropertyStringSchema, checkPropertyString, emptyErrors } from "../../pve/schema";

export const PCI_MAP_FORMAT: PropertyStringSchema = {
  node: { type: "string", format: "pve-node" },
  path: { type: "string", format: "pci-id", optional: true },
  id: { type: "string", format: "pci-vendor-device" },
  iommugroup: { type: "integer", optional: true },
  "subsystem-id": { type: "string", format: "pci-vendor-device", optional: true },
  description: { type: "string", optional: true },
};

interface PciMapping {
  description?: string;
  map: string[];
  mdev?: string;
  "live-migration-capable"?: string;
}

class MappingStore {
  private data: Record<string, PciMapping>;
  constructor(private readonly file: string) {
    // No prototype: a mapping id such as constructor or toString is a name like any other.
    this.data = Object.assign(
      Object.create(null) as Record<string, PciMapping>,
      existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, PciMapping>) : {},
    );
  }
  all(): Record<string, PciMapping> {
    return this.data;
  }
  save(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(this.file, JSON.stringify(this.data, null, 2));
  }
}

const mappingSchema = {
  description: { type: "string", maxLength: 4096, optional: true },
  map: { type: "array", items: { type: "string", format: PCI_MAP_FORMAT }, optional: true },
  mdev: { type: "boolean", optional: true },
  "live-migration-capable": { type: "boolean", optional: true },
} as const;

function checkMaps(maps: string[]): void {
  const errors = emptyErrors();
  maps.forEach((m, i) => checkPropertyString(PCI_MAP_FORMAT, m, `map[${i}]`, errors));
  if (Object.keys(errors).length) throw paramError(errors);
}

export function clusterRoutes(ctx: ApiContext, mappingFile: string): Route[] {
  const store = new MappingStore(mappingFile);
  const get = (id: string) => {
    const m = Object.hasOwn(store.all(), id) ? store.all()[id] : undefined;
    if (!m) throw fail(`PCI mapping '${id}' does not exist`);
    return m;
  };
  const mappingJson = (id: string, m: PciMapping) => ({
    id,
    type: "pci",
    map: m.map,
    ...(m.description !== undefined ? { description: m.description } : {}),
    ...(m.mdev ? { mdev: Number(m.mdev) } : {}),
  });

  async function resources(type?: string): Promise<unknown[]> {
    const out: unknown[] = [];
    if (!type || type === "vm") {
      for (const g of await ctx.backend.listGuests()) {
        const file = await ctx.backend.readConfig(g.type, g.vmid);
        if (!file) continue;
        const rt = await ctx.backend.runtime(g.type, g.vmid);
        const c = file.config;
        out.push({
          id: `${g.type}/${g.vmid}`,
          type: g.type,
          vmid: g.vmid,
          node: ctx.node,
          name: (g.type === "lxc" ? c.hostname : c.name) ?? `${LABEL[g.type as GuestType]}${g.vmid}`,
          status: rt.status,
          template: c.template === "1" ? 1 : 0,
          maxmem: Number(c.memory ?? 512) * 1024 * 1024,
          maxcpu: Number(c.cores ?? 1),
          uptime: rt.uptime ?? 0,
          ...(c.tags ? { tags: c.tags } : {}),
        });
      }
    }
    if (!type || type === "storage")
      for (const s of await ctx.backend.listStorage())
        out.push({
          id: `storage/${ctx.node}/${s.id}`,
          type: "storage",
          storage: s.id,
          node: ctx.node,
          plugintype: s.type,
          content: s.content.join(","),
          status: "available",
          shared: s.shared ? 1 : 0,
          disk: s.used,
          maxdisk: s.total,
        });
    if (!type || type === "node") out.push({ id: `node/${ctx.node}`, type: "node", node: ctx.node, status: "online", level: "" });
    return out;
  }

  return [
    {
      method: "GET",
      path: "/cluster/nextid",
      schema: { vmid: { ...VMID, optional: true } },
      handler: async (r) => {
        const used = new Set([...(await ctx.backend.listGuests()).map((g) => g.vmid), ...ctx.locks.keys()]);
        if (r.params.vmid) {
          const vmid = Number(r.params.vmid);
          if (used.has(vmid)) throw paramError({ vmid: `VM ${vmid} already exists` });
          return String(vmid);
        }
        let id = 100;
        while (used.has(id)) id++;
        return String(id);
      },
    },
    {
      method: "GET",
      path: "/cluster/resources",
      schema: { type: { type: "string", enum: ["vm", "storage", "node", "sdn"], optional: true } },
      handler: (r) => resources(r.params.type),
    },
    {
      method: "GET",
      path: "/cluster/status",
      schema: {},
      handler: () => [
        { id: `node/${ctx.node}`, type: "node", name: ctx.node, nodeid: 0, ip: "127.0.0.1", online: 1, local: 1, level: "" },
      ],
    },
    // No HA stack on a one-node lab: no guest is HA-managed
    {
      method: "GET",
      path: "/cluster/ha/resources",
      schema: { type: { type: "string", enum: ["ct", "vm"], optional: true } },
      handler: () => [],
    },
    { method: "GET", path: "/cluster/mapping", schema: {}, handler: () => [{ name: "dir" }, { name: "pci" }, { name: "usb" }] },
    {
      method: "GET",
      path: "/cluster/mapping/pci",
      schema: { "check-node": { type: "string", format: "pve-node", optional: true } },
      handler: (r) =>
        Object.entries(store.all()).map(([id, m]) => ({
          ...mappingJson(id, m),
          ...(r.params["check-node"]
            ? {
                checks: m.map.some((e) => e.includes(`node=${r.params["check-node"]}`))
                  ? []
                  : [{ severity: "warning", message: `No mapping for node ${r.params["check-node"]}` }],
              }
            : {}),
        })),
    },
    {
      method: "POST",
      path: "/cluster/mapping/pci",
      schema: {
        id: { type: "string", format: "pve-configid" },
        ...mappingSchema,
        map: { ...mappingSchema.map, optional: false },
      },
      handler: (r) => {
        const id = r.params.id!;
        checkMaps(r.arrays.map ?? []);
        if (Object.hasOwn(store.all(), id)) throw fail(`PCI mapping '${id}' already exists`);
        store.all()[id] = {
          map: r.arrays.map ?? [],
          ...(r.params.description !== undefined ? { description: r.params.description } : {}),
          ...(r.params.mdev ? { mdev: r.params.mdev } : {}),
        };
        store.save();
        return null;
      },
    },
    {
      method: "GET",
      path: "/cluster/mapping/pci/{id}",
      schema: { id: { type: "string", format: "pve-configid" } },
      handler: (r) => {
        const m = get(r.params.id!);
        const { id: _id, ...rest } = mappingJson(r.params.id!, m);
        return { ...rest, digest: "0000000000000000000000000000000000000000" };
      },
    },
    {
      method: "PUT",
      path: "/cluster/mapping/pci/{id}",
      schema: {
        id: { type: "string", format: "pve-configid" },
        ...mappingSchema,
        delete: { type: "string", format: "pve-configid-list", optional: true },
        digest: { type: "string", maxLength: 64, optional: true },
      },
      handler: (r) => {
        const m = get(r.params.id!);
        for (const key of splitList(r.params.delete)) {
          if (key === "map") throw paramError({ delete: "map cannot be deleted" });
          if (Object.hasOwn(m, key)) delete (m as unknown as Record<string, unknown>)[key];
        }
        if (r.arrays.map) {
          checkMaps(r.arrays.map);
          m.map = r.arrays.map;
        }
        if (r.params.description !== undefined) m.description = r.params.description;
        if (r.params.mdev !== undefined) m.mdev = r.params.mdev;
        store.save();
        return null;
      },
    },
    {
      method: "DELETE",
      path: "/cluster/mapping/pci/{id}",
      schema: { id: { type: "string", format: "pve-configid" } },
      handler: (r) => {
        get(r.params.id!);
        delete store.all()[r.params.id!];
        store.save();
        return null;
      },
    },
    {
      method: "GET",
      path: "/pools",
      schema: {
        poolid: { type: "string", format: "pve-poolid", optional: true },
        type: { type: "string", enum: ["qemu", "lxc", "storage"], optional: true },
      },
      handler: (r) => {
        if (r.params.poolid) throw fail(`pool '${r.params.poolid}' does not exist`);
        return [];
      },
    },
  ];
}
