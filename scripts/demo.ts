// npm run demo: toolchain → lab → the dev stack (stacks/dev.yaml) → a summary of what was built.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "../lab/host/run";
import { labUp } from "../lab/lab";
import { pulumiProject } from "../lab/pulumi-project";
import { ROOT, toolchainEnv } from "../lab/toolchain";
import { buildPlan } from "../stacks/plan/plan";
import { renderPlan } from "../stacks/plan/render";
import { errorsOf, formatProblem } from "../stacks/problems";
import { loadDefinition } from "../stacks/validate";

const t0 = Date.now();
const say = (s: string) => console.log(s);
const step = (s: string) => console.log(`\n== ${s}`);

/** Secrets the lab hands to the dev stack, made once and kept in the lab's state directory. */
function labSecrets(stateDir: string, sshKey: string): Record<string, string> {
  const file = join(stateDir, "demo-secrets.json");
  const kept = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, string>) : {};
  const secrets = {
    proxmoxRootPassword: kept.proxmoxRootPassword ?? randomBytes(12).toString("base64url"),
    portainerAdminPassword: kept.portainerAdminPassword ?? randomBytes(12).toString("base64url"),
  };
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  return { ...secrets, nodeSshKey: sshKey, guestSshPublicKey: readFileSync(join(stateDir, "ssh", "client_ed25519.pub"), "utf8").trim() };
}

async function main() {
  const file = join(ROOT, "stacks", "dev.yaml");
  step("validate and plan stacks/dev.yaml");
  const loaded = loadDefinition(file);
  if (!loaded.definition) {
    console.error(errorsOf(loaded.problems).map(formatProblem).join("\n"));
    process.exit(1);
  }
  say(renderPlan(buildPlan(loaded.definition)));

  step("Pulumi toolchain");
  toolchainEnv();

  step("lab (a Proxmox-VE-compatible host on this machine)");
  const lab = await labUp({ definition: loaded.definition, log: (s) => say(`  ${s}`) });

  step("pulumi preview of the dev stack against the lab");
  const project = await pulumiProject({
    stackName: "dev",
    definitionFile: file,
    dir: join(ROOT, ".pulumi-state", "demo"),
    secrets: labSecrets(lab.stateDir, lab.sshPrivateKey),
  });
  const preview = await project.stack.preview({ diff: false });
  say(`  ${Object.entries(preview.changeSummary).map(([op, n]) => `${n} to ${op}`).join(", ")}`);

  // What converges without the lab's Proxmox API: the node's ZFS datasets, over the node's SSH.
  step("pulumi up of the host side (ZFS datasets over the node's SSH)");
  const target = hostTargets(loaded.definition.nodes.flatMap((n) => n.zfs.datasets.map((d) => d.name)));
  const up = await project.stack.up({ target, refresh: true });
  say(`  ${describe(up.summary.resourceChanges)}`);
  const again = await project.stack.up({ target });
  say(`  second up: ${describe(again.summary.resourceChanges)}`);
  for (const d of loaded.definition.nodes.flatMap((n) => n.zfs.datasets))
    say(`  ${d.name}: ${run("zfs", ["get", "-H", "-o", "property,value", Object.keys(d.properties).join(","), d.name]).stdout.trim().split("\n").map((l) => l.replace("\t", "=")).join(", ")}`);

  step("summary");
  say(`  lab state:   ${lab.stateDir}`);
  say(`  node ssh:    ssh -p ${lab.sshPort} -i ${lab.stateDir}/ssh/client_ed25519 root@127.0.0.1   (zfs, pct, apparmor_parser)`);
  if (lab.aptProxy) say(`  apt proxy:   ${lab.aptProxy}`);
  say(`  not yet:     the lab's Proxmox API (https://127.0.0.1:8006) is still being built, so containers are`);
  say(`               previewed, not created; \`pulumi up\` of the whole dev stack lands with it.`);
  say(`  tear down:   npx phoenix lab down`);
  say(`  took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

/** URNs of the dev stack's datasets and their parents, for a targeted update. */
function hostTargets(datasets: string[]): string[] {
  const top = "urn:pulumi:dev::phoenix::phoenix:index:PhoenixHypervisor";
  return [`${top}::dev`, ...datasets.flatMap((d) => [`${top}$phoenix:index:ZfsDataset::${d}`, `${top}$phoenix:index:ZfsDataset$pulumi-nodejs:dynamic/phoenix:ZfsDataset::${d}`])];
}

function describe(changes: Record<string, number> | undefined): string {
  const c = Object.entries(changes ?? {}).filter(([op]) => op !== "same");
  return c.length ? c.map(([op, n]) => `${n} ${op}`).join(", ") : "no changes";
}

main().catch((e) => {
  console.error(`demo failed: ${(e as Error).message}`);
  process.exit(1);
});
