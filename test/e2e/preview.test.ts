// `pulumi preview` of stacks/ai-host.yaml with the real engine, the built CLI and the proxmoxve
// plugin. The node's endpoint is pointed at a loopback port the test listens on, to prove preview
// talks to no server at all.
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildPlan } from "../../plan/plan";
import { loadDefinition } from "../../validate";
import { type PulumiProject, pulumiProject } from "../support/pulumi-project";
import { ROOT } from "../support/toolchain";

let project: PulumiProject;
let listener: Server;
let connections = 0;

beforeAll(
  async () => {
    listener = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
    const port = (listener.address() as { port: number }).port;
    project = await pulumiProject({
      stackName: "ai-host-preview",
      definitionFile: join(ROOT, "stacks", "ai-host.yaml"),
      // The node's address moves to loopback; its DNS server keeps listening on the node's bridge address.
      edit: (t) =>
        t
          .replace("https://10.0.0.13:8006/", `https://127.0.0.1:${port}/`)
          .replace("host: 10.0.0.13", "host: 127.0.0.1")
          .replace("dns: { node: pve }", "dns: { node: pve, listen: 10.0.0.13 }"),
      secrets: {
        proxmoxRootPassword: "preview-only",
        nodeSshKey: "not-a-key",
        hfToken: "hf_test",
        portainerAdminPassword: "test-password",
        guestSshPrivateKey: "not-a-key",
      },
    });
  },
  90 * 60 * 1000,
);

afterAll(async () => {
  await project?.cleanup();
  listener?.close();
});

it(
  "previews every resource of the plan as a create, without contacting any server",
  async () => {
    const def = loadDefinition(project.definition).definition!;
    const plan = buildPlan(def);
    const gpuMappings = new Set(plan.machines.filter((m) => m.type === "vm").flatMap((m) => m.gpus)).size;
    const lxcBases = plan.baseTemplates.filter((t) => t.type === "lxc").length;
    const datasets = plan.nodes.reduce((n, node) => n + node.datasets.length, 0);
    const goldenLxc = plan.machines.filter((m) => m.kind === "template" && m.type === "lxc").length;
    // In-guest provisioning: a step per feature a machine declares itself (AppArmor and raw LXC options as one
    // node-side step, also for a profile inherited from the template), a health step, one component per machine.
    const steps = plan.machines.map(
      (m) =>
        m.provisioners.filter((p) => p.feature !== "apparmor").length +
        (m.type === "lxc" && (m.features.apparmor !== undefined || m.lxcOptions.length > 0) ? 1 : 0) +
        (m.healthChecks.length > 0 ? 1 : 0),
    );
    const provisioning = steps.filter((n) => n > 0).length + steps.reduce((a, b) => a + b, 0);
    // Backups: a NodeBackups component per node, a barrier per node with machines, a guard per machine, the nodes'
    // scheduled jobs, and a lifecycle snapshot per machine that asks for one.
    const backups =
      plan.nodes.length +
      plan.nodes.filter((n) => plan.machines.some((m) => m.node === n.name)).length +
      plan.machines.length +
      plan.nodes.reduce((n, node) => n + (node.backupJobs?.length ?? 0), 0) +
      plan.machines.filter((m) => m.snapshots).length;
    // Stack + PhoenixHypervisor + a NodeHost and a provider per node + LxcTemplate per LXC base template
    // + a component and its resource per machine, GPU mapping and dataset + a freeze step per golden template
    // + an agent-registration step per Portainer server with agents + the destroy guard + a host-key pin per node
    // reached over SSH and per VM (the program's reference to its own stack is a read, not a create)
    // + per app and guest, a component with one step (deploy: compose) or two (the guest's files, the Portainer stack).
    const apps = plan.apps.reduce((n, a) => n + a.targets.length * (a.deploy === "compose" ? 2 : 3), 0);
    const pins = plan.nodes.filter((n) => n.ssh).length + plan.machines.filter((m) => m.type === "vm").length;
    // Network services: the datacenter firewall (a component, its aliases, IP sets, groups, rules when any, options),
    // a component per firewalled guest (rules when any, options), the DNS server (a component and its step), the
    // gateway (a component, its Caddy step, a CA step per guest that trusts it).
    const fw = plan.firewall;
    const dc = fw?.datacenter;
    const firewall =
      (dc ? 2 + (dc.rules.length > 0 ? 1 : 0) : 0) +
      (fw ? fw.aliases.length + fw.ipsets.length + fw.groups.length : 0) +
      (fw?.guests ?? []).reduce((n, g) => n + 2 + (g.rules.length > 0 ? 1 : 0), 0);
    const dns = plan.dns ? 2 : 0;
    const gateway = plan.gateway ? 2 + plan.gateway.trustedBy.length : 0;
    // A placement per guest container (its node; a node change migrates it): guests, not golden templates.
    const placements = plan.machines.filter((m) => m.type === "lxc" && m.kind === "guest").length;
    const expected =
      3 +
      pins +
      2 * plan.nodes.length +
      lxcBases +
      2 * (plan.machines.length + gpuMappings + datasets) +
      goldenLxc +
      provisioning +
      plan.portainer.length +
      apps +
      backups +
      firewall +
      dns +
      gateway +
      placements;

    const result = await project.stack.preview({ diff: false });
    expect(result.changeSummary.create).toBe(expected);
    expect(Object.keys(result.changeSummary)).toEqual(["create"]);
    expect(connections).toBe(0);
  },
  10 * 60 * 1000,
);

it(
  "stops before touching anything when the definition is invalid (up), naming the field and the fix",
  async () => {
    const bad = await pulumiProject({
      stackName: "invalid-preview",
      definitionFile: join(ROOT, "stacks", "ai-host.yaml"),
      edit: (t) =>
        t
          .replace("https://10.0.0.13:8006/", "https://127.0.0.1:1/")
          .replace("host: 10.0.0.13", "host: 127.0.0.1")
          .replace("vmid: 211", "vmid: 210"),
      secrets: {
        proxmoxRootPassword: "preview-only",
        nodeSshKey: "k",
        hfToken: "h",
        portainerAdminPassword: "p",
        guestSshPrivateKey: "k",
      },
    });
    try {
      // `up`, not preview: the state afterwards proves that nothing was created.
      const err = await bad.stack.up().then(
        () => undefined,
        (e: Error) => e.message,
      );
      expect(err).toContain("is invalid; nothing was touched");
      expect(err).toContain("error: guests[2].vmid: vmid 210 is already used by guests[1] (vllm-gpu0)");
      expect(err).toContain("fix: give each guest and template its own vmid");
      expect(err).not.toMatch(/\n\s+at .*\.ts:\d+/);
      const state = await bad.stack.exportStack();
      const types = ((state.deployment as { resources?: { type: string }[] }).resources ?? []).map((r) => r.type);
      expect(types.filter((t) => t !== "pulumi:pulumi:Stack")).toEqual([]);
    } finally {
      await bad.cleanup();
    }
  },
  10 * 60 * 1000,
);
