// phoenix import of the original's Docker stacks: stacks/<name>/ (compose file, phoenix.json, configs), the unused
// phoenix_stacks_config.json and the VMs' docker_stacks lists → apps, and what validation still explains.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { importPhoenix, readJson, readStackDir } from "../../cli/import";
import { checkShape } from "../../definition/load";
import { validate } from "../../validate";

const REF = join(__dirname, "..", "..", "..", "shared", "phoenix-reference");
const ref = (f: string) => ({ file: join(REF, f), json: readJson(join(REF, f)) });

function importWithStacks(edit?: (vm: any, config: any) => void, environment?: string) {
  const vm = ref("phoenix_vm_configs.json");
  const config = ref("phoenix_stacks_config.json");
  edit?.(vm.json, config.json);
  return importPhoenix({
    hypervisor: ref("phoenix_hypervisor_config.json"),
    lxc: ref("phoenix_lxc_configs.json"),
    vm,
    stacks: { stacks: readStackDir(join(REF, "stacks")), config, ...(environment ? { environment } : {}) },
  });
}

/** The definition and its app files written to a directory of their own, validated there as `phoenix validate` does. */
function validateWritten(r: ReturnType<typeof importWithStacks>) {
  const dir = mkdtempSync(join(tmpdir(), "phoenix-import-stacks-"));
  for (const [rel, text] of Object.entries(r.files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  const shaped = checkShape(JSON.parse(JSON.stringify(r.definition)));
  expect(shaped.problems).toEqual([]);
  return validate(shaped.definition!, { dir });
}

describe("import of the original's docker stacks", () => {
  const r = importWithStacks();
  const apps = r.definition.apps ?? [];
  const warned = (re: RegExp) => r.warnings.filter((w) => re.test(`${w.where}: ${w.message} ${w.fix ?? ""}`));

  it("makes an app of each stack a VM runs, on that VM, through Portainer when the VM is an agent", () => {
    expect(apps.map((a) => [a.name, a.guests, a.deploy])).toEqual([
      ["qdrant_service", ["drphoenix"], "portainer"],
      ["thinkheads_ai_app", ["drphoenix"], "portainer"],
    ]);
    expect(apps[0]!.compose).toBe("apps/qdrant_service/docker-compose.yml");
    expect(r.files["apps/qdrant_service/docker-compose.yml"]).toContain("image: qdrant/qdrant:latest");
  });

  it("leaves out portainer_service: Portainer itself, which the server feature on 1001 already runs", () => {
    expect(
      warned(/'portainer_service' runs Portainer, which features\.portainer \(role: server\) on 'Portainer' already runs/),
    ).toHaveLength(1);
  });

  it("turns DATABASE_PASS into a secret reference with the pulumi config set line, in variables and in the config file", () => {
    const t = apps[1]!;
    expect(t.variables).toEqual({
      DATABASE_USER: "prod_user",
      DATABASE_PASS: { secret: "thinkheadsAiAppDatabasePass" },
      API_PORT: "8000",
    });
    expect(warned(/pulumi config set --secret phoenix:thinkheadsAiAppDatabasePass/).length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(r.definition)).not.toContain("PROD_SECRET_PASSWORD");
    expect(r.files["apps/thinkheads_ai_app/configs/prod.env"]).toBe(
      "DATABASE_USER=prod_user\nDATABASE_PASS=${DATABASE_PASS}\nAPI_PORT=8000",
    );
    expect(Object.values(r.files).join("\n")).not.toContain("SECRET_PASSWORD");
  });

  it("takes variables and files from the central file where phoenix.json has none, and says so; finds the config file the original missed", () => {
    expect(warned(/variables taken from .*phoenix_stacks_config\.json/)).toHaveLength(1);
    expect(
      warned(
        /the original looked for stacks\/thinkheads_ai_app\/persistent-storage\/thinkheads_ai\/configs\/prod\.env, which does not exist/,
      ),
    ).toHaveLength(1);
    expect(apps[1]!.files).toEqual([{ template: "apps/thinkheads_ai_app/configs/prod.env", path: "configs/prod.env" }]);
    // mounted where the original meant it
    expect(r.files["apps/thinkheads_ai_app/docker-compose.yml"]).toContain("./configs/prod.env:/app/.env:ro");
  });

  it("turns Traefik labels into expose and firewall_rules into the app's firewall, no longer kept inert", () => {
    expect(apps[0]!.expose).toEqual([{ name: "qdrant", port: 6333, scheme: "http" }]);
    expect(apps[0]!.firewall).toEqual([
      { type: "in", action: "ACCEPT", proto: "tcp", dport: "6333", comment: "Allow access to Qdrant HTTP API" },
      { type: "in", action: "ACCEPT", proto: "tcp", dport: "6334", comment: "Allow access to Qdrant gRPC API" },
    ]);
    expect(apps.every((a) => a.traefikLabels === undefined && a.firewallRules === undefined)).toBe(true);
    expect(warned(/imported as apps\.qdrant_service\.firewall: the rules follow the app onto drphoenix/)).toHaveLength(1);
  });

  it("imports one environment (production, as the original hard-coded) and names the others", () => {
    expect(warned(/environment 'testing' not imported/)).toHaveLength(1);
    const testing = importWithStacks(undefined, "testing").definition.apps!.find((a) => a.name === "thinkheads_ai_app")!;
    expect(testing.variables).toMatchObject({ DATABASE_USER: "test_user", API_PORT: "8001" });
  });

  it("validate then explains what remains: the NFS volumes the compose files name", () => {
    const problems = validateWritten(r).filter((p) => p.path.startsWith("apps") && p.severity === "error");
    expect(problems.map((p) => [p.path, p.message.replace(/^.*?: /, "")])).toEqual([
      [
        "apps[0].volumes",
        "volume qdrant_data_nfs is external, so Compose expects it on the guest, and the app neither declares it nor says it exists",
      ],
      [
        "apps[1].volumes",
        "volume thinkheads_ai_app_data_nfs is external, so Compose expects it on the guest, and the app neither declares it nor says it exists",
      ],
    ]);
  });

  it("docker_stacks entries as the VM schema has them ({ name, environment }), and stacks nobody runs", () => {
    const r2 = importWithStacks((vm) => {
      vm.vms.find((v: any) => v.vmid === 1002).docker_stacks = [{ name: "qdrant_service", environment: "production" }];
    });
    expect(r2.definition.apps!.map((a) => a.name)).toEqual(["qdrant_service"]);
    expect(r2.warnings.some((w) => /stack 'thinkheads_ai_app' is in no VM's docker_stacks/.test(w.message))).toBe(true);
  });

  it("without --stacks, each docker_stacks entry is a warning that says how to import it", () => {
    const plain = importPhoenix({
      hypervisor: ref("phoenix_hypervisor_config.json"),
      lxc: ref("phoenix_lxc_configs.json"),
      vm: ref("phoenix_vm_configs.json"),
    });
    expect(plain.definition.apps).toBeUndefined();
    expect(plain.warnings.filter((w) => /not imported: the stacks were not given/.test(w.message))).toHaveLength(3);
  });
});
