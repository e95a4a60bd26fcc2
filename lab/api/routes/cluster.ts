// /cluster: next free vmid and the resource list across the lab's nodes (the provider finds a VM's node through it),
// the cluster's status, PCI hardware mappings (kept in <stateDir>/pve/mapping/pci.json), and /pools (read-only, empty).
import { HA_TYPE } from "../ha-stack";
import { MappingStore, type PciMapping } from "../pci-mappings";
import type { GuestType } from "../../pve/backend";
import { type ApiContext, LABEL, clusterNodes } from "../context";
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

const mappingSchema = {
  description: { type: "string", maxLength: 4096, optional: true },
  map: { type: "array", items: { type: "string", format: PCI_MAP_FORMAT }, optional: true },
  mdev: { type: "boolean", optional: true },
  "live-migration-capable": { type: "boolean", optional: true },
} as const;

/** Whether the mapped devices can be live-migrated (a VM's migration preconditions read it). */
const LIVE = "live-migration-capable";

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
    ...(m[LIVE] ? { [LIVE]: Number(m[LIVE]) } : {}),
  });

  async function nodeResources(node: ApiContext, type?: string): Promise<unknown[]> {
    const out: unknown[] = [];
    if (!type || type === "vm") {
      // one read of the HA configuration for the whole listing (clients poll this)
      const haStates = node.ha?.states() ?? new Map<string, string>();
      for (const g of await node.backend.listGuests()) {
        const file = await node.backend.readConfig(g.type, g.vmid);
        if (!file) continue;
        const rt = await node.backend.runtime(g.type, g.vmid);
        const c = file.config;
        const lock = node.locks.get(g.vmid) ?? c.lock;
        const hastate = haStates.get(`${HA_TYPE[g.type as GuestType]}:${g.vmid}`);
        out.push({
          id: `${g.type}/${g.vmid}`,
          type: g.type,
          vmid: g.vmid,
          node: node.node,
          name: (g.type === "lxc" ? c.hostname : c.name) ?? `${LABEL[g.type as GuestType]}${g.vmid}`,
          status: rt.status,
          template: c.template === "1" ? 1 : 0,
          maxmem: Number(c.memory ?? 512) * 1024 * 1024,
          maxcpu: Number(c.cores ?? 1),
          uptime: rt.uptime ?? 0,
          ...(c.tags ? { tags: c.tags } : {}),
          ...(lock ? { lock } : {}),
          // the HA manager's view of the resource; with none running here, the state it was given
          ...(hastate ? { hastate } : {}),
        });
      }
    }
    if (!type || type === "storage")
      for (const s of await node.backend.listStorage())
        out.push({
          id: `storage/${node.node}/${s.id}`,
          type: "storage",
          storage: s.id,
          node: node.node,
          plugintype: s.type,
          content: s.content.join(","),
          status: "available",
          shared: s.shared ? 1 : 0,
          disk: s.used,
          maxdisk: s.total,
        });
    if (!type || type === "node")
      out.push({ id: `node/${node.node}`, type: "node", node: node.node, status: "online", level: "" });
    return out;
  }

  /** Every node's resources: guests first, then storages, then nodes, as Cluster.pm lists them. */
  async function resources(type?: string): Promise<unknown[]> {
    const all = (await Promise.all(clusterNodes(ctx).map((n) => nodeResources(n, type)))).flat() as { type: string }[];
    const rank = (t: string) => (t === "node" ? 2 : t === "storage" ? 1 : 0);
    return all.sort((a, b) => rank(a.type) - rank(b.type));
  }

  /** A lone node: its entry alone (nodeid 0), as on a Proxmox host in no cluster; a cluster: its entry, then nodes 1…n. */
  function status(): unknown[] {
    const nodes = clusterNodes(ctx);
    if (!ctx.cluster)
      return [
        { id: `node/${ctx.node}`, type: "node", name: ctx.node, nodeid: 0, ip: "127.0.0.1", online: 1, local: 1, level: "" },
      ];
    return [
      { id: "cluster", type: "cluster", name: "phoenix-lab", nodes: nodes.length, quorate: 1, version: nodes.length },
      ...nodes.map((n, i) => ({
        id: `node/${n.node}`,
        type: "node",
        name: n.node,
        nodeid: i + 1,
        ip: "127.0.0.1",
        online: 1,
        local: n === ctx ? 1 : 0,
        level: "",
      })),
    ];
  }

  return [
    {
      method: "GET",
      path: "/cluster/nextid",
      schema: { vmid: { ...VMID, optional: true } },
      handler: async (r) => {
        const guests = await Promise.all(clusterNodes(ctx).map((n) => n.backend.listGuests()));
        const used = new Set([...guests.flat().map((g) => g.vmid), ...ctx.locks.keys()]);
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
    { method: "GET", path: "/cluster/status", schema: {}, handler: () => status() },
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
          ...(r.params[LIVE] ? { [LIVE]: r.params[LIVE] } : {}),
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
        if (r.params[LIVE] !== undefined) m[LIVE] = r.params[LIVE];
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
