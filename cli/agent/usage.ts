// The agent verb's usage lines, apart from the agent itself: `phoenix help` must not load the Automation API.
export const AGENT_USAGE = `  phoenix agent [run] [--repo <git url>] [--project-dir <dir in repo>] [--state-dir <dir>] [--listen 127.0.0.1:8787]
                      [--poll 60s] [--webhook-secret-file <file>]
  phoenix agent status [--url http://127.0.0.1:8787] [--env <env>] [--limit 20] [--json]`;
