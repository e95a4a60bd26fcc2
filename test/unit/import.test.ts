import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ImportError, importPhoenix, readJson } from "../../cli/import";
import { checkShape } from "../../definition/load";
import { buildPlan } from "../../plan/plan";
import type { Definition } from "../../definition/schema";
import type { Problem } from "../../definition/problems";
import { validated, validate } from "../../validate";

const REF = join(__dirname, "..", "..", "..", "shared", "phoenix-reference");
const ref = (f: string) => ({ file: join(REF, f), json: readJson(join(REF, f)) });
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

function importRef(edit?: (h: any, l: any, v: any) => void) {
  const h = ref("phoenix_hypervisor_config.json");
  const l = ref("phoenix_lxc_configs.json");
  const v = ref("phoenix_vm_configs.json");
  edit?.(h.json, l.json, v.json);
  return importPhoenix({ hypervisor: h, lxc: l, vm: v });
}

/** The one error an import of the reference configs leaves: Nginx's writable /sys, for the operator to allow or drop. */
function onlyHostAccess(problems: Problem[]): boolean {
  const errors = problems.filter((p) => p.severity === "error");
  expect(errors).toEqual([
    expect.objectContaining({
      path: expect.stringMatching(/^guests\[\d+\]\.lxcOptions\[0\]$/),
      message: "lxc.mount.auto gives 'Nginx-Phoenix' host filesystem: it mounts the node's /proc, /sys or cgroups writable",
    }),
  ]);
  return true;
}

/** What the operator does after reading the warning: allow it, with the reason. */
function hostAccessAllowed(def: Definition): Definition {
  const d = clone(def) as Definition;
  d.guests.find((g) => g.name === "Nginx-Phoenix")!.allowHostAccess = { reason: "nginx tunes net.core sysctls" };
  return d;
}

function shaped(def: unknown): Definition {
  const s = checkShape(clone(def));
  expect(s.problems).toEqual([]);
  return s.definition!;
}

