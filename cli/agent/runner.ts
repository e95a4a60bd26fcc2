// One run of the agent: a clean work tree of the commit, the definition validated (a commit that does not validate
// fails here and touches nothing), the deploy settings' pre-run commands, then up, preview or refresh of the stack
// through Pulumi's Automation API, every line of output in the run's log.
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";
import { errorsOf, formatProblem } from "../../definition/problems";
import { loadDefinition } from "../../validate";
import { definitionOf } from "../env/project";
import { parseDeploySettings } from "./deploy-settings";
import type { Operation } from "./store";

type Automation = typeof import("@pulumi/pulumi/automation");
/** Loaded by the first run, not with this file: the Automation API takes seconds to load and every `phoenix` verb loads the CLI. */
const automation = (): Automation => createRequire(__filename)("@pulumi/pulumi/automation") as Automation;

export interface RunInput {
  env: string;
  operation: Operation;
  commit: string;
  /** The project's directory in the work tree (the deploy settings' repoDir). */
  workTree: string;
  log: string;
  /** The environment operations run with: the agent's, then the deploy settings' environmentVariables. */
  env0: Record<string, string>;
}

export interface RunOutput {
  changes: Record<string, number>;
}

/** A run that failed for a reason worth showing as it is (validation, a pre-run command), not as a crash. */
export class RunFailure extends Error {}

export async function executeRun(i: RunInput): Promise<RunOutput> {
  const log = (s: string) => appendFileSync(i.log, s.endsWith("\n") ? s : `${s}\n`);
  writeFileSync(i.log, `# ${i.operation} of ${i.env} at ${i.commit}, ${new Date().toISOString()}\n`);
  const deployFile = join(i.workTree, `Pulumi.${i.env}.deploy.yaml`);
  if (!existsSync(deployFile)) throw new RunFailure(`commit ${i.commit.slice(0, 12)} has no Pulumi.${i.env}.deploy.yaml`);
  const settings = parseDeploySettings(readFileSync(deployFile, "utf8"), `Pulumi.${i.env}.deploy.yaml`);
  if (i.operation !== "refresh") validate(i, log);
  const env = { ...i.env0, ...settings.environmentVariables };
  for (const cmd of settings.preRunCommands) await preRun(cmd, i.workTree, env, log);

  const stack = await automation().LocalWorkspace.createOrSelectStack(
    { stackName: i.env, workDir: i.workTree },
    { envVars: env },
  );
  const common = { onOutput: log, color: "never" as const };
  log(`## pulumi ${i.operation} --stack ${i.env}`);
  switch (i.operation) {
    case "up":
      return { changes: (await stack.up(common)).summary.resourceChanges ?? {} };
    case "preview":
      return { changes: (await stack.preview(common)).changeSummary };
    case "refresh":
      return { changes: (await stack.refresh(common)).summary.resourceChanges ?? {} };
  }
}

function validate(i: RunInput, log: (s: string) => void) {
  const stackFile = join(i.workTree, `Pulumi.${i.env}.yaml`);
  if (!existsSync(stackFile)) throw new RunFailure(`commit ${i.commit.slice(0, 12)} has no Pulumi.${i.env}.yaml`);
  const rel = definitionOf(stackFile) ?? `stacks/${i.env}.yaml`;
  const file = resolve(i.workTree, rel);
  const loaded = loadDefinition(file, { siblings: true });
  if (!loaded.definition) {
    const text = errorsOf(loaded.problems).map(formatProblem).join("\n");
    log(`## validation of ${rel} failed; nothing was touched\n${text}`);
    throw new RunFailure(`${rel} is invalid; nothing was touched:\n${text}`);
  }
  log(`## ${rel}: valid`);
}

function preRun(cmd: string, cwd: string, env: Record<string, string>, log: (s: string) => void): Promise<void> {
  log(`## pre-run: ${cmd}`);
  return new Promise((ok, fail) => {
    const p = spawn("bash", ["-c", cmd], { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    p.stdout.on("data", (b: Buffer) => log(b.toString()));
    p.stderr.on("data", (b: Buffer) => log(b.toString()));
    p.on("error", (e) => fail(new RunFailure(`pre-run command '${cmd}' could not start: ${e.message}`)));
    p.on("close", (code) =>
      code === 0 ? ok() : fail(new RunFailure(`pre-run command '${cmd}' failed (exit ${code}); see the log`)),
    );
  });
}
