// Bad definitions, Proxmox HA (validate/ha.ts): nodes the definition has, its own node first, a state `up` does not
// fight, and the warnings where HA cannot do what it promises (one node; GPUs and bind mounts stay on theirs).
import { describe, expect } from "vitest";
import { type Case, type Raw, gpuGuest, lxc, runCases } from "./support";

/** A second node, pve2 (no GPUs, no datasets), with every machine pinned to `lab` so placement changes nothing. */
function twoNodes(d: Raw) {
  d.nodes.push({ ...d.nodes[0], name: "pve2", gpus: [], nvidia: undefined, zfs: { pools: [], datasets: [] } });
  for (const m of [...d.templates, ...d.guests]) m.node = "lab";
}
/** guests[2]: a plain container on `lab` with `ha`. */
const haGuest = (d: Raw, ha: Raw, extra: Raw = {}) => d.guests.push(lxc(230, "web", { node: "lab", ha, ...extra }));

const cases: Case[] = [
  {
    name: "ha on a guest of a two-node cluster, with its node first and another after, is valid",
    mutate: (d) => {
      twoNodes(d);
      haGuest(d, { nodes: ["lab", "pve2"], maxRestart: 2, maxRelocate: 0, comment: "web front" });
    },
    expect: [],
  },
  {
    name: "ha naming only another node is valid: its own node is added first",
    mutate: (d) => {
      twoNodes(d);
      haGuest(d, { nodes: ["pve2"] });
    },
    expect: [],
  },
  {
    name: "ha on a one-node cluster",
    mutate: (d) => haGuest(d, {}),
    expect: [
      {
        severity: "warning",
        path: "guests[2].ha",
        message: "a one-node cluster: HA can restart 'web' but has no other node to recover it on",
        fix: "add a node",
      },
    ],
  },
  {
    name: "ha.nodes names a node the definition lacks",
    mutate: (d) => {
      twoNodes(d);
      haGuest(d, { nodes: ["lab", "pve9"] });
    },
    expect: [{ path: "guests[2].ha.nodes[1]", message: "no node 'pve9' in this definition", fix: "use one of: lab, pve2" }],
  },
  {
    name: "ha.nodes lists a node twice",
    mutate: (d) => {
      twoNodes(d);
      haGuest(d, { nodes: ["lab", "pve2", "pve2"] });
    },
    expect: [{ path: "guests[2].ha.nodes[2]", message: "node 'pve2' is listed twice" }],
  },
  {
    name: "ha.nodes puts another node before the guest's own",
    mutate: (d) => {
      twoNodes(d);
      haGuest(d, { nodes: ["pve2", "lab"] });
    },
    expect: [
      {
        path: "guests[2].ha.nodes",
        message: "'web' runs on 'lab' but lists 'pve2' first: HA would move it there and the next up back",
        fix: "list 'lab' first, or set node to 'pve2'",
      },
    ],
  },
  {
    name: "ha.state stopped",
    mutate: (d) => {
      twoNodes(d);
      haGuest(d, { state: "stopped" });
    },
    expect: [
      { path: "guests[2].ha.state", message: "HA would keep 'web' stopped while up starts it: each would undo the other" },
    ],
  },
  {
    name: "ha on a guest with bind mounts, free to recover anywhere",
    mutate: (d) => {
      twoNodes(d);
      d.guests[1].ha = {};
    },
    expect: [
      {
        severity: "warning",
        path: "guests[1].ha",
        message: "HA cannot recover 'data' on another node: its bind mounts of the node's datasets and paths stay on 'lab'",
        fix: "set ha.nodes: [lab] and ha.strict: true to restart it only there",
      },
    ],
  },
  {
    name: "ha on a guest with bind mounts, kept strictly on its node, is valid",
    mutate: (d) => {
      twoNodes(d);
      d.guests[1].ha = { nodes: ["lab"], strict: true };
    },
    expect: [],
  },
  {
    name: "ha on a GPU guest",
    mutate: (d) => {
      twoNodes(d);
      d.guests.push(gpuGuest({ node: "lab", ha: { state: "started" } }));
    },
    expect: [
      {
        severity: "warning",
        path: "guests[2].ha",
        message: "HA cannot recover 'llm' on another node: its GPUs stay on 'lab'",
      },
    ],
  },
  {
    name: "a spread group with more HA guests than nodes",
    mutate: (d) => {
      twoNodes(d);
      for (const [i, n] of ["w1", "w2", "w3"].entries()) d.guests.push(lxc(240 + i, n, { spread: "web", ha: {} }));
    },
    expect: [
      {
        severity: "warning",
        path: "guests[2].ha",
        message:
          "spread group 'web': HA guests 'w1', 'w2', 'w3' share node 'lab', so no HA rule keeps the group apart (HA would move one away, and the next up back)",
        fix: "add a node or free room on one, so that placement keeps them apart",
      },
      // placement could not keep them apart either (validate/placement.ts)
      { severity: "warning", path: "guests[3].spread", message: expect.stringContaining("of spread group 'web'") },
      { severity: "warning", path: "guests[4].spread", message: expect.stringContaining("of spread group 'web'") },
    ],
  },
  {
    name: "a spread pair apart on two nodes is valid; a member listing other nodes is told its order is not kept",
    mutate: (d) => {
      twoNodes(d);
      d.guests.push(lxc(240, "w1", { node: "lab", spread: "web", ha: { nodes: ["lab", "pve2"] } }));
      d.guests.push(lxc(241, "w2", { node: "pve2", spread: "web", ha: {} }));
    },
    expect: [
      {
        severity: "warning",
        path: "guests[2].ha.nodes",
        message:
          "'w1' is in spread group 'web', which HA keeps apart, and Proxmox takes no node priorities beside that rule: its nodes are equals (HA leaves it on its own while that node is up)",
      },
    ],
  },
  {
    name: "ha.state that Proxmox does not have",
    mutate: (d) => {
      twoNodes(d);
      haGuest(d, { state: "running" });
    },
    expect: [{ path: "guests[2].ha.state", message: expect.stringContaining("started") }],
  },
  {
    name: "ha.maxRestart below zero, and a field HA does not have",
    mutate: (d) => {
      twoNodes(d);
      haGuest(d, { maxRestart: -1, group: "g1" });
    },
    expect: [
      { path: "guests[2].ha.maxRestart", message: "Too small: expected number to be >=0" },
      { path: "guests[2].ha.group", message: "unknown field 'group'" },
    ],
  },
];

describe("validate: ha", () => runCases(cases, 14));
