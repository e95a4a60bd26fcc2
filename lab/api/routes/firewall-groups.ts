// /cluster/firewall/groups: security groups (create, rename, comment, delete when empty) and their rules by position.
import { type FwRule, fwDigest } from "../../pve/firewall-config";
import type { ApiContext } from "../context";
import { fail } from "../errors";
import { CLUSTER_FW, COMMENT, DIGEST, FW_NAME, RENAME, assertDigest, changeFw, readFw } from "../firewall-level";
import type { Route } from "../router";
import { ruleRoutes } from "./firewall-rules";

const GROUP = { ...FW_NAME, maxLength: 18 } as const;

export function firewallGroupRoutes(ctx: ApiContext): Route[] {
  const groupList = (groups: Record<string, FwRule[]>, comments: Record<string, string>) => {
    const digest = fwDigest(groups);
    return Object.keys(groups)
      .sort()
      .map((group) => ({ group, ...(comments[group] ? { comment: comments[group] } : {}), digest }));
  };
  return [
    {
      method: "GET",
      path: "/cluster/firewall/groups",
      schema: {},
      handler: async () => {
        const fw = await readFw(ctx, CLUSTER_FW);
        return groupList(fw.groups, fw.groupComments);
      },
    },
    {
      method: "POST",
      path: "/cluster/firewall/groups",
      schema: { group: GROUP, comment: COMMENT, digest: DIGEST, rename: RENAME },
      handler: async ({ params }) => {
        await changeFw(ctx, CLUSTER_FW, (fw) => {
          assertDigest(fw.groups, params.digest);
          const { group, rename } = params;
          if (rename) {
            if (!fw.groups[rename]) throw fail(`Security group '${rename}' does not exist`);
            if (rename !== group) {
              if (fw.groups[group!]) throw fail(`Security group '${group}' already exists`);
              fw.groups[group!] = fw.groups[rename]!;
              delete fw.groups[rename];
              if (fw.groupComments[rename] !== undefined) fw.groupComments[group!] = fw.groupComments[rename]!;
              delete fw.groupComments[rename];
            }
          } else {
            if (fw.groups[group!]) throw fail(`Security group '${group}' already exists`);
            fw.groups[group!] = [];
          }
          if (params.comment !== undefined) fw.groupComments[group!] = params.comment;
        });
        return null;
      },
    },
    {
      method: "DELETE",
      path: "/cluster/firewall/groups/{group}",
      schema: { group: GROUP },
      handler: async ({ params }) => {
        await changeFw(ctx, CLUSTER_FW, (fw) => {
          const rules = fw.groups[params.group!];
          if (!rules) throw fail(`no such security group '${params.group}'`);
          if (rules.length) throw fail(`Security group '${params.group}' is not empty`);
          delete fw.groups[params.group!];
          delete fw.groupComments[params.group!];
        });
        return null;
      },
    },
    ...ruleRoutes(ctx, {
      path: "/cluster/firewall/groups/{group}",
      env: "group",
      pathSchema: { group: GROUP },
      file: async () => CLUSTER_FW,
      rules: (fw, p) => {
        const rules = fw.groups[p.group!];
        if (!rules) throw fail(`no such security group '${p.group}'`);
        return rules;
      },
    }),
  ];
}
