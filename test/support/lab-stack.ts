// A lab of its own and a Pulumi stack of its definition, for end-to-end tests and benchmarks: free ports, the
// lab brought up from the (isolated) definition, a scratch project with the lab's credentials as secret config.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { run } from "../../lab/host/run";
import { type LabUp, labDown, labUp } from "../../lab/lab";
import { type PulumiProject, pulumiProject } from "./pulumi-project";
import { checkShape } from "../../definition/load";
import type { IsolatedDefinition } from "./lab-definition";

export interface LabStack {
  lab: LabUp;
  project: PulumiProject;
  /** The lab's state directory. */
  state: string;
  /** Destroys the stack (best effort), then the project, the lab and `dir`. */
  teardown(): Promise<void>;
}

export async function labStack(o: {
  dir: string;
  iso: IsolatedDefinition;
  stackName: string;
  secrets?: Record<string, string>;
  /** Files beside the definition (custom scripts), by path relative to the project directory. */
  files?: Record<string, string>;
}): Promise<LabStack> {
  await o.iso.assignPorts();
  const shaped = checkShape(o.iso.raw);
  if (!shaped.definition) throw new Error(`test definition is invalid: ${JSON.stringify(shaped.problems)}`);
  const state = join(o.dir, "state");
  const lab = await labUp({ definition: shaped.definition, stateDir: state });
  const file = join(o.dir, `${o.stackName}.yaml`);
  // The lab's certificate is its own: pin it, so the stack runs with TLS verified as a real node's should.
  delete o.iso.raw.nodes[0].api.insecure;
  o.iso.raw.nodes[0].api.fingerprint = lab.apiFingerprint;
  writeFileSync(file, o.iso.text());
  const project = await pulumiProject({
    stackName: o.stackName,
    definitionFile: file,
    secrets: {
      nodeSshKey: lab.sshPrivateKey,
      guestSshPublicKey: run("ssh-keygen", ["-y", "-f", join(state, "ssh", "client_ed25519")]).stdout.trim(),
      proxmoxRootPassword: lab.credentials.rootPassword,
      ...o.secrets,
    },
  });
  for (const [rel, text] of Object.entries(o.files ?? {})) {
    mkdirSync(dirname(join(project.dir, rel)), { recursive: true });
    writeFileSync(join(project.dir, rel), text);
  }
  return {
    lab,
    project,
    state,
    teardown: async () => {
      await project.stack.destroy().catch(() => undefined);
      await project.cleanup();
      await labDown(state);
      rmSync(o.dir, { recursive: true, force: true });
    },
  };
}
