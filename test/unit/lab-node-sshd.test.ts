// Which nodes of a lab cluster get an sshd of their own, on which port (two on one loopback port refused, naming the
// field), and what a node's sessions are told about the node they are on.
import { describe, expect, it } from "vitest";
import { sshdConfig } from "../../lab/host/sshd";
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