describe("import of the reference configs", () => {
  const result = importRef();
  const def = shaped(result.definition);
  // The importer's own output, before zod fills in defaults.
  const guest = (name: string) =>
    [...result.definition.guests!, ...result.definition.templates!].find((m) => m.name === name) as any;

  it("produces a definition whose only error is the host access it must not allow on the operator's behalf", () => {
    expect(onlyHostAccess(validate(def))).toBe(true);
    expect(result.warnings).toContainEqual(
      expect.objectContaining({
        where: expect.stringMatching(/lxc_options$/),
        message: "'lxc.mount.auto:sys:rw' gives the container host filesystem",
      }),
    );
  });

  it("pins the node's certificate instead of turning TLS verification off, and says how to get its fingerprint", () => {
    expect(result.definition.nodes[0]!.api).toEqual({
      endpoint: "https://10.0.0.13:8006/",
      username: "root@pam",
      password: { secret: "proxmoxRootPassword" },
    });
    expect(result.warnings).toContainEqual(
      expect.objectContaining({
        message: expect.stringContaining("is reached with TLS verified"),
        fix: expect.stringContaining("pvenode cert info --output-format json"),
      }),
    );
    expect(validate(def).filter((p) => p.path.startsWith("nodes[0].api"))).toEqual([]);
  });

  it("keeps the clone hierarchy 900 → 901 → 910/911/912 → 801/802", () => {
    const plan = buildPlan(validated(hostAccessAllowed(def)));
    const from = (vmid: number) => {
      const m = plan.machines.find((x) => x.vmid === vmid)!;
      return m.source.kind === "clone" ? m.source.vmid : m.source.template;
    };
    expect(from(900)).toBe("ubuntu-24.04-standard");
    expect(from(901)).toBe(900);
    expect([from(910), from(911), from(912)]).toEqual([901, 901, 901]);
    expect([from(801), from(802)]).toEqual([911, 911]);
    const order = plan.machines.map((m) => m.vmid);
    expect(order.indexOf(900)).toBeLessThan(order.indexOf(901));
    expect(order.indexOf(901)).toBeLessThan(order.indexOf(911));
    expect(order.indexOf(911)).toBeLessThan(order.indexOf(801));
    expect(plan.machines.find((m) => m.vmid === 1001)!.source).toMatchObject({ kind: "clone", vmid: 9000 });
  });

  it("treats cloned-from and snapshotted containers as golden templates", () => {
    expect(def.templates.map((t) => t.name)).toEqual([
      "ubuntu-24.04-standard",
      "ubuntu-2404-cloud-template",
      "Copy-Base",
      "Copy-Cuda12.8",
      "Copy-VLLM-GPUx2",
      "Copy-VLLM-GPU0",
      "Copy-VLLM-GPU1",
    ]);
    expect(guest("Copy-VLLM-GPU0")).toMatchObject({ vmid: 911, parent: "Copy-Cuda12.8", snapshot: "final-form" });
  });

  it("parses gpu_assignment strings", () => {
    expect(guest("Copy-Cuda12.8").gpus).toEqual([0, 1]); // "0, 1"
    expect(guest("Copy-VLLM-GPUx2").gpus).toEqual([0, 1]); // "0,1"
    expect(guest("Copy-VLLM-GPU1").gpus).toEqual([1]);
    expect(guest("Copy-Base").gpus).toBeUndefined(); // "none", nothing to clear
    expect(result.definition.nodes[0]!.gpus).toEqual([{ index: 0 }, { index: 1 }]);
  });

  it("keeps 801/802 to their own features: nvidia comes from 911", () => {
    expect(Object.keys(guest("granite-embedding").features)).toEqual(["vllm", "apparmor"]);
    expect(guest("Copy-VLLM-GPU0").features.nvidia).toEqual({ cudaVersion: "12.8" });
  });

  it("maps vllm_engine_config onto the vllm feature", () => {
    expect(guest("Copy-VLLM-GPUx2").features.vllm).toEqual({
      model: "Qwen/Qwen2.5-7B-Instruct-AWQ",
      trustRemoteCode: true,
      dtype: "auto",
      maxModelLen: 4096,
      quantization: "awq_marlin",
      gpuMemoryUtilization: 0.5,
      tensorParallelSize: 2,
      host: "0.0.0.0",
      port: 8000,
      servedModelName: "qwen2.5-7b-awq",
      // the original's install script pinned them
      version: "0.10.2",
      torchIndex: "https://download.pytorch.org/whl/cu128",
    });
  });

  it("maps the ollama feature, on the CPU: vLLM already reserves the GPU the original shared with it", () => {
    expect(guest("ollama-gpu0").features.ollama).toEqual({ gpus: [] });
    expect(result.warnings).toContainEqual({
      where: "phoenix_lxc_configs.json: lxc_configs.914.gpu_assignment",
      message:
        "Ollama runs on the CPU (ollama.gpus: []): GPU 0 is reserved by granite-embedding 0.10, granite-3.3-8b-fp8 0.85, and the original gave Ollama no budget",
      fix: "free part of that GPU, then set ollama.gpus and ollama.gpuMemory (GiB)",
    });
  });

  it("maps network, MAC, dependencies, pct and lxc options, mounts and health checks", () => {
    const nginx = guest("Nginx-Phoenix");
    expect(nginx.network).toEqual([
      { name: "eth0", bridge: "vmbr0", ip: "10.0.0.153/24", mac: "52:54:00:67:89:B3", firewall: true },
    ]);
    expect(nginx.nameservers).toEqual(["10.0.0.13"]);
    expect(nginx.nesting).toBe(true);
    expect(nginx.lxcOptions).toEqual(["lxc.mount.auto:sys:rw"]);
    expect(nginx.dependsOn).toEqual(["Step-CA"]);
    // owner_uid/owner_gid: container ids; the node shifts them through the container's map.
    expect(nginx.mountPoints[0]).toEqual({
      dataset: "quickOS/lxc-persistent-data",
      subdir: "101/logs",
      path: "/var/log/nginx",
      owner: { uid: 33, gid: 33 },
    });
    expect(guest("Copy-Cuda12.8").dependsOn).toEqual(["drphoenix"]);
    expect(guest("granite-embedding").mountPoints).toEqual([
      { dataset: "fastData/shared-bulk-data", subdir: "vllm_models", path: "/vllm_models" },
    ]);
    expect(guest("Copy-VLLM-GPUx2").mountPoints).toEqual([
      { dataset: "quickOS/shared-prod-data", subdir: "ssl", path: "/certs" },
    ]);
    expect(guest("Step-CA").healthChecks).toEqual([
      { name: "health", command: "/usr/local/phoenix_hypervisor/bin/health_checks/check_step_ca.sh", retries: 5, interval: 10 },
    ]);
    const ds = def.nodes[0]!.zfs.datasets.find((d) => d.name === "quickOS/lxc-persistent-data")!;
    expect(ds.properties).toMatchObject({ quota: "10G", recordsize: "128K", mountpoint: "/mnt/pve/quickOS/lxc-persistent-data" });
  });

  it("applies id_maps, which the original never did: a whole map around its exception, the host gid granted to root", () => {
    expect(guest("Nginx-Phoenix").idMaps).toEqual([
      { type: "uid", containerId: 0, hostId: 100000, size: 65536 },
      { type: "gid", containerId: 0, hostId: 100000, size: 33 },
      { type: "gid", containerId: 33, hostId: 33, size: 1 },
      { type: "gid", containerId: 34, hostId: 100034, size: 65502 },
    ]);
    expect(def.nodes[0]!.subgid).toEqual([
      { start: 100000, count: 65536 },
      { start: 33, count: 1 },
    ]);
    expect(def.nodes[0]!.subuid).toBeUndefined();
    expect(result.warnings).toContainEqual(
      expect.objectContaining({
        where: "phoenix_lxc_configs.json: lxc_configs.101.id_maps",
        fix: "add root:33:1 to /etc/subgid on the node (LXC maps ids through newgidmap, which holds root to it)",
      }),
    );
  });

  it("maps portainer roles: primary becomes the server, agents point at it", () => {
    expect(guest("Portainer").features.portainer).toEqual({
      role: "server",
      image: "portainer/portainer-ce:latest",
      port: 9443,
      adminPassword: { secret: "portainerAdminPassword" },
    });
    expect(guest("drphoenix").features.portainer).toEqual({
      role: "agent",
      image: "portainer/agent:latest",
      port: 9001,
      server: "Portainer",
    });
    expect(result.warnings).toContainEqual(
      expect.objectContaining({
        where: "phoenix_lxc_configs.json: lxc_configs.101.portainer_role",
        message: "role 'infrastructure' has no equivalent (server or agent)",
      }),
    );
  });

  it("never copies the plaintext password and says which secret to set", () => {
    const text = JSON.stringify(result.definition);
    expect(text).not.toContain("CHANGE-ME-plaintext-password");
    expect(result.warnings).toContainEqual({
      where: "phoenix_hypervisor_config.json: portainer_api.admin_password",
      message: "plaintext password not copied; the definition references secret 'portainerAdminPassword'",
      fix: "run `pulumi config set --secret phoenix:portainerAdminPassword <value>`",
    });
  });

  it("maps lifecycle snapshots and the backup storage", () => {
    // the original's backup dataset is where guests go before Phoenix deletes them
    expect(result.definition.nodes![0]!.backup).toEqual({ storage: "fastData-shared-backups" });
    // final-form after provisioning, one kept as the original kept one
    expect(guest("Step-CA").snapshots).toEqual({ afterProvision: true, keep: 1, name: "final-form" });
    expect(guest("Traefik-Internal").snapshots).toEqual({ afterProvision: true, keep: 1, name: "final-form" });
    expect(guest("granite-embedding").snapshots).toBeUndefined();
    // golden templates keep their snapshot name for clones but take no lifecycle snapshot
    expect(guest("Copy-Base").snapshots).toBeUndefined();
    const said = (where: string) => result.warnings.filter((w) => w.where === where).map((w) => w.message);
    expect(said("phoenix_lxc_configs.json: lxc_configs.900.enable_lifecycle_snapshots")).toEqual([
      "not mapped: a golden template is frozen with pct template, and Proxmox takes no snapshot of a template",
    ]);
    expect(said("phoenix_lxc_configs.json: lxc_configs.103.enable_lifecycle_snapshots")).toEqual([
      "the pre-configured snapshot (before features) has no equivalent; final-form is taken",
    ]);
  });

  it("maps a VM's post-features snapshot, and says what has no equivalent", () => {
    const r = importRef((_h, _l, v) => {
      v.vms[1].snapshots = { "pre-features": "clean", "post-features": "ready state" };
    });
    const vm0 = r.definition.guests!.find((g) => g.vmid === 1001) as any;
    expect(vm0.snapshots).toEqual({ afterProvision: true, keep: 1, name: "ready-state" });
    expect(r.warnings.map((w) => w.where)).toContain("phoenix_vm_configs.json: vms[1].snapshots.pre-features");
    expect(validate(hostAccessAllowed(shaped(r.definition))).filter((p) => p.severity === "error")).toEqual([]);
  });

  it("reports fields it cannot map instead of dropping them", () => {
    const where = result.warnings.map((w) => w.where);
    expect(where).toContain("phoenix_lxc_configs.json: lxc_configs.900.firewall");
    expect(where).toContain("phoenix_lxc_configs.json: lxc_configs.101.id_maps");
    expect(where).toContain("phoenix_vm_configs.json: vms[1].volumes");
    expect(where).toContain("phoenix_hypervisor_config.json: samba");
    expect(where).toContain("phoenix_hypervisor_config.json: shared_volumes.vllm_models.mounts.950");
  });
});

