// bench/provisioning: on a lab of its own (own pool, bridge and ports), with the real engine and provider:
//  1. a Docker-ready container cloned from the golden Docker template vs one built from the base template
//     with the docker feature (Debian's docker.io through the lab's warm apt proxy) — goal ≥ 5× faster;
//  2. a no-op `up` of the converged stack (wall time, SSH sessions the node accepted) vs `up` of an empty
//     definition measured in the same run.
// Prints figures and ratios; asserts nothing. Run: npx tsx bench/provisioning.ts
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { run } from "../lab/host/run";
import { pulumiProject } from "../test/support/pulumi-project";
import { isolatedDevDefinition } from "../test/support/lab-definition";
import { labStack } from "../test/support/lab-stack";

const dir = mkdtempSync(join(tmpdir(), "phoenix-bench-prov-"));
const state = join(dir, "state");

const sessions = () => (readFileSync(join(state, "ssh", "sshd.log"), "utf8").match(/Accepted publickey/g) ?? []).length;
const guest = (vmid: number, name: string, template: string, bridge: string, extra: Record<string, unknown> = {}) => ({
  vmid,
  name,
  template,
  memory: 1024,
  disk: { storage: "tank-lxc", size: 4 },
  network: [{ name: "eth0", bridge, ip: "auto" }],
  ...extra,
});

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, (performance.now() - t0) / 1000];
}

async function main() {
  const iso = isolatedDevDefinition(dir);
  const d = iso.raw;
  d.nodes[0].zfs.datasets = d.nodes[0].zfs.datasets.map((x: any) => ({ ...x, protect: false }));
  d.guests = [];
  d.apps = []; // dev.yaml's demo app runs on a guest the benchmark leaves out
  const { lab, project, teardown } = await labStack({
    dir,
    iso,
    stackName: "bench",
    secrets: { portainerAdminPassword: "bench-only" },
  });
  const file = join(dir, "bench.yaml");
  const write = () => writeFileSync(file, stringify(d));
  const up = async () => {
    writeFileSync(project.definition, readFileSync(file, "utf8"));
    const r = await project.stack.up();
    if (r.summary.result !== "succeeded") throw new Error(`up ${r.summary.result}`);
  };
  try {
    // Not timed: the golden template itself, and one base+docker build to warm the apt proxy's cache.
    d.guests = [
      guest(240, "warmup", "debian-12-base", iso.bridge, { nesting: true, features: { docker: { source: "debian" } } }),
    ];
    write();
    await up();
    d.guests = [];
    write();
    await up();

    d.guests = [guest(241, "from-golden", "docker-golden", iso.bridge)];
    write();
    const [, golden] = await timed(up);
    d.guests.push(
      guest(242, "from-base", "debian-12-base", iso.bridge, { nesting: true, features: { docker: { source: "debian" } } }),
    );
    write();
    const [, base] = await timed(up);
    const dockerOk = (vmid: number) =>
      run(
        "lxc-attach",
        ["-P", join(state, "lxc"), "-n", String(vmid), "--", "docker", "info", "--format", "{{.ServerVersion}}"],
        { allowFail: true },
      ).stdout.trim();

    const before = sessions();
    const [, noop] = await timed(up);
    const noopSessions = sessions() - before;

    const emptyDir = mkdtempSync(join(tmpdir(), "phoenix-bench-empty-"));
    const emptyFile = join(emptyDir, "empty.yaml");
    writeFileSync(
      emptyFile,
      stringify({
        ...d,
        templates: [],
        guests: [],
        nodes: [{ ...d.nodes[0], zfs: { pools: d.nodes[0].zfs.pools, datasets: [] } }],
      }),
    );
    const empty = await pulumiProject({
      stackName: "empty",
      definitionFile: emptyFile,
      secrets: {
        nodeSshKey: lab.sshPrivateKey,
        proxmoxRootPassword: lab.credentials.rootPassword,
        guestSshPublicKey: "unused",
        portainerAdminPassword: "unused",
      },
    });
    await empty.stack.up();
    const [, emptyUp] = await timed(() => empty.stack.up());
    await empty.cleanup();
    rmSync(emptyDir, { recursive: true, force: true });

    console.log("Docker-ready container (pulumi up adding one guest; 2 cores, warm apt proxy)");
    console.log(`  cloned from the golden template:          ${golden.toFixed(1)} s  (docker ${dockerOk(241) || "missing"})`);
    console.log(`  base template + docker feature:            ${base.toFixed(1)} s  (docker ${dockerOk(242) || "missing"})`);
    console.log(`  golden is ${(base / golden).toFixed(1)}× faster (goal ≥ 5×)`);
    console.log("No-op up of the converged stack vs up of an empty definition (same run)");
    console.log(`  converged stack: ${noop.toFixed(1)} s, ${noopSessions} SSH session(s) to the node`);
    console.log(`  empty definition: ${emptyUp.toFixed(1)} s;  ratio ${(noop / emptyUp).toFixed(2)}×`);
  } finally {
    await teardown();
  }
}

main().catch((e) => {
  console.error(`bench failed: ${(e as Error).message}`);
  process.exit(1);
});
