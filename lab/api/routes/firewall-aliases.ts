// …/firewall/aliases (datacenter and guests): named addresses or networks rules refer to, as Aliases.pm keeps them.
import { type FwAlias, fwDigest } from "../../pve/firewall-config";
import { ipVersion } from "../../pve/firewall-rules";
import type { ApiContext } from "../context";
import { fail, paramError } from "../errors";
import { COMMENT, DIGEST, FW_NAME, type FwLevel, RENAME, assertDigest, changeFw, readFw } from "../firewall-level";
import type { Route } from "../router";

const CIDR = { type: "string", maxLength: 64 } as const;

function checkCidr(cidr: string): number {
  const v = cidr.includes("-") ? undefined : ipVersion(cidr);
  if (!v) throw paramError({ cidr: `invalid format - value does not look like a valid IP address or CIDR network\n` });
  return v;
}

function aliasJson(a: FwAlias, digest: string) {
  return { name: a.name, cidr: a.cidr, ...(a.comment ? { comment: a.comment } : {}), ipversion: ipVersion(a.cidr), digest };
}

export function firewallAliasRoutes(ctx: ApiContext, level: FwLevel): Route[] {
  const path = `${level.base}/aliases`;
  const find = (aliases: Record<string, FwAlias>, name: string) => {
    const a = aliases[name.toLowerCase()];
    if (!a) throw fail(`no such alias '${name}'`);
    return a;
  };
  return [
    {
      method: "GET",
      path,
      schema: { ...level.pathSchema },
      handler: async ({ params }) => {
        const fw = await readFw(ctx, await level.file(params));
        const digest = fwDigest(fw.aliases);
        return Object.keys(fw.aliases)
          .sort()
          .map((k) => aliasJson(fw.aliases[k]!, digest));
      },
    },
    {
      method: "POST",
      path,
      schema: { ...level.pathSchema, name: FW_NAME, cidr: CIDR, comment: COMMENT },
      handler: async ({ params }) => {
        checkCidr(params.cidr!);
        await changeFw(ctx, await level.file(params), (fw) => {
          const key = params.name!.toLowerCase();
          if (fw.aliases[key]) throw fail(`alias '${params.name}' already exists`);
          fw.aliases[key] = { name: params.name!, cidr: params.cidr!, ...(params.comment ? { comment: params.comment } : {}) };
        });
        return null;
      },
    },
    {
      method: "GET",
      path: `${path}/{name}`,
      schema: { ...level.pathSchema, name: FW_NAME },
      handler: async ({ params }) => {
        const fw = await readFw(ctx, await level.file(params));
        return aliasJson(find(fw.aliases, params.name!), fwDigest(fw.aliases));
      },
    },
    {
      method: "PUT",
      path: `${path}/{name}`,
      schema: { ...level.pathSchema, name: FW_NAME, cidr: CIDR, comment: COMMENT, digest: DIGEST, rename: RENAME },
      handler: async ({ params }) => {
        checkCidr(params.cidr!);
        await changeFw(ctx, await level.file(params), (fw) => {
          assertDigest(fw.aliases, params.digest);
          const old = find(fw.aliases, params.name!);
          let name = old.name;
          if (params.rename && params.rename.toLowerCase() !== old.name.toLowerCase()) {
            if (fw.aliases[params.rename.toLowerCase()]) throw fail(`alias '${params.rename}' already exists`);
            delete fw.aliases[old.name.toLowerCase()];
            name = params.rename;
          }
          const comment = params.comment ?? old.comment;
          fw.aliases[name.toLowerCase()] = { name, cidr: params.cidr!, ...(comment ? { comment } : {}) };
        });
        return null;
      },
    },
    {
      method: "DELETE",
      path: `${path}/{name}`,
      schema: { ...level.pathSchema, name: FW_NAME, digest: DIGEST },
      handler: async ({ params }) => {
        await changeFw(ctx, await level.file(params), (fw) => {
          assertDigest(fw.aliases, params.digest);
          delete fw.aliases[params.name!.toLowerCase()];
        });
        return null;
      },
    },
  ];
}
