// The resource graph for stacks/ai-host.yaml under Pulumi's unit-test mocks (wiring only: the
// end-to-end tests run the real engine against the lab).
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildPlan } from "../../plan/plan";
import { loadDefinition } from "../../validate";
import { type Registered, installRecordingMocks, settle, valueOf } from "../support/pulumi-mocks";

let records: Registered[];
let guests: Record<string, any>;
const byName = (type: string, name: string) => {
  const r = records.find((x) => x.type === type && x.name === name);
  if (!r) throw new Error(`no ${type} named ${name}; have ${records.map((x) => `${x.type}:${x.name}`).join(", ")}`);
  return r;
};

beforeAll(async () => {
  records = await installRecordingMocks("ai-host");
  const { PhoenixHypervisor } = await import("../../components/phoenix-hypervisor");
  const pulumi = await import("@pulumi/pulumi");
  const def = loadDefinition(join(__dirname, "..", "..", "stacks", "ai-host.yaml")).definition!;
  const hv = new PhoenixHypervisor("ai-host", {
    plan: buildPlan(def),
    secret: (n) => pulumi.secret(`value-of-${n}`),
    definitionDir: join(__dirname, "..", "..", "stacks"),
  });
  guests = await valueOf(hv.guests);
  await settle(records);
  // The whole graph of ai-host.yaml (apps included): seconds on a busy machine.
}, 60_000);

