// …/firewall/ipset (datacenter and guests): named sets of addresses and networks (entries may be `nomatch`
// exceptions or aliases), created, renamed, filled and emptied as IPSet.pm does.
import { type FwFile, fwDigest } from "../../pve/firewall-config";
import { ipVersion, reference } from "../../pve/firewall-rules";
import type { ApiContext } from "../context";
import { fail, paramError } from "../errors";
import { COMMENT, DIGEST, FW_NAME, type FwLevel, RENAME, assertDigest, changeFw, readFw } from "../firewall-level";
import type { Route } from "../router";

const CIDR = { type: "string", maxLength: 64 } as const;
const NOMATCH = { type: "boolean", optional: true } as const;

function set(fw: FwFile, name: string) {
  const entries = fw.ipset[name];
  if (!entries) throw fail(`no such IPSet '${name}'`);
  return entries;
}

function checkEntry(cidr: string, fw: FwFile, cluster: FwFile) {
  if (ipVersion(cidr) && !cidr.includes("-")) return;
  const ref = reference(cidr);
  if (ref?.kind === "alias" && (cluster.aliases[ref.name.toLowerCase()] || fw.aliases[ref.name.toLowerCase()])) return;
  if (ref?.kind === "alias") throw fail(`no such alias '${cidr}'`);
  throw paramError({ cidr: "invalid format - value does not look like a valid IP address or CIDR network\n" });
}

export function firewallIpsetRoutes(ctx: ApiContext, level: FwLevel): Route[] {
  return [...ipsetRoutes(ctx, level), ...ipsetEntryRoutes(ctx, level)];
}

/** The sets: list, create or rename, read one's entries, delete. */
function ipsetRoutes(ctx: ApiContext, level: FwLevel): Route[] {
  const path = `${level.base}/ipset`;
  return [
    {
      method: "GET",
      path,
      schema: { ...level.pathSchema },
      handler: async ({ params }) => {
        const fw = await readFw(ctx, await level.file(params));
        const digest = fwDigest(fw.ipset);
        return Object.keys(fw.ipset)
          .sort()
          .map((name) => ({ name, ...(fw.ipsetComments[name] ? { comment: fw.ipsetComments[name] } : {}), digest }));
      },
    },
    {
      method: "POST",
      path,
      schema: { ...level.pathSchema, name: FW_NAME, comment: COMMENT, digest: DIGEST, rename: RENAME },
      handler: async ({ params }) => {
        await changeFw(ctx, await level.file(params), (fw) => {
          assertDigest(fw.ipset, params.digest);
          const { name, rename } = params as { name: string; rename?: string };
          if (rename) {
            if (!fw.ipset[rename]) throw fail(`IPSet '${rename}' does not exist`);
            if (rename !== name) {
              if (fw.ipset[name]) throw fail(`IPSet '${name}' already exists`);
              fw.ipset[name] = fw.ipset[rename]!;
              delete fw.ipset[rename];
              if (fw.ipsetComments[rename] !== undefined) fw.ipsetComments[name] = fw.ipsetComments[rename]!;
              delete fw.ipsetComments[rename];
            }
          } else {
            if (fw.ipset[name]) throw fail(`IPSet '${name}' already exists`);
            fw.ipset[name] = [];
          }
          if (params.comment !== undefined) fw.ipsetComments[name] = params.comment;
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
        const entries = set(fw, params.name!);
        const digest = fwDigest(entries);
        return entries.map((e) => ({
          cidr: e.cidr,
          ...(e.nomatch ? { nomatch: 1 } : {}),
          ...(e.comment ? { comment: e.comment } : {}),
          digest,
        }));
      },
    },
    {
      method: "DELETE",
      path: `${path}/{name}`,
      schema: { ...level.pathSchema, name: FW_NAME, force: { type: "boolean", optional: true } },
      handler: async ({ params }) => {
        await changeFw(ctx, await level.file(params), (fw) => {
          const entries = fw.ipset[params.name!];
          if (!entries) return;
          if (entries.length && params.force !== "1") throw fail(`IPSet '${params.name}' is not empty`);
          delete fw.ipset[params.name!];
          delete fw.ipsetComments[params.name!];
        });
        return null;
      },
    },
  ];
}

/** A set's entries: add, read, change, remove. */
function ipsetEntryRoutes(ctx: ApiContext, level: FwLevel): Route[] {
  const path = `${level.base}/ipset`;
  return [
    {
      method: "POST",
      path: `${path}/{name}`,
      schema: { ...level.pathSchema, name: FW_NAME, cidr: CIDR, nomatch: NOMATCH, comment: COMMENT },
      handler: async ({ params }) => {
        await changeFw(ctx, await level.file(params), (fw, cluster) => {
          const entries = set(fw, params.name!);
          checkEntry(params.cidr!, fw, cluster);
          if (entries.some((e) => e.cidr === params.cidr)) throw fail(`entry '${params.cidr}' already exists`);
          entries.push({
            cidr: params.cidr!,
            ...(params.nomatch === "1" ? { nomatch: true } : {}),
            ...(params.comment ? { comment: params.comment } : {}),
          });
        });
        return null;
      },
    },
    {
      method: "GET",
      path: `${path}/{name}/{cidr}`,
      schema: { ...level.pathSchema, name: FW_NAME, cidr: CIDR },
      handler: async ({ params }) => {
        const fw = await readFw(ctx, await level.file(params));
        const entries = set(fw, params.name!);
        const e = entries.find((x) => x.cidr === params.cidr);
        if (!e) throw fail(`no such IP/Network '${params.cidr}'`);
        return {
          cidr: e.cidr,
          ...(e.nomatch ? { nomatch: 1 } : {}),
          ...(e.comment ? { comment: e.comment } : {}),
          digest: fwDigest(entries),
        };
      },
    },
    {
      method: "PUT",
      path: `${path}/{name}/{cidr}`,
      schema: { ...level.pathSchema, name: FW_NAME, cidr: CIDR, nomatch: NOMATCH, comment: COMMENT, digest: DIGEST },
      handler: async ({ params }) => {
        await changeFw(ctx, await level.file(params), (fw) => {
          const entries = set(fw, params.name!);
          assertDigest(entries, params.digest);
          const i = entries.findIndex((x) => x.cidr === params.cidr);
          if (i < 0) throw fail(`no such IP/Network '${params.cidr}'`);
          const comment = params.comment ?? entries[i]!.comment;
          entries[i] = {
            cidr: params.cidr!,
            ...(params.nomatch === "1" ? { nomatch: true } : {}),
            ...(comment ? { comment } : {}),
          };
        });
        return null;
      },
    },
    {
      method: "DELETE",
      path: `${path}/{name}/{cidr}`,
      schema: { ...level.pathSchema, name: FW_NAME, cidr: CIDR, digest: DIGEST },
      handler: async ({ params }) => {
        await changeFw(ctx, await level.file(params), (fw) => {
          const entries = set(fw, params.name!);
          assertDigest(entries, params.digest);
          const i = entries.findIndex((x) => x.cidr === params.cidr);
          if (i >= 0) entries.splice(i, 1);
        });
        return null;
      },
    },
  ];
}