describe("import of other versions of the files", () => {
  it("warns about unknown fields at any depth and still imports", () => {
    const r = importRef((h, l, v) => {
      h.new_top_level = { x: 1 };
      h.network.interfaces.mtu = 9000;
      l.lxc_configs["911"].cpu_pinning = "0-7";
      l.lxc_configs["911"].vllm_engine_config.CacheConfig.enable_prefix_caching = true;
      v.vms[1].machine_type = "q35";
    });
    const unknown = r.warnings.filter((w) => /unknown field/.test(w.message)).map((w) => w.where);
    expect(unknown).toEqual(
      expect.arrayContaining([
        "phoenix_hypervisor_config.json: new_top_level",
        "phoenix_hypervisor_config.json: network.interfaces.mtu",
        "phoenix_lxc_configs.json: lxc_configs.911.cpu_pinning",
        "phoenix_vm_configs.json: vms[1].machine_type",
      ]),
    );
    // Unknown engine settings are passed on as vLLM flags rather than dropped.
    expect((r.definition.templates!.find((t) => t.name === "Copy-VLLM-GPU0") as any).features.vllm.args).toEqual({
      "enable-prefix-caching": true,
    });
    expect(onlyHostAccess(validate(shaped(r.definition)))).toBe(true);
  });

  it("imports an older, sparser layout without the VM file", () => {
    const h = ref("phoenix_hypervisor_config.json");
    const l = clone(ref("phoenix_lxc_configs.json"));
    const json = l.json as any;
    for (const id of Object.keys(json.lxc_configs)) {
      delete json.lxc_configs[id].dependencies;
      delete json.lxc_configs[id].firewall;
    }
    delete (h.json as any).nvidia_driver;
    json.lxc_configs["900"].gpu_assignment = { gpus: 1 }; // wrong type: reported, not a crash
    const r = importPhoenix({ hypervisor: h, lxc: l });
    expect(r.warnings).toContainEqual(
      expect.objectContaining({ where: "phoenix_lxc_configs.json: lxc_configs.900.gpu_assignment" }),
    );
    const def = shaped(r.definition);
    expect(def.nodes[0]!.nvidia).toEqual({ driverVersion: "580.76.05", installOnHost: false });
    expect(onlyHostAccess(validate(def))).toBe(true);
  });

  it("rejects a file that is not a JSON object with a clear error", () => {
    expect(() => importPhoenix({ hypervisor: { file: "h.json", json: [] }, lxc: { file: "l.json", json: {} } })).toThrow(
      ImportError,
    );
    expect(() => readJson(join(REF, "missing.json"))).toThrow(/cannot read .*missing.json: ENOENT/);
  });
});
