// Host keys in the resource graph (stacks/ai-host.yaml under Pulumi's mocks): one HostKeyPin per machine SSH reaches,
// whose key every SSH-driven resource of that machine takes, and which the Proxmox provider waits for.
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildPlan } from "../../plan/plan";
import { loadDefinition } from "../../validate";
import { type Registered, installRecordingMocks, settle } from "../support/pulumi-mocks";

const NODE_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnAxQKWnTj0PHJBc5D5ynHTrl7u1dDRT6Tgl9j7UyQ1";
const PIN = "pulumi-nodejs:dynamic/phoenix:HostKeyPin";
let records: Registered[];
const short = (urn: string) => urn.split("::").pop()!;
const named = (type: string, name: string) => records.find((r) => r.type === type && r.name === name)!;

beforeAll(async () => {
  records = await installRecordingMocks("host-keys");
  const { PhoenixHypervisor } = await import("../../components/phoenix-hypervisor");
  const pulumi = await import("@pulumi/pulumi");
  const raw = JSON.parse(JSON.stringify(loadDefinition(join(__dirname, "..", "..", "stacks", "ai-host.yaml")).definition));
  raw.nodes[0].ssh.hostKey = NODE_KEY;
  new PhoenixHypervisor("ai-host", {
    plan: buildPlan(raw),
    secret: (n) => pulumi.secret(`value-of-${n}`),
    definitionDir: join(__dirname, "..", "..", "stacks"),
  });
  await settle(records);
  // The whole graph of ai-host.yaml: seconds on a busy machine.
}, 60_000);

describe("host keys", () => {
  it("pins the node's key once, from the definition, and keeps it in the Proxmox provider's known_hosts", () => {
    const pins = records.filter((r) => r.type === PIN);
    expect(pins.map((r) => r.name).sort()).toEqual(["pve-host-key", "workstation-host-key"]);
    const node = named(PIN, "pve-host-key");
    expect(node.inputs["connection"]).toMatchObject({ host: "10.0.0.13", port: 22, user: "root", hostKey: NODE_KEY });
    expect(node.inputs["knownHosts"]).toBe(true);
    expect(named(PIN, "workstation-host-key").inputs["knownHosts"]).toBe(false);
    // The provider's SSH trusts $HOME/.ssh/known_hosts: the pin writes the key there first.
    expect(named("pulumi:providers:proxmoxve", "pve").dependencies.map(short)).toContain("pve-host-key");
  });

  it("every resource that connects to the node takes the node's pin; none records a key of its own first", () => {
    const nodeSide = records.filter(
      (r) =>
        (r.type === "pulumi-nodejs:dynamic/phoenix:RemoteScript" || r.type === "pulumi-nodejs:dynamic/phoenix:ZfsDataset") &&
        !r.name.startsWith("workstation-") &&
        r.name !== "gateway-ca-in-workstation",
    );
    expect(nodeSide.length).toBeGreaterThan(20);
    for (const r of nodeSide) {
      expect(r.dependencies.map(short), r.name).toContain("pve-host-key");
      // The agents' registration waits for every machine, the VM too, but connects to the server's node only.
      if (r.name !== "portainer-portainer-agents")
        expect(r.dependencies.map(short), r.name).not.toContain("workstation-host-key");
      // The key is an input of its own, not part of the connection (so a key not known yet hides nothing else).
      expect(r.inputs["connection"]?.hostKey, r.name).toBeUndefined();
      expect("hostKey" in r.inputs, r.name).toBe(true);
    }
  });

  it("a VM's steps take the VM's own pin, recorded after the VM exists and made anew with it", () => {
    const pin = named(PIN, "workstation-host-key");
    expect(pin.dependencies.map(short)).toEqual(["workstation"]);
    expect(pin.replaceWith.map(short)).toEqual(["workstation"]);
    const docker = named("pulumi-nodejs:dynamic/phoenix:RemoteScript", "workstation-docker");
    expect(pin.inputs["connection"]).toMatchObject({ host: docker.inputs["connection"].host, user: "phoenix" });
    // The gateway's CA goes into the VM over the VM's own SSH too.
    for (const step of ["workstation-docker", "workstation-portainer", "gateway-ca-in-workstation"])
      expect(named("pulumi-nodejs:dynamic/phoenix:RemoteScript", step).dependencies.map(short), step).toContain(
        "workstation-host-key",
      );
  });
});
