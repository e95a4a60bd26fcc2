// Routes of the lab API: method + path pattern (`/nodes/{node}/lxc/{vmid}/config`) → parameter schema
// and handler. Path parameters join the request's parameters before checking, as in Proxmox's schema.
import type { Identity } from "./auth";
import type { ParamSchema, Params, Schema } from "../pve/schema";

export interface Request {
  method: string;
  /** Path below /api2/json, decoded segment by segment. */
  path: string;
  params: Record<string, string>;
  arrays: Record<string, string[]>;
  identity: Identity;
}

export interface Route {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  /** Parameters the endpoint accepts (path parameters included); anything else is refused. */
  schema: ParamSchema;
  /** Families of numbered parameters (net0…net31): key pattern → schema. */
  patterns?: [RegExp, Schema][];
  /** Returns the response's `data`. */
  handler: (req: Request) => Promise<unknown> | unknown;
}

export interface Match {
  route: Route;
  pathParams: Params;
}

export class Router {
  private readonly routes: { route: Route; segments: string[] }[] = [];

  add(...routes: Route[]): void {
    for (const route of routes) this.routes.push({ route, segments: route.path.split("/").filter(Boolean) });
  }

  /** The route for a method and decoded path segments; undefined when none (→ 501). */
  match(method: string, segments: string[]): Match | undefined {
    for (const { route, segments: pattern } of this.routes) {
      if (route.method !== method || pattern.length !== segments.length) continue;
      const pathParams: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < pattern.length && ok; i++) {
        const p = pattern[i]!;
        const m = /^\{(.+)\}$/.exec(p);
        if (m) pathParams[m[1]!] = segments[i]!;
        else ok = p === segments[i];
      }
      if (ok) return { route, pathParams };
    }
    return undefined;
  }

  /** The routes, in the order they were added. */
  all(): Route[] {
    return this.routes.map(({ route }) => route);
  }

  list(): { method: string; path: string }[] {
    return this.routes.map(({ route }) => ({ method: route.method, path: route.path }));
  }
}
