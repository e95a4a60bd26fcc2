// /cluster/ha/resources: HA resources kept in /etc/pve/ha/resources.cfg with pve-ha-manager's checks and words.
// The lab runs no HA manager: nothing watches, fences, restarts or recovers these guests (lab/README.md); a migrate or
// relocate request (ha-requests.ts) it carries out itself.
import { type ApiContext, findGuest } from "../context";
import { fail, paramError, modifiedConfig } from "../errors";
import type { HaResource, HaResourceStore } from "../ha-config";
import type { HaStack } from "../ha-stack";
import type { Route } from "../router";
import type { ParamSchema } from "../../pve/schema";
import { splitList } from "../../pve/pve-config";

const TYPES: Record<string, "lxc" | "qemu"> = { ct: "lxc", vm: "qemu" };

const OPTIONS: ParamSchema = {
  comment: { type: "string", maxLength: 4096, optional: true },
  failback: { type: "boolean", optional: true },
  group: { type: "string", format: "pve-configid", optional: true },
  max_relocate: { type: "integer", minimum: 0, optional: true },
  max_restart: { type: "integer", minimum: 0, optional: true },
  state: { type: "string", enum: ["started", "stopped", "enabled", "disabled", "ignored"], optional: true },
  type: { type: "string", enum: ["ct", "vm"], optional: true },
};
export const SID = { type: "string", optional: false } as const;

/** pve-ha-manager's parse_sid: `ct:100`, `vm:100`, or a bare vmid resolved through the cluster's guests. */
export async function parseSid(ctx: ApiContext, sid: string): Promise<{ type: string; name: string }> {
  if (/^\d+$/.test(sid)) {
    const g = await findGuest(ctx, Number(sid));
    if (!g) throw fail(`unable to detect SID from VMID - VM/CT ${sid} does not exist`);
    return { type: g.type === "lxc" ? "ct" : "vm", name: sid };
  }
  const m = /^(\S+):(\S+)$/.exec(sid);
  if (!m) throw fail(`unable to parse service id '${sid}'`);
  if (!TYPES[m[1]!]) throw fail(`unknown resource type '${m[1]}'`);
  return { type: m[1]!, name: m[2]! };
}

/**
 * The resource's options from the request. The lab has no HA groups: PVE 9 says they were migrated to rules (the
 * same on create and update), PVE 8 that the named one does not exist.
 */
function options(ctx: ApiContext, params: Record<string, string>, type: string): Record<string, string> {
  if (params.type && params.type !== type) throw fail("types does not match");
  if (params.group !== undefined && !ctx.version.version.startsWith("8."))
    throw fail("invalid parameter 'group': ha groups have been migrated to rules");
  if (params.group) throw fail(`HA group '${params.group}' does not exist`);
  const out: Record<string, string> = {};
  for (const k of Object.keys(OPTIONS)) if (k !== "type" && params[k] !== undefined) out[k] = params[k]!;
  return out;
}

/** The options as the API's JSON has them: integers and booleans as numbers (SectionConfig parses them so). */
const typed = (options: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(options).map(([k, v]) => [
      k,
      OPTIONS[k]?.type === "integer" || OPTIONS[k]?.type === "boolean" ? Number(v) : v,
    ]),
  );
const json = (r: HaResource, digest: string) => ({ sid: `${r.type}:${r.name}`, type: r.type, digest, ...typed(r.options) });
const find = (resources: HaResource[], s: { type: string; name: string }) =>
  resources.find((r) => r.type === s.type && r.name === s.name);

/** POST: the guest must exist in the cluster and be of the sid's type; one resource per sid. */
async function create(ctx: ApiContext, store: HaResourceStore, params: Record<string, string>): Promise<null> {
  const s = await parseSid(ctx, params.sid!);
  const opts = options(ctx, params, s.type); // Proxmox checks the type and group before the guest
  if (!/^[1-9][0-9]+$/.test(s.name)) throw fail("invalid VMID");
  const guest = await findGuest(ctx, Number(s.name));
  if (!guest) throw fail(`resource '${s.type}:${s.name}' does not exist in cluster`);
  if (guest.type !== TYPES[s.type])
    throw fail(
      `resource '${s.type}:${s.name}' - guest with ID ${s.name} is not a ${s.type === "ct" ? "container" : "virtual machine"}`,
    );
  const { resources } = store.read();
  if (find(resources, s)) throw fail(`resource ID '${s.type}:${s.name}' already defined`);
  store.write([...resources, { ...s, options: opts }]);
  return null;
}

/** PUT: options set and deleted, refused when the file changed since the caller's digest. */
async function update(ctx: ApiContext, store: HaResourceStore, params: Record<string, string>): Promise<null> {
  const s = await parseSid(ctx, params.sid!);
  const opts = options(ctx, params, s.type);
  const { resources, digest } = store.read();
  if (params.digest && params.digest !== digest) throw modifiedConfig();
  const found = find(resources, s);
  if (!found) throw fail(`no such resource '${s.type}:${s.name}'`);
  for (const k of splitList(params.delete)) {
    if (!Object.hasOwn(OPTIONS, k) || k === "type") throw paramError({ delete: `unknown property '${k}'` });
    delete found.options[k];
  }
  Object.assign(found.options, opts);
  store.write(resources);
  return null;
}

/** The HA resource routes over the cluster's HA configuration (`ha`: the stores the rest of the API consults too). */
export function haRoutes(ctx: ApiContext, ha: HaStack): Route[] {
  const store = ha.resources;
  return [
    {
      method: "GET",
      path: "/cluster/ha/resources",
      schema: { type: { type: "string", enum: ["ct", "vm"], optional: true } },
      handler: (r) => {
        const { resources, digest } = store.read();
        return resources.filter((x) => !r.params.type || x.type === r.params.type).map((x) => json(x, digest));
      },
    },
    {
      method: "POST",
      path: "/cluster/ha/resources",
      schema: { sid: SID, ...OPTIONS },
      handler: (r) => create(ctx, store, r.params),
    },
    {
      method: "GET",
      path: "/cluster/ha/resources/{sid}",
      schema: { sid: SID },
      handler: async (r) => {
        const s = await parseSid(ctx, r.params.sid!);
        const { resources, digest } = store.read();
        const found = find(resources, s);
        if (!found) throw fail(`no such resource '${s.type}:${s.name}'`);
        return json(found, digest);
      },
    },
    {
      method: "PUT",
      path: "/cluster/ha/resources/{sid}",
      schema: {
        sid: SID,
        ...OPTIONS,
        delete: { type: "string", format: "pve-configid-list", optional: true },
        digest: { type: "string", maxLength: 64, optional: true },
      },
      handler: (r) => update(ctx, store, r.params),
    },
    {
      method: "DELETE",
      path: "/cluster/ha/resources/{sid}",
      schema: { sid: SID, purge: { type: "boolean", optional: true } },
      handler: async (r) => {
        const s = await parseSid(ctx, r.params.sid!);
        const { resources } = store.read();
        if (!find(resources, s)) throw fail(`cannot delete service '${s.type}:${s.name}', not HA managed!`);
        // purge (the default): out of every rule too, a rule left without resources deleted (delete_service_from_config)
        ha.remove(`${s.type}:${s.name}`, r.params.purge !== "0");
        return null;
      },
    },
  ];
}
