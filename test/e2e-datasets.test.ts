// End to end, for the part of the dev stack the lab can converge today: the node's ZFS datasets,
// with the real engine (`pulumi up/refresh/destroy` through the Automation API), the built toolchain,
// the lab's node sshd and real zfs-fuse. Containers need the lab's Proxmox API, which is not built yet.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../lab/host/run";
import { labDown, labUp } from "../lab/lab";
import { type PulumiProject, pulumiProject } from "../lab/pulumi-project";
import { checkShape } from "../stacks/load";
import { isolatedDevDefinition } from "./support/lab-definition";

const dir = mkdtempSync(join(tmpdir(), "phoenix-e2e-"));
const iso = isolatedDevDefinition(dir);
const shared = `${iso.pool}/shared-data`;
const disks = `${iso.pool}/lxc-disks`;
let project: PulumiProject;
let target: string[];

const zfsGet = (prop: string, ds: string) => run("zfs", ["get", "-H", "-p", "-o", "value", prop, ds]).stdout.trim();
const changes = (c: Record<string, number> | undefined) => Object.fromEntries(Object.entries(c ?? {}).filter(([op]) => op !== "same"));

beforeAll(async () => {
  const { ssh: port } = await iso.assignPorts();
  iso.raw.nodes[0].zfs.datasets = iso.raw.nodes[0].zfs.datasets.map((d: any) => ({ ...d, protect: false }));
  const shaped = checkShape(iso.raw);
  expect(shaped.problems).toEqual([]);
  const lab = await labUp({ definition: shaped.definition!, stateDir: join(dir, "state"), sshPort: port });
  const file = join(dir, "dev.yaml");
  writeFileSync(file, iso.text());
  project = await pulumiProject({
    stackName: "e2e",
    definitionFile: file,
    secrets: {
      nodeSshKey: lab.sshPrivateKey,
      guestSshPublicKey: run("ssh-keygen", ["-y", "-f", join(dir, "state", "ssh", "client_ed25519")]).stdout.trim(),
      proxmoxRootPassword: "e2e-only",
      portainerAdminPassword: "e2e-only",
    },
  });
  const top = "urn:pulumi:e2e::phoenix::phoenix:index:PhoenixHypervisor";
  target = [`${top}::e2e`, ...[disks, shared].flatMap((d) => [`${top}$phoenix:index:ZfsDataset::${d}`, `${top}$phoenix:index:ZfsDataset$pulumi-nodejs:dynamic/phoenix:ZfsDataset::${d}`])];
}, 30 * 60_000);

afterAll(async () => {
  await project?.cleanup();
  await labDown(join(dir, "state"));
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe("datasets of the dev stack, converged by pulumi", () => {
  it("up creates them with the declared properties; a second up changes nothing", async () => {
    const first = await project.stack.up({ target });
    expect(first.summary.result).toBe("succeeded");
    expect(zfsGet("quota", shared)).toBe(String(1024 ** 3));
    expect(zfsGet("recordsize", shared)).toBe(String(128 * 1024));
    expect(zfsGet("compression", disks)).toBe("on");
    const second = await project.stack.up({ target });
    expect(changes(second.summary.resourceChanges)).toEqual({});
  }, 10 * 60_000);

  it("a changed quota is updated in place and the lab shows it", async () => {
    writeFileSync(project.definition, iso.text().replace("quota: 1G", "quota: 2G"));
    const r = await project.stack.up({ target });
    expect(changes(r.summary.resourceChanges)).toEqual({ update: 1 });
    expect(zfsGet("quota", shared)).toBe(String(2 * 1024 ** 3));
  }, 10 * 60_000);

  it("drift behind Pulumi's back shows on refresh and the next up repairs it", async () => {
    run("zfs", ["set", "quota=512M", shared]);
    const refreshed = await project.stack.refresh({ target });
    expect(changes(refreshed.summary.resourceChanges)).toEqual({ update: 1 });
    const repaired = await project.stack.up({ target });
    expect(changes(repaired.summary.resourceChanges)).toEqual({ update: 1 });
    expect(zfsGet("quota", shared)).toBe(String(2 * 1024 ** 3));
  }, 10 * 60_000);

  it("destroy removes them from the lab", async () => {
    await project.stack.destroy();
    expect(run("zfs", ["list", "-H", "-o", "name", "-r", iso.pool]).stdout.trim().split("\n")).toEqual([iso.pool]);
  }, 10 * 60_000);
});
