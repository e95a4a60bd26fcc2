// The deploy settings (Pulumi.<env>.deploy.yaml) and agent policy (stacks/<env>.agent.yaml) of a new environment.

/** Another environment's deploy file, its paths and names moved to `to`. */
export function renameInDeployFile(text: string, from: string, to: string): string {
  const esc = from.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return text
    .replace(new RegExp(`stacks/${esc}\\.`, "g"), `stacks/${to}.`)
    .replace(new RegExp(`Pulumi\\.${esc}\\.`, "g"), `Pulumi.${to}.`)
    .replace(new RegExp(`\\b${esc} stack\\b`, "g"), `${to} stack`);
}

export function defaultDeployFile(env: string): string {
  return `# Pulumi Deployments settings of the ${env} stack (Pulumi's DeploymentSettings under settings:); see README,
# "Deployments from git". Set repoUrl, repository and agentPoolID to yours.
settings:
  sourceContext:
    git:
      repoUrl: https://github.com/your-org/phoenix-hypervisor.git
      branch: refs/heads/main
      repoDir: .
  gitHub:
    repository: your-org/phoenix-hypervisor
    deployCommits: true
    previewPullRequests: true
    paths:
      - stacks/${env}.yaml
      - stacks/${env}.lock.json
      - stacks/${env}.agent.yaml
      - Pulumi.${env}.yaml
      - Pulumi.${env}.deploy.yaml
      - Pulumi.yaml
      - index.ts
      - package-lock.json
      - definition/**
      - validate/**
      - plan/**
      - components/**
      - provisioners/**
  operationContext:
    preRunCommands:
      - npm ci --no-audit --no-fund
    environmentVariables:
      PULUMI_CONFIG_PASSPHRASE_FILE: /etc/phoenix-agent/passphrase
      PULUMI_SKIP_UPDATE_CHECK: "true"
    options:
      skipInstallDependencies: true
  agentPoolID: your-agent-pool-id
`;
}

export function defaultAgentFile(env: string): string {
  return `# What \`phoenix agent\` does for the ${env} environment between commits (README, "The deploy agent").
# heal: auto = drift or a failed health check found by a scheduled refresh runs up; report = record it, touch nothing.
heal: report
# How often the agent refreshes the stack (s, m, h).
refreshEvery: 30m
`;
}
