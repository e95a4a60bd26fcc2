// The datacenter's and the node's firewall API: /cluster/firewall/{options,rules,groups,aliases,ipset} and
// /nodes/{node}/firewall/{options,rules}, kept in /etc/pve/firewall/cluster.fw and /etc/pve/nodes/<node>/host.fw.
import type { ApiContext } from "../context";
import { clusterLevel, nodeLevel } from "../firewall-level";
import type { Route } from "../router";
import { firewallAliasRoutes } from "./firewall-aliases";
import { firewallGroupRoutes } from "./firewall-groups";
import { firewallIpsetRoutes } from "./firewall-ipset";
import { CLUSTER_OPTIONS, HOST_OPTIONS, firewallOptionRoutes } from "./firewall-options";
import { levelRules, ruleRoutes } from "./firewall-rules";

export function firewallClusterRoutes(ctx: ApiContext): Route[] {
  const cluster = clusterLevel();
  return [
    ...firewallOptionRoutes(ctx, cluster, CLUSTER_OPTIONS),
    ...ruleRoutes(ctx, levelRules(cluster)),
    ...firewallGroupRoutes(ctx),
    ...firewallAliasRoutes(ctx, cluster),
    ...firewallIpsetRoutes(ctx, cluster),
    ...firewallOptionRoutes(ctx, nodeLevel(ctx), HOST_OPTIONS),
    ...ruleRoutes(ctx, levelRules(nodeLevel(ctx))),
  ];
}