describe("PhoenixHypervisor on ai-host.yaml", () => {
  it("creates the expected resources, each named after the definition", () => {
    const summary = records.map((r) => `${r.type} ${r.name}`).sort();
    expect(summary).toEqual(
      [
        "phoenix:index:PhoenixHypervisor ai-host",
        "phoenix:index:NodeHost pve",
        "pulumi:providers:proxmoxve pve",
        "phoenix:index:LxcTemplate ubuntu-24.04-base",
        ...[
          "docker-golden",
          "nvidia-golden",
          "nvidia-docker-golden",
          "vllm-golden",
          "portainer",
          "vllm-gpu0",
          "vllm-gpu1",
          "vllm-dual",
          "ollama",
        ].flatMap((n) => [`phoenix:index:LxcContainer ${n}`, `proxmoxve:index/containerLegacy:ContainerLegacy ${n}`]),
        "phoenix:index:QemuVm workstation",
        "proxmoxve:index/vmLegacy:VmLegacy workstation",
        // One pinned host key per machine SSH reaches: the node, and the VM.
        "pulumi-nodejs:dynamic/phoenix:HostKeyPin pve-host-key",
        // each guest container's place in the cluster (a node change migrates it)
        ...["ollama", "portainer", "vllm-dual", "vllm-gpu0", "vllm-gpu1"].map(
          (g) => `pulumi-nodejs:dynamic/phoenix:GuestPlacement ${g}-placement`,
        ),
        "pulumi-nodejs:dynamic/phoenix:HostKeyPin workstation-host-key",
        ...["docker-golden", "nvidia-golden", "nvidia-docker-golden", "vllm-golden"].map(
          (t) => `pulumi-nodejs:dynamic/phoenix:RemoteScript ${t}-freeze`,
        ),
        // In-guest provisioning: one component per machine with features, one step per feature the machine
        // declares itself (a clone does not repeat its template's), node-side AppArmor first, health checks last.
        ...[
          "docker-golden",
          "nvidia-golden",
          "nvidia-docker-golden",
          "vllm-golden",
          "portainer",
          "vllm-gpu0",
          "vllm-gpu1",
          "vllm-dual",
          "workstation",
          "ollama",
        ].map((n) => `phoenix:index:GuestProvisioning ${n}`),
        ...[
          "docker-golden-docker",
          "nvidia-golden-nvidia",
          "nvidia-docker-golden-apparmor",
          "nvidia-docker-golden-docker",
          "nvidia-docker-golden-nvidia-container-toolkit",
          "vllm-golden-apparmor",
          "vllm-golden-vllm",
          "portainer-portainer",
          ...["vllm-gpu0", "vllm-gpu1", "vllm-dual"].flatMap((g) => [`${g}-apparmor`, `${g}-vllm`, `${g}-portainer`]),
          "vllm-gpu0-health",
          "workstation-docker",
          "workstation-portainer",
          "ollama-ollama",
          "ollama-health",
          // the server registers its agents once all of them run
          "portainer-portainer-agents",
        ].map((n) => `pulumi-nodejs:dynamic/phoenix:RemoteScript ${n}`),
        ...["fast/lxc-disks", "fast/vm-disks", "bulk/models", "bulk/portainer-data"].flatMap((d) => [
          `phoenix:index:ZfsDataset ${d}`,
          `pulumi-nodejs:dynamic/phoenix:ZfsDataset ${d}`,
        ]),
        // Backups: a guard per machine behind one barrier, the node's scheduled job, Portainer's lifecycle snapshots
        "phoenix:index:NodeBackups pve",
        "pulumi-nodejs:dynamic/phoenix:BackupBarrier pve-backup-barrier",
        ...[
          "docker-golden",
          "nvidia-golden",
          "nvidia-docker-golden",
          "vllm-golden",
          "portainer",
          "vllm-gpu0",
          "vllm-gpu1",
          "vllm-dual",
          "ollama",
          "workstation",
        ].map((n) => `pulumi-nodejs:dynamic/phoenix:BackupGuard ${n}-backup`),
        "proxmoxve:backup/job:Job nightly",
        "pulumi-nodejs:dynamic/phoenix:LifecycleSnapshot portainer-snapshot",
        // what a destroy deletes first, alone: it refuses while anything is protected
        "pulumi-nodejs:dynamic/phoenix:DestroyGuard ai-host-destroy-guard",
        // the internal DNS server (network.dns): dnsmasq on the node
        "phoenix:index:DnsServer dns",
        "pulumi-nodejs:dynamic/phoenix:RemoteScript dns-dnsmasq",
        // Open WebUI, an app on the Portainer guest
        "phoenix:index:AppDeployment open-webui-on-portainer",
        "pulumi-nodejs:dynamic/phoenix:RemoteScript open-webui-on-portainer",
        // The HTTPS gateway: Caddy in the Portainer guest, its CA root in every guest's trust store
        "phoenix:index:HttpsGateway gateway",
        "pulumi-nodejs:dynamic/phoenix:RemoteScript gateway-caddy",
        ...["ollama", "portainer", "vllm-dual", "vllm-gpu0", "vllm-gpu1", "workstation"].map(
          (g) => `pulumi-nodejs:dynamic/phoenix:RemoteScript gateway-ca-in-${g}`,
        ),
        // The Proxmox firewall: the datacenter's alias, group, rules and options; each model server's rules and options
        "phoenix:index:DatacenterFirewall datacenter-firewall",
        "proxmoxve:firewall/aliasLegacy:AliasLegacy alias-admin-net",
        "proxmoxve:cluster/firewall/security/groupLegacy:GroupLegacy group-model-servers",
        "proxmoxve:firewall/rulesLegacy:RulesLegacy datacenter-firewall-rules",
        "proxmoxve:cluster/firewallLegacy:FirewallLegacy datacenter-firewall-options",
        ...["vllm-gpu0", "vllm-gpu1", "vllm-dual", "ollama"].flatMap((g) => [
          `phoenix:index:GuestFirewall ${g}-firewall`,
          `proxmoxve:firewall/rulesLegacy:RulesLegacy ${g}-firewall-rules`,
          `proxmoxve:firewall/optionsLegacy:OptionsLegacy ${g}-firewall-options`,
        ]),
      ].sort(),
    );
  });

  it("runs the DNS server on the node over SSH with the plan's names, before the guests that resolve through it", () => {
    const step = byName("pulumi-nodejs:dynamic/phoenix:RemoteScript", "dns-dnsmasq");
    expect(step.parent).toBe(byName("phoenix:index:DnsServer", "dns").urn);
    expect(step.dependencies.map((u) => u.split("::").pop())).toEqual(["pve-host-key"]);
    const conf = step.inputs.params.DNS_CONF as string;
    expect(conf).toContain("listen-address=10.0.0.13\n");
    expect(conf).toContain("server=10.0.0.1\n");
    expect(conf).toMatch(/host-record=portainer\.ai\.internal,10\.0\.0\.\d+\n/);
    expect(conf).toMatch(/host-record=workstation\.ai\.internal,10\.0\.0\.\d+\n/);
    // guests resolve through it; golden templates (never started once frozen) do not wait for it
    const deps = (n: string) => byName("phoenix:index:LxcContainer", n).dependencies;
    expect(deps("ollama")).toContain(step.urn);
    expect(deps("docker-golden")).not.toContain(step.urn);
    expect(byName("proxmoxve:index/containerLegacy:ContainerLegacy", "ollama").inputs.initialization.dns).toEqual({
      domain: "ai.internal",
      servers: ["10.0.0.13"],
    });
  });

  it("deploys Open WebUI with the URLs of the servers the guests' outputs show", () => {
    const inputs = JSON.stringify(byName("pulumi-nodejs:dynamic/phoenix:RemoteScript", "open-webui-on-portainer").inputs);
    const urls = [guests["ollama"].endpoints.ollama, guests["vllm-gpu0"].endpoints.vllm, guests["vllm-dual"].endpoints.vllm];
    expect(urls.every((u) => /^http:\/\/10\.0\.0\.\d+:\d+/.test(u))).toBe(true);
    for (const [k, url] of [
      ["OLLAMA_URL", urls[0]],
      ["CHAT_URL", urls[1]],
      ["LARGE_CHAT_URL", urls[2]],
    ])
      expect(inputs).toContain(`${k}='${url}'`);
  });

  it("parents the node's own resources to its NodeHost, each aliased to its old place under the top", () => {
    const top = byName("phoenix:index:PhoenixHypervisor", "ai-host").urn;
    const host = byName("phoenix:index:NodeHost", "pve");
    expect(host.parent).toBe(top);
    for (const [type, name] of [
      ["pulumi:providers:proxmoxve", "pve"],
      ["phoenix:index:ZfsDataset", "bulk/models"],
    ] as const) {
      expect(byName(type, name).parent).toBe(host.urn);
      expect(byName(type, name).aliasParents).toEqual([top]);
    }
    // The dataset's own resource stays under its component (its alias comes from the component's).
    expect(byName("pulumi-nodejs:dynamic/phoenix:ZfsDataset", "bulk/models").parent).toBe(
      byName("phoenix:index:ZfsDataset", "bulk/models").urn,
    );
  });

  it("parents every component to the top and every provider resource to its component", () => {
    const top = byName("phoenix:index:PhoenixHypervisor", "ai-host").urn;
    expect(byName("phoenix:index:LxcContainer", "vllm-dual").parent).toBe(top);
    expect(byName("proxmoxve:index/containerLegacy:ContainerLegacy", "vllm-dual").parent).toBe(
      byName("phoenix:index:LxcContainer", "vllm-dual").urn,
    );
    expect(byName("proxmoxve:index/vmLegacy:VmLegacy", "workstation").parent).toBe(
      byName("phoenix:index:QemuVm", "workstation").urn,
    );
    expect(byName("proxmoxve:index/containerLegacy:ContainerLegacy", "portainer").provider).toMatch(
      /\$pulumi:providers:proxmoxve::pve::pve-id$/,
    );
  });

  it("runs Caddy in the gateway's guest with a site per expose, and trusts its CA in each guest after it", () => {
    const caddy = byName("pulumi-nodejs:dynamic/phoenix:RemoteScript", "gateway-caddy");
    expect(caddy.inputs.inContainer).toBe(200);
    const caddyfile = caddy.inputs.params.GATEWAY_CADDYFILE as string;
    for (const site of ["chat", "embeddings", "portainer", "qwen-14b", "qwen-7b"])
      expect(caddyfile).toContain(`${site}.ai.internal {\n\ttls internal`);
    expect(caddyfile).toContain("reverse_proxy https://10.0.0.20:9443 {");
    expect(caddy.dependencies.map((u) => u.split("::").pop())).toContain("portainer");
    const trust = byName("pulumi-nodejs:dynamic/phoenix:RemoteScript", "gateway-ca-in-vllm-gpu0");
    expect(trust.dependencies.map((u) => u.split("::").pop())).toEqual(expect.arrayContaining(["gateway-caddy", "vllm-gpu0"]));
    expect(trust.inputs.params.TRUSTED_CA_FILE).toBe("/usr/local/share/ca-certificates/phoenix-gateway.crt");
  });

  it("turns clone sources and dependsOn into real dependencies", () => {
    const deps = (n: string) => byName("phoenix:index:LxcContainer", n).dependencies.map((u) => u.split("::").pop());
    // A clone waits for its template's container, the template's provisioning steps and the step that froze it;
    // a guest named in dependsOn is waited for with its provisioning and its lifecycle snapshot.
    expect(deps("vllm-dual").sort()).toEqual(
      [
        "bulk/models",
        // it resolves names through the node's DNS server
        "dns-dnsmasq",
        "portainer",
        "portainer-placement",
        "portainer-portainer",
        "portainer-snapshot",
        "vllm-golden",
        "vllm-golden-apparmor",
        "vllm-golden-freeze",
        "vllm-golden-vllm",
      ]
        .concat(["vllm-gpu0", "vllm-gpu0-apparmor", "vllm-gpu0-health", "vllm-gpu0-placement", "vllm-gpu0-portainer"])
        .concat(["vllm-gpu0-vllm", "vllm-gpu1", "vllm-gpu1-apparmor", "vllm-gpu1-placement", "vllm-gpu1-portainer"])
        .concat(["vllm-gpu1-vllm"])
        .sort(),
    );
    // A golden template is frozen after its last feature ran.
    const freeze = byName("pulumi-nodejs:dynamic/phoenix:RemoteScript", "vllm-golden-freeze");
    expect(freeze.parent).toBe(byName("phoenix:index:LxcContainer", "vllm-golden").urn);
    // ... through the node, with the node's pinned host key.
    expect(freeze.dependencies.map((u) => u.split("::").pop()).sort()).toEqual([
      "pve-host-key",
      "vllm-golden",
      "vllm-golden-apparmor",
      "vllm-golden-vllm",
    ]);
    expect(freeze.dependencies.find((u) => u.endsWith("::vllm-golden"))).toBe(
      byName("proxmoxve:index/containerLegacy:ContainerLegacy", "vllm-golden").urn,
    );
    expect(freeze.inputs.params).toEqual({ VMID: "903" });
    expect(deps("portainer").sort()).toEqual([
      "bulk/portainer-data",
      "dns-dnsmasq",
      "docker-golden",
      "docker-golden-docker",
      "docker-golden-freeze",
      "fast/lxc-disks",
    ]);
    expect(deps("vllm-golden").sort()).toEqual([
      "fast/lxc-disks",
      "nvidia-docker-golden",
      "nvidia-docker-golden-apparmor",
      "nvidia-docker-golden-docker",
      "nvidia-docker-golden-freeze",
      "nvidia-docker-golden-nvidia-container-toolkit",
    ]);
    expect(deps("nvidia-golden")).toEqual(["fast/lxc-disks"]);
    expect(
      byName("phoenix:index:QemuVm", "workstation")
        .dependencies.map((u) => u.split("::").pop())
        .sort(),
    ).toEqual(["dns-dnsmasq", "fast/vm-disks", "portainer", "portainer-placement", "portainer-portainer", "portainer-snapshot"]);
  });

  it("registers the Portainer agents from the server's guest, after the server and every agent are provisioned", () => {
    const step = byName("pulumi-nodejs:dynamic/phoenix:RemoteScript", "portainer-portainer-agents");
    const server = byName("pulumi-nodejs:dynamic/phoenix:RemoteScript", "portainer-portainer");
    expect(step.inputs.inContainer).toBe(server.inputs.inContainer);
    expect(step.inputs.connection).toEqual(server.inputs.connection);
    const agents = ["vllm-dual", "vllm-gpu0", "vllm-gpu1", "workstation"];
    const lines = step.inputs.params.PORTAINER_AGENTS.split("\n");
    expect(lines.map((l: string) => l.split(" ")[0])).toEqual(agents);
    for (const [i, a] of agents.entries()) {
      const guest = byName(
        a === "workstation" ? "proxmoxve:index/vmLegacy:VmLegacy" : "proxmoxve:index/containerLegacy:ContainerLegacy",
        a,
      ).inputs;
      const ip: string = guest.initialization.ipConfigs[0].ipv4.address;
      expect(lines[i]).toBe(`${a} tcp://${ip.split("/")[0]}:9001`);
    }
    expect(Object.keys(step.inputs.secrets)).toEqual(["PORTAINER_ADMIN_PASSWORD"]);
    const deps = step.dependencies.map((u) => u.split("::").pop());
    expect(deps).toEqual(
      expect.arrayContaining([
        "portainer",
        "portainer-portainer",
        ...agents,
        ...agents.map((a) => `${a}-portainer`),
        "vllm-gpu0-health",
      ]),
    );
  });

  it("rebuilds a golden template when its build changes, and its clones and every step with it", () => {
    const ct = (n: string) => byName("proxmoxve:index/containerLegacy:ContainerLegacy", n);
    // every container and VM makes room before its replacement: their vmids are fixed
    for (const n of ["docker-golden", "vllm-golden", "portainer", "vllm-dual"]) expect(ct(n).deleteBeforeReplace).toBe(true);
    expect(byName("proxmoxve:index/vmLegacy:VmLegacy", "workstation").deleteBeforeReplace).toBe(true);
    // a golden template carries its build; a clone goes with its template
    expect(ct("vllm-golden").replacementTrigger).toMatch(/^[0-9a-f]{16}$/);
    expect(ct("vllm-golden").replacementTrigger).not.toBe(ct("docker-golden").replacementTrigger);
    expect(ct("vllm-dual").replacementTrigger).toBeUndefined();
    // through its node, as the template's container reports it: a dependency on an input the provider replaces on,
    // which the engine follows in order (components/node-backups.ts)
    expect(ct("vllm-dual").propertyDependencies.nodeName).toEqual([ct("vllm-golden").urn]);
    expect(ct("portainer").propertyDependencies.nodeName).toEqual([ct("docker-golden").urn]);
    expect(ct("vllm-dual").replaceWith).toEqual([]);
    // a step runs anew in a new container, its old self deleted first (node-side lines)
    const step = byName("pulumi-nodejs:dynamic/phoenix:RemoteScript", "vllm-dual-apparmor");
    expect(step.replaceWith).toEqual([ct("vllm-dual").urn]);
    expect(step.deleteBeforeReplace).toBe(true);
    expect(byName("pulumi-nodejs:dynamic/phoenix:RemoteScript", "vllm-golden-freeze").replaceWith).toEqual([
      ct("vllm-golden").urn,
    ]);
    expect(byName("pulumi-nodejs:dynamic/phoenix:RemoteScript", "workstation-docker").replaceWith).toEqual([
      byName("proxmoxve:index/vmLegacy:VmLegacy", "workstation").urn,
    ]);
  });

  it("backs every machine up before its deletion, all of a node's backups before any of its machines goes", () => {
    const ct = (n: string) => byName("proxmoxve:index/containerLegacy:ContainerLegacy", n);
    const guard = (n: string) => byName("pulumi-nodejs:dynamic/phoenix:BackupGuard", `${n}-backup`);
    const barrier = byName("pulumi-nodejs:dynamic/phoenix:BackupBarrier", "pve-backup-barrier");
    // the barrier stands after every resource of every machine: containers, VMs, provisioning, snapshots, freezes, a
    // VM's host-key pin (the Portainer agents' registration, the apps' deployments and the gateway's steps are the
    // hypervisor's, not a machine's)
    const machineResources = records.filter(
      (r) =>
        r.custom &&
        ((/ContainerLegacy|VmLegacy|RemoteScript|LifecycleSnapshot|GuestPlacement/.test(r.type) &&
          r.name !== "portainer-portainer-agents" &&
          r.name !== "dns-dnsmasq" &&
          !r.urn.includes("phoenix:index:AppDeployment$") &&
          !r.urn.includes("phoenix:index:HttpsGateway$")) ||
          (/HostKeyPin/.test(r.type) && r.urn.includes("phoenix:index:QemuVm$"))),
    );
    expect(new Set(barrier.dependencies)).toEqual(new Set(machineResources.map((r) => r.urn)));
    // each guard waits for the barrier and takes its guest's vmid from the guest's container: deleted before it
    expect(guard("portainer").dependencies).toContain(barrier.urn);
    expect(guard("portainer").propertyDependencies.vmid).toEqual([ct("portainer").urn]);
    expect(guard("workstation").propertyDependencies.vmid).toEqual([
      byName("proxmoxve:index/vmLegacy:VmLegacy", "workstation").urn,
    ]);
    expect(guard("portainer").deleteBeforeReplace).toBe(true);
    expect(guard("portainer").inputs).toMatchObject({
      node: "pve",
      type: "lxc",
      guest: "portainer",
      enabled: true,
      storage: "local",
      mode: "snapshot",
      compress: "zstd",
      keep: 3,
    });
    expect(guard("workstation").inputs).toMatchObject({ type: "qemu", enabled: true });
    // stateless vLLM workers opt out; golden templates are rebuilt from the definition, so they opt in only when asked
    for (const n of ["vllm-gpu0", "vllm-gpu1", "vllm-dual", "docker-golden", "vllm-golden"])
      expect(guard(n).inputs.enabled).toBe(false);
    // the node's API with the provider's credentials (kept secret in state: test/e2e/backups checks the export)
    expect(guard("portainer").inputs.api).toEqual({
      endpoint: "https://10.0.0.13:8006/",
      insecure: false,
      username: "root@pam",
      password: "value-of-proxmoxRootPassword",
    });
  });

  it("takes Portainer's lifecycle snapshot after its features, and schedules the node's job through the provider", () => {
    const snap = byName("pulumi-nodejs:dynamic/phoenix:LifecycleSnapshot", "portainer-snapshot");
    expect(snap.inputs).toMatchObject({ node: "pve", type: "lxc", guest: "portainer", name: "final-form", keep: 2 });
    expect(snap.propertyDependencies.vmid).toEqual([byName("proxmoxve:index/containerLegacy:ContainerLegacy", "portainer").urn]);
    expect(snap.dependencies).toContain(byName("pulumi-nodejs:dynamic/phoenix:RemoteScript", "portainer-portainer").urn);
    expect(snap.inputs.provisioned).toHaveLength(1);
    const job = byName("proxmoxve:backup/job:Job", "nightly");
    expect(job.inputs).toEqual({
      resourceId: "nightly",
      schedule: "02:30",
      storage: "local",
      node: "pve",
      vmids: ["200", "300"],
      mode: "snapshot",
      compress: "zstd",
      pruneBackups: { "keep-daily": "7", "keep-weekly": "4" },
      enabled: true,
      notesTemplate: "{{guestname}} nightly",
    });
    expect(job.provider).toMatch(/\$pulumi:providers:proxmoxve::pve::pve-id$/);
    expect(job.deleteBeforeReplace).toBe(true);
  });

  it("passes the clone source, GPU devices and mounts to the containers", () => {
    const gpu0 = byName("proxmoxve:index/containerLegacy:ContainerLegacy", "vllm-gpu0").inputs;
    expect(gpu0.clone).toEqual({ vmId: 903, full: false });
    expect(gpu0.vmId).toBe(210);
    expect(gpu0.devicePassthroughs.map((d: any) => d.path)).toEqual([
      "/dev/nvidia0",
      "/dev/nvidiactl",
      "/dev/nvidia-uvm",
      "/dev/nvidia-uvm-tools",
      "/dev/nvidia-modeset",
      "/dev/nvidia-caps/nvidia-cap1",
      "/dev/nvidia-caps/nvidia-cap2",
    ]);
    expect(gpu0.mountPoints).toEqual([{ volume: "/mnt/models", path: "/models", readOnly: true }]);
    const dual = byName("proxmoxve:index/containerLegacy:ContainerLegacy", "vllm-dual").inputs;
    expect(dual.devicePassthroughs.slice(0, 2).map((d: any) => d.path)).toEqual(["/dev/nvidia0", "/dev/nvidia1"]);
    const golden = byName("proxmoxve:index/containerLegacy:ContainerLegacy", "nvidia-golden").inputs;
    expect(golden.operatingSystem).toEqual({ templateFileId: "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst" });
    expect(golden.clone).toBeUndefined();
    expect(byName("proxmoxve:index/containerLegacy:ContainerLegacy", "portainer").inputs.features).toEqual({
      nesting: true,
      keyctl: true,
    });
    // Root's keys go to containers created from a template file; clones keep their template's.
    expect(golden.initialization.userAccount).toEqual({
      keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForExamplesOnly ops@example"],
    });
    expect(gpu0.initialization.userAccount).toBeUndefined();
  });

  it("configures the VM clone with cloud-init and static or allocated addresses", () => {
    const ws = byName("proxmoxve:index/vmLegacy:VmLegacy", "workstation").inputs;
    expect(ws.clone).toEqual({ vmId: 9000, full: true, datastoreId: "fast-vm" });
    expect(ws.initialization.userAccount).toEqual({
      username: "phoenix",
      keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForExamplesOnly ops@example"],
    });
    expect(ws.initialization.ipConfigs[0].ipv4.address).toMatch(/^10\.0\.0\.1\d\d\/24$/);
    expect(ws.hostpcis).toEqual([]);
  });

  it("manages the node's datasets over SSH with their declared properties", () => {
    const models = byName("pulumi-nodejs:dynamic/phoenix:ZfsDataset", "bulk/models");
    expect(models.parent).toBe(byName("phoenix:index:ZfsDataset", "bulk/models").urn);
    expect(models.inputs).toMatchObject({
      name: "bulk/models",
      properties: { recordsize: "1M", compression: "lz4", quota: "1T", mountpoint: "/mnt/models" },
      protect: true,
      connection: { host: "10.0.0.13", port: 22, user: "root", privateKey: "value-of-nodeSshKey" },
    });
  });

  it("takes the root@pam password and SSH key from secret config", () => {
    const provider = byName("pulumi:providers:proxmoxve", "pve").inputs;
    expect(provider.endpoint).toBe("https://10.0.0.13:8006/");
    // root@pam login: Proxmox lets only root@pam set device passthrough, bind mounts and keyctl.
    expect(provider.username).toBe("root@pam");
    expect(provider.password).toBe("value-of-proxmoxRootPassword");
    expect(provider.apiToken).toBeUndefined();
    expect(JSON.parse(provider.ssh)).toEqual({
      username: "root",
      privateKey: "value-of-nodeSshKey",
      nodes: [{ name: "pve", address: "10.0.0.13", port: 22 }],
    });
  });

  it("exports ids, addresses and endpoints", () => {
    expect(guests["vllm-gpu0"]).toMatchObject({
      vmid: 210,
      type: "lxc",
      kind: "guest",
      endpoints: { vllm: expect.stringMatching(/^http:\/\/10\.0\.0\.\d+:8000\/v1$/) },
    });
    expect(guests.portainer.endpoints.portainer).toBe("https://10.0.0.20:9443");
  });
});
