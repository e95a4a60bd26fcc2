// What the agent reads of Pulumi.<env>.deploy.yaml: the git source, the path filters, the pre-run commands and the
// environment. The whole file is checked against Pulumi's own type by scripts/toolchain/deploy-settings-check.
import { parse } from "yaml";
import { z } from "zod";

const SecretValue = z.union([
  z.string(),
  z.object({ secret: z.string() }).strict(),
  z.object({ ciphertext: z.string() }).strict(),
  z.object({ isSecret: z.boolean().optional(), value: z.string() }).strict(),
]);

const Settings = z.object({
  sourceContext: z.object({
    git: z.object({
      repoUrl: z.string().min(1),
      branch: z.string().min(1),
      repoDir: z.string().optional(),
    }),
  }),
  gitHub: z
    .object({
      deployCommits: z.boolean().optional(),
      previewPullRequests: z.boolean().optional(),
      paths: z.array(z.string()).optional(),
    })
    .optional(),
  operationContext: z
    .object({
      preRunCommands: z.array(z.string()).optional(),
      environmentVariables: z.record(z.string(), SecretValue).optional(),
      options: z.object({ skipIntermediateDeployments: z.boolean().optional() }).optional(),
    })
    .optional(),
});

export interface DeploySettings {
  repoUrl: string;
  /** The branch name without refs/heads/. */
  branch: string;
  repoDir: string;
  deployCommits: boolean;
  previewPullRequests: boolean;
  paths: string[];
  preRunCommands: string[];
  environmentVariables: Record<string, string>;
  skipIntermediateDeployments: boolean;
}

export class DeploySettingsError extends Error {}

export function parseDeploySettings(text: string, source: string): DeploySettings {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    throw new DeploySettingsError(`${source}: not valid YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  const r = z.object({ settings: Settings }).safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new DeploySettingsError(`${source}: ${i.path.join(".")}: ${i.message}`);
  }
  const s = r.data.settings;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.operationContext?.environmentVariables ?? {})) {
    if (typeof v === "string") env[k] = v;
    else if ("secret" in v) env[k] = v.secret;
    else if ("value" in v) env[k] = v.value;
    else
      throw new DeploySettingsError(
        `${source}: settings.operationContext.environmentVariables.${k} is Pulumi Cloud ciphertext, which only Pulumi Deployments can decrypt; give the agent a file path instead`,
      );
  }
  return {
    repoUrl: s.sourceContext.git.repoUrl,
    branch: s.sourceContext.git.branch.replace(/^refs\/heads\//, ""),
    repoDir: s.sourceContext.git.repoDir ?? ".",
    deployCommits: s.gitHub?.deployCommits ?? true,
    previewPullRequests: s.gitHub?.previewPullRequests ?? true,
    paths: s.gitHub?.paths ?? [],
    preRunCommands: s.operationContext?.preRunCommands ?? [],
    environmentVariables: env,
    skipIntermediateDeployments: s.operationContext?.options?.skipIntermediateDeployments ?? false,
  };
}
