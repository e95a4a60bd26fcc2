// Which nodes of a lab cluster get an sshd of their own, on which port (two on one loopback port refused, naming the
// field), what a node's sessions are told about the node they are on and see at /etc/pve, and what `lab up` and
// `lab status` say of each node.
import { describe, expect, it } from "vitest";
import { upSummary } from "../../lab/cli";
import { clusterNodeNames, etcPveView } from "../../lab/etc-pve-view";
import { etcPveMounts } from "../../lab/host/etc-pve-mounts";
import { sshdConfig } from "../../lab/host/sshd";
import { nodeStatuses } from "../../lab/node-status";
import { extraNodeSsh } from "../../lab/node-sshd";

const node = (name: string, port?: number) => ({
  name,
  ...(port === undefined ? {} : { ssh: { host: "127.0.0.1", port, user: "root" } }),
});
const nodes = (...n: ReturnType<typeof node>[]) => ({ nodes: n }) as unknown as Parameters<typeof extraNodeSsh>[0];

describe("extraNodeSsh", () => {
  it("gives every node beyond the first that has SSH its own sshd, on its own port", () => {
    expect(extraNodeSsh(nodes(node("lab", 8022), node("lab2", 8023), node("lab3"), node("lab4", 8024)), 8022)).toEqual([
      { node: "lab2", port: 8023 },
      { node: "lab4", port: 8024 },
    ]);
    expect(extraNodeSsh(nodes(node("lab", 8022)), 8022)).toEqual([]);
  });

  it("refuses a port another node's sshd has, naming the field, the node and the fix", () => {
    // the first node's port is the lab's (it may differ from the definition's: the caller's sshPort wins)
    expect(() => extraNodeSsh(nodes(node("lab", 22), node("lab2", 9000)), 9000)).toThrow(
      "nodes[1].ssh.port: 9000 is lab's SSH port already; the lab runs each node's sshd on 127.0.0.1, so give 'lab2' a port of its own",
    );
    expect(() => extraNodeSsh(nodes(node("lab", 8022), node("lab2", 8030), node("lab3", 8030)), 8022)).toThrow(
      /^nodes\[2\]\.ssh\.port: 8030 is lab2's SSH port already/,
    );
  });
});

describe("a node sshd's sessions", () => {
  it("name their lab, and the node when it is not the first", () => {
    const base = { port: 8023, dir: "/s/nodes/lab2/ssh", labDir: "/s" };
    expect(sshdConfig({ ...base, node: "lab2" })).toMatch(
      /^SetEnv PHOENIX_LAB_DIR=\/s PATH=\/s\/bin:\S+ PHOENIX_LAB_NODE=lab2$/m,
    );
    expect(sshdConfig(base)).not.toContain("PHOENIX_LAB_NODE");
  });
});

describe("a node's /etc/pve", () => {
  it("is the cluster's, every node's configs under nodes/<node>/lxc, its own again at lxc and local", () => {
    const cluster = ["pve1", "pve2", "pve3"];
    const view = etcPveView("/s", cluster, "pve2");
    expect(view).toEqual({
      dir: "/s/pve",
      binds: [
        { at: "nodes/pve1/lxc", source: "/s/pve/lxc" },
        { at: "nodes/pve2/lxc", source: "/s/nodes/pve2/pve/lxc" },
        { at: "nodes/pve3/lxc", source: "/s/nodes/pve3/pve/lxc" },
      ],
      aliases: [
        { at: "lxc", of: "nodes/pve2/lxc" },
        { at: "local", of: "nodes/pve2" },
      ],
    });
    // the first node's own configs are the cluster directory's lxc/, shown at nodes/pve1/lxc and lxc alike
    expect(etcPveView("/s", cluster, "pve1").aliases).toEqual([
      { at: "lxc", of: "nodes/pve1/lxc" },
      { at: "local", of: "nodes/pve1" },
    ]);
    // a single node sees itself under nodes/ too, its configs where they always were
    expect(etcPveView("/s", ["lab"], "lab").binds).toEqual([{ at: "nodes/lab/lxc", source: "/s/pve/lxc" }]);
    expect(clusterNodeNames({ node: "pve1", nodes: [{ node: "pve2" }] })).toEqual(["pve1", "pve2"]);
    expect(clusterNodeNames({ nodes: [{ name: "pve1" }, { name: "pve2" }] })).toEqual(["pve1", "pve2"]);
  });

  it("is mounted private, the cluster's files first, then each node's configs, then the own node's aliases", () => {
    expect(etcPveMounts(etcPveView("/s/it's", ["pve1", "pve2"], "pve2"))).toEqual([
      "mount --bind '/s/it'\\''s/pve' /etc/pve",
      "mount --make-private /etc/pve",
      "mount --bind '/s/it'\\''s/pve/lxc' '/etc/pve/nodes/pve1/lxc'",
      "mount --bind '/s/it'\\''s/nodes/pve2/pve/lxc' '/etc/pve/nodes/pve2/lxc'",
      "mount --rbind '/etc/pve/nodes/pve2/lxc' '/etc/pve/lxc'",
      "mount --rbind '/etc/pve/nodes/pve2' '/etc/pve/local'",
      "mount --make-rprivate /etc/pve",
    ]);
    // a lab without a cluster view: its configs alone, as before
    expect(etcPveMounts({ dir: "/s/pve" })).toEqual([
      "mount --bind '/s/pve' /etc/pve",
      "mount --make-private /etc/pve",
      "mount --make-rprivate /etc/pve",
    ]);
  });
});

describe("lab status of a cluster", () => {
  it("lists every node with its sshd's port and the containers of its own state directory", () => {
    const held: Record<string, { vmid: number; state: string }[]> = {
      "/s": [{ vmid: 100, state: "running" }],
      "/s/nodes/pve2": [{ vmid: 250, state: "stopped" }],
      "/s/nodes/pve3": [],
    };
    const nodes = nodeStatuses(
      "/s",
      {
        sshPort: 8022,
        nodeSsh: [{ node: "pve2", port: 8023 }],
        api: {
          node: "pve1",
          nodes: [
            { node: "pve2", storages: [] },
            { node: "pve3", storages: [] },
          ],
        },
      },
      (dir) => held[dir]!,
      (dir) => (dir === "/s" ? [{ vmid: 900, state: "stopped" }] : []),
    );
    expect(nodes).toEqual([
      {
        node: "pve1",
        ssh: { port: 8022 },
        containers: [{ vmid: 100, state: "running" }],
        vms: [{ vmid: 900, state: "stopped" }],
      },
      { node: "pve2", ssh: { port: 8023 }, containers: [{ vmid: 250, state: "stopped" }] },
      { node: "pve3", containers: [] },
    ]);
  });

  it("`lab up` says how to reach every node's sshd", () => {
    const up = {
      stateDir: "/s",
      sshPort: 8022,
      nodes: [{ node: "pve2", sshPort: 8023, sshHostKey: "k" }],
      apiUrl: "https://127.0.0.1:8006",
      apiFingerprint: "AB:CD",
    } as Parameters<typeof upSummary>[0];
    expect(upSummary(up).split("\n")).toEqual([
      "lab is up (/s): node ssh root@127.0.0.1 -p 8022 -i /s/ssh/client_ed25519",
      "node pve2: ssh root@127.0.0.1 -p 8023 (the same key)",
      "API https://127.0.0.1:8006, certificate fingerprint (nodes[].api.fingerprint) AB:CD",
    ]);
  });
});
