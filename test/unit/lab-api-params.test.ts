// Keeps the lab honest as it grows: every route its router serves, and every parameter each route accepts (numbered
// families included), must be one Proxmox VE has, with Proxmox's type and required flag, as listed in
// lab/api/pve-api-params.json (written from Proxmox's API definitions). A typo'd parameter or a route Proxmox does not
// have fails here.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Authenticator } from "../../lab/api/auth";
import type { ApiContext } from "../../lab/api/context";
import type { Route } from "../../lab/api/router";
import { labRouter } from "../../lab/api/server";
import { MemoryBackend } from "../../lab/pve/memory-backend";
import { TaskManager } from "../../lab/pve/tasks";

interface PveParam {
  type: string;
  required?: boolean;
  /** name[n] families: the highest n. */
  max?: number;
  since?: string;
  pve8Only?: boolean;
}
interface PveRoute {
  method: string;
  path: string;
  params: Record<string, PveParam>;
}

const LIST = JSON.parse(readFileSync(join(__dirname, "../../lab/api/pve-api-params.json"), "utf8")) as { routes: PveRoute[] };

/** Proxmox's parameter for a concrete name: the name itself, or a numbered family member within its range. */
function pveParam(route: PveRoute, name: string): PveParam | undefined {
  if (Object.hasOwn(route.params, name)) return route.params[name];
  const m = /^([a-z_-]+?)(\d+)$/.exec(name);
  if (!m || String(Number(m[2])) !== m[2]) return undefined;
  const family = route.params[`${m[1]}[n]`];
  return family && Number(m[2]) <= family.max! ? family : undefined;
}

/** Names a numbered-family pattern of the lab accepts: its words followed by 0…300. */
function patternNames(re: RegExp): string[] {
  const words = new Set(re.source.match(/[a-z][a-z_-]*[a-z]/g) ?? []);
  const names: string[] = [];
  for (const w of words) for (let i = 0; i <= 300; i++) if (re.test(`${w}${i}`)) names.push(`${w}${i}`);
  return names;
}

/** Differences between the lab's routes and Proxmox's list, one line each. */
function differences(routes: Route[], list: PveRoute[]): string[] {
  const problems: string[] = [];
  for (const route of routes) {
    const where = `${route.method} ${route.path}`;
    const pve = list.find((r) => r.method === route.method && r.path === route.path);
    if (!pve) {
      problems.push(`${where}: Proxmox VE has no such route`);
      continue;
    }
    const pathParams = new Set([...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!));
    for (const p of pathParams) if (!pveParam(pve, p)) problems.push(`${where}: path parameter '${p}' is not Proxmox's`);
    const check = (name: string, type: string, required: boolean) => {
      const p = pveParam(pve, name);
      if (!p) return problems.push(`${where}: parameter '${name}' is not one Proxmox VE takes`);
      if (p.type !== type) problems.push(`${where}: '${name}' is ${type}, Proxmox's is ${p.type}`);
      if (!pathParams.has(name) && !!p.required !== required)
        problems.push(
          `${where}: '${name}' is ${required ? "required" : "optional"}, Proxmox's is ${p.required ? "required" : "optional"}`,
        );
      return undefined;
    };
    for (const [name, s] of Object.entries(route.schema)) check(name, s.type, !s.optional);
    for (const [re, s] of route.patterns ?? []) {
      const names = patternNames(re);
      if (!names.length) problems.push(`${where}: pattern ${re.source} accepts no numbered name`);
      for (const name of names) check(name, s.type, !s.optional);
    }
    for (const [name, p] of Object.entries(pve.params))
      if (p.required && !Object.hasOwn(route.schema, name)) problems.push(`${where}: Proxmox's required '${name}' is not taken`);
  }
  for (const r of list)
    if (!routes.some((x) => x.method === r.method && x.path === r.path))
      problems.push(`${r.method} ${r.path}: listed but not served (the list is of the routes the lab serves)`);
  return problems;
}

const dir = mkdtempSync(join(tmpdir(), "phoenix-lab-params-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function servedRoutes(): Route[] {
  const ctx: ApiContext = {
    node: "pve",
    backend: new MemoryBackend(),
    tasks: new TaskManager("pve"),
    locks: new Map(),
    macPrefix: "BC:24:11",
    version: { version: "8.4.1", release: "8.4", repoid: "2a5fa54a8503f96d" },
  };
  return labRouter(ctx, new Authenticator([{ id: "root@pam!t", secret: "s" }]), { stateDir: dir }).all();
}

describe("the lab's routes against Proxmox VE's API definitions", () => {
  it("serves only routes Proxmox has, each taking only Proxmox's parameters with Proxmox's types and required flags", () => {
    const routes = servedRoutes();
    expect(differences(routes, LIST.routes)).toEqual([]);
  });

  it("catches a typo'd parameter, a wrong type or flag, a family beyond Proxmox's range and a route Proxmox lacks", () => {
    const pve: PveRoute[] = [
      {
        method: "POST",
        path: "/nodes/{node}/qemu/{vmid}/status/shutdown",
        params: {
          node: { type: "string", required: true },
          vmid: { type: "integer", required: true },
          skiplock: { type: "boolean" },
          timeout: { type: "integer" },
          "net[n]": { type: "string", max: 31 },
        },
      },
    ];
    const route = (path: string, schema: Route["schema"], patterns?: Route["patterns"]): Route => ({
      method: "POST",
      path,
      schema,
      ...(patterns ? { patterns } : {}),
      handler: () => null,
    });
    const base = { node: { type: "string" }, vmid: { type: "integer" } } as const;
    const problems = differences(
      [
        route(
          "/nodes/{node}/qemu/{vmid}/status/shutdown",
          { ...base, skipLock: { type: "boolean", optional: true }, timeout: { type: "string" } },
          [[/^net(\d|[1-3]\d)$/, { type: "string", optional: true }]],
        ),
        route("/nodes/{node}/qemu/{vmid}/status/hibernate", base),
      ],
      pve,
    );
    expect(problems).toEqual([
      "POST /nodes/{node}/qemu/{vmid}/status/shutdown: parameter 'skipLock' is not one Proxmox VE takes",
      "POST /nodes/{node}/qemu/{vmid}/status/shutdown: 'timeout' is string, Proxmox's is integer",
      "POST /nodes/{node}/qemu/{vmid}/status/shutdown: 'timeout' is required, Proxmox's is optional",
      ...[32, 33, 34, 35, 36, 37, 38, 39].map(
        (n) => `POST /nodes/{node}/qemu/{vmid}/status/shutdown: parameter 'net${n}' is not one Proxmox VE takes`,
      ),
      "POST /nodes/{node}/qemu/{vmid}/status/hibernate: Proxmox VE has no such route",
    ]);
  });
});
