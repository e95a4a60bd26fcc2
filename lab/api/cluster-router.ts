// The lab's nodes behind one API, as any node of a Proxmox cluster answers for all (pveproxy proxies a
// /nodes/{node}/… call to that node): a call naming a node goes to that node's routes, everything else
// (/cluster, /nodes, /version, /access, a node no one has) to the first node's, which answer for the cluster.
import { type Match, Router } from "./router";

export class ClusterRouter extends Router {
  constructor(
    private readonly byNode: Map<string, Router>,
    private readonly first: Router,
  ) {
    super();
  }

  override match(method: string, segments: string[]): Match | undefined {
    const named = segments[0] === "nodes" && segments.length > 1 ? this.byNode.get(segments[1]!) : undefined;
    return (named ?? this.first).match(method, segments);
  }

  override all() {
    return this.first.all();
  }

  override list() {
    return this.first.list();
  }
}
