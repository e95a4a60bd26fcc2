// npm run demo: toolchain → lab → the dev stack (stacks/dev.yaml) → a summary of what was built.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "../lab/host/run";
import { labApiClient } from "../lab/api-daemon";
import { type LabUp, labUp } from "../lab/lab";
import { pulumiProject } from "../test/support/pulumi-project";
import { ROOT, toolchainEnv } from "../test/support/toolchain";
import { buildPlan } from "../plan/plan";
import { renderPlan } from "../plan/render";
import { errorsOf, formatProblem } from "../definition/problems";
import { loadDefinition } from "../validate";
import { CADDY_ROOT_CERT } from "../provisioners/gateway/gateway";

const t0 = Date.now();
const say = (s: string) => console.log(s);
const step = (s: string) => console.log(`\n== ${s}`);

/** Secrets the lab hands to the dev stack: its root@pam password and SSH keys, and one made once for Portainer. */
function labSecrets(lab: LabUp): Record<string, string> {
  const file = join(lab.stateDir, "demo-secrets.json");
  const kept = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, string>) : {};
  const portainerAdminPassword = kept.portainerAdminPassword ?? randomBytes(12).toString("base64url");
  writeFileSync(file, JSON.stringify({ portainerAdminPassword }), { mode: 0o600 });
  return {
    portainerAdminPassword,
    proxmoxRootPassword: lab.credentials.rootPassword,
    nodeSshKey: lab.sshPrivateKey,
    guestSshPublicKey: readFileSync(join(lab.stateDir, "ssh", "client_ed25519.pub"), "utf8").trim(),
  };
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
    // Pin this lab's own certificate: the stack talks to it with TLS verified, as to a real node.
    edit: (text) => text.replace(/^( +)endpoint: (.*)$/m, `$1endpoint: $2\n$1fingerprint: "${lab.apiFingerprint}"`),
    dir: join(ROOT, ".pulumi-state", "demo"),
    secrets: labSecrets(lab),
  });
  const preview = await project.stack.preview({ diff: false });
  say(
    `  ${Object.entries(preview.changeSummary)
      .map(([op, n]) => `${n} to ${op}`)
      .join(", ")}`,
  );

  step("pulumi up of the dev stack");
  // refresh: a lab torn down and brought up again has lost what the state remembers; refresh sees that.
  const up = await project.stack.up({ refresh: true, onOutput: (o) => process.stdout.write(o.replace(/^/gm, "  ")) });
  say(`  ${describe(up.summary.resourceChanges)}`);
  const again = await project.stack.up();
  say(`  second up: ${describe(again.summary.resourceChanges)}`);
  step("summary");
  const plan = buildPlan(loaded.definition);
  const api = labApiClient(lab.stateDir, Number(new URL(lab.apiUrl).port));
  say("  vmid  name             type kind     address          state      provisioned");
  for (const m of plan.machines) {
    const path = `nodes/${m.node}/${m.type === "lxc" ? "lxc" : "qemu"}/${m.vmid}/status/current`;
    const status = await api.data<{ status: string; template?: number }>("GET", path).then(
      (s) => (s.template ? "template" : s.status),
      () => "absent",
    );
    const ip = m.network[0]?.ip ?? "-";
    const own = [...m.provisioners.map((p) => p.feature), ...m.healthChecks.map((h) => `check:${h.name}`)];
    const inherited =
      m.source.kind === "clone" ? Object.keys(m.features).filter((f) => !m.provisioners.some((p) => p.feature === f)) : [];
    const provisioned = [...own, ...inherited.map((f) => `${f} (from ${m.source.template})`)].join(", ") || "-";
    say(
      `  ${String(m.vmid).padEnd(5)} ${m.name.padEnd(16)} ${m.type}  ${m.kind.padEnd(8)} ${ip.padEnd(16)} ${status.padEnd(10)} ${provisioned}`,
    );
  }
  for (const d of loaded.definition.nodes.flatMap((n) => n.zfs.datasets))
    say(
      `  ${d.name}: ${run("zfs", ["get", "-H", "-o", "property,value", Object.keys(d.properties).join(","), d.name])
        .stdout.trim()
        .split("\n")
        .map((l) => l.replace("\t", "="))
        .join(", ")}`,
    );
  const guest = plan.machines.find((m) => m.kind === "guest" && m.type === "lxc" && m.network[0]?.ip.includes("/"));
  const portainer = plan.machines.find((m) => m.features.portainer?.role === "server");
  if (portainer) {
    const url = `http://${portainer.network[0]!.ip.split("/")[0]}:${portainer.features.portainer!.port ?? 9443}/`;
    const page = run("curl", ["-s", "--max-time", "5", url], { allowFail: true }).stdout;
    say(
      `  portainer:   ${url} answers: ${/stand-in/.test(page) ? "the lab's stand-in image (no Docker Hub here; a real Portainer serves HTTPS)" : page ? "yes" : "no"}`,
    );
  }
  // Apps: each one's URLs on its guests (the stack's `apps` output), and whether they answer.
  const outputs = await project.stack.outputs();
  const apps = (outputs.apps?.value ?? {}) as Record<string, { deploy: string; guests: Record<string, string[]> }>;
  for (const [name, a] of Object.entries(apps))
    for (const [guest, urls] of Object.entries(a.guests))
      for (const url of urls.length ? urls : ["(publishes no port)"]) {
        const page = url.startsWith("http") ? run("curl", ["-s", "--max-time", "5", url], { allowFail: true }).stdout : "";
        const title = /<title>([^<]*)<\/title>/.exec(page)?.[1];
        say(
          `  app ${name.padEnd(8)} ${url}  on ${guest} (deploy: ${a.deploy})${url.startsWith("http") ? `: ${page ? `answers${title ? ` "${title}"` : ""}` : "no answer"}` : ""}`,
        );
      }
  // The HTTPS gateway: a URL per exposed service, answered through Caddy with the CA root the stack exports.
  if (plan.gateway) {
    const ca = outputs.gatewayCaCertificate?.value as string | undefined;
    const caFile = join(project.dir, "gateway-ca.crt");
    if (ca) writeFileSync(caFile, ca);
    for (const r of plan.gateway.routes) {
      const resolve = `${r.fqdn}:443:${plan.gateway.address}`;
      const answered =
        ca &&
        run(
          "curl",
          ["-s", "-o", "/dev/null", "--max-time", "5", "--cacert", caFile, "--resolve", resolve, `https://${r.fqdn}/`],
          { allowFail: true },
        ).code === 0;
      say(
        `  https:       https://${r.fqdn}/ → ${r.scheme}://${r.address}:${r.port} (${r.app ? `app ${r.app}` : r.guest})${ca ? `: ${answered ? "answers, certificate verified" : "no answer"}` : ""}`,
      );
    }
    say(
      `  gateway CA:  ${ca ? caFile : "(not made yet)"}   (stack output gatewayCaCertificate; Caddy in ${plan.gateway.guest} keeps it at ${CADDY_ROOT_CERT})`,
    );
    say(
      `               curl --cacert ${caFile} --resolve <name>.${plan.gateway.domain}:443:${plan.gateway.address} https://<name>.${plan.gateway.domain}/`,
    );
    if (plan.gateway.trustedBy.length > 0) say(`               trusted in the guests: ${plan.gateway.trustedBy.join(", ")}`);
  }
  say(`  lab state:   ${lab.stateDir}   (Proxmox API ${lab.apiUrl}, node ${plan.nodes[0]?.name})`);
  say(`  node ssh:    ssh -p ${lab.sshPort} -i ${lab.stateDir}/ssh/client_ed25519 root@127.0.0.1   (zfs, pct, apparmor_parser)`);
  if (guest)
    say(`  guest ssh:   ssh -i ${lab.stateDir}/ssh/client_ed25519 root@${guest.network[0]!.ip.split("/")[0]}   (${guest.name})`);
  if (lab.aptProxy) say(`  apt proxy:   ${lab.aptProxy}`);
  say(`  tear down:   npx phoenix lab down   (no container, dataset, pool, bridge or process stays)`);
  say(`  took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

function describe(changes: Record<string, number> | undefined): string {
  const c = Object.entries(changes ?? {}).filter(([op]) => op !== "same" && op !== "read");
  return c.length ? c.map(([op, n]) => `${n} ${op}`).join(", ") : "no changes";
}

main().catch((e) => {
  console.error(`demo failed: ${(e as Error).message}`);
  process.exit(1);
});
