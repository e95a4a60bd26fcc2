// The `phoenix agent` verb: run the deploy agent (a long-running process, see README "The deploy agent"), or show its
// status and run history from its loopback endpoint.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { UsageError, type Io } from "../io";
import { Agent } from "./agent";
import { parseDeploySettings } from "./deploy-settings";
import { parseDuration } from "./duration";
import { serve } from "./server";
import type { RunRecord } from "./store";

export { AGENT_USAGE } from "./usage";

export async function agentCommand(args: string[], io: Io): Promise<number> {
  const sub = args[0] === "run" || args[0] === "status" ? args[0] : "run";
  const rest = args[0] === sub ? args.slice(1) : args;
  return sub === "status" ? status(rest, io) : runAgent(rest, io);
}

/** The remote the deploy files of the project in `cwd` name (they must agree). */
function remoteFromDeployFiles(cwd: string): string {
  const urls = new Set(
    readdirSync(cwd)
      .filter((f) => /^Pulumi\..+\.deploy\.yaml$/.test(f))
      .map((f) => parseDeploySettings(readFileSync(join(cwd, f), "utf8"), f).repoUrl),
  );
  if (urls.size !== 1)
    throw new UsageError(
      urls.size
        ? `the deploy files name different repositories (${[...urls].join(", ")}): pass --repo`
        : "no Pulumi.<env>.deploy.yaml here: pass --repo",
    );
  return [...urls][0]!;
}

/** Puts the pinned pulumi on PATH when none is there (scripts/bootstrap-toolchain.sh: a cache hit after the first time). */
function ensurePulumi(io: Io) {
  if (spawnSync("pulumi", ["version"], { encoding: "utf8" }).status === 0) return;
  const script = join(__dirname, "..", "..", "scripts", "bootstrap-toolchain.sh");
  const r = spawnSync("bash", [script, "--print-env"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) throw new Error("no pulumi on PATH and scripts/bootstrap-toolchain.sh failed");
  for (const line of r.stdout.split("\n")) {
    const m = /^export ([A-Z_]+)='(.*)'$/.exec(line);
    // The bootstrap's default backend is the agent's only when none is configured.
    if (m && !(m[1] === "PULUMI_BACKEND_URL" && process.env.PULUMI_BACKEND_URL))
      process.env[m[1]!] = m[2]!.replace(/'\\''/g, "'");
  }
  io.err("phoenix agent: pulumi from scripts/bootstrap-toolchain.sh");
}

async function runAgent(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      repo: { type: "string" },
      "project-dir": { type: "string", default: "." },
      "state-dir": { type: "string", default: process.env.STATE_DIRECTORY ?? "/var/lib/phoenix-agent" },
      listen: { type: "string", default: "127.0.0.1:8787" },
      poll: { type: "string", default: "60s" },
      "webhook-secret-file": { type: "string" },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const pollMs = parseDuration(values.poll!);
  if (!pollMs) throw new UsageError("--poll takes a duration such as 30s or 5m");
  const m = /^(.+):(\d+)$/.exec(values.listen!);
  if (!m) throw new UsageError("--listen takes host:port, e.g. 127.0.0.1:8787");
  const secretFile = values["webhook-secret-file"];
  if (secretFile && !existsSync(secretFile)) throw new UsageError(`--webhook-secret-file ${secretFile} does not exist`);
  const secret = secretFile ? readFileSync(secretFile, "utf8").trim() : "";
  const remote = values.repo ?? remoteFromDeployFiles(process.cwd());
  // An empty PULUMI_CONFIG_PASSPHRASE would win over a PULUMI_CONFIG_PASSPHRASE_FILE from the deploy settings.
  if (process.env.PULUMI_CONFIG_PASSPHRASE === "") delete process.env.PULUMI_CONFIG_PASSPHRASE;
  ensurePulumi(io);
  const env: Record<string, string> = { PULUMI_SKIP_UPDATE_CHECK: "true" };
  for (const k of ["PULUMI_BACKEND_URL", "PULUMI_HOME", "PATH"]) if (process.env[k]) env[k] = process.env[k]!;
  const stateDir = resolve(values["state-dir"]!);
  env.PHOENIX_LOG_DIR = process.env.PHOENIX_LOG_DIR ?? join(stateDir, "logs", "provisioning");
  const agent = new Agent({
    remote,
    stateDir,
    projectDir: values["project-dir"]!,
    pollMs,
    env,
    log: (s) => io.err(`[phoenix agent] ${s}`),
  });
  const server = await serve(agent, { host: m[1]!, port: Number(m[2]), secret });
  io.err(
    `[phoenix agent] ${remote} every ${values.poll}; state in ${stateDir}; http://${values.listen}/status${secret ? "" : " (no webhook secret: webhooks refused)"}`,
  );
  agent.start();
  await new Promise<void>((done) => {
    const stop = () => {
      io.err("[phoenix agent] stopping: waiting for running operations to finish");
      server.close();
      void agent.stop().then(done);
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  return 0;
}

async function status(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      url: { type: "string", default: "http://127.0.0.1:8787" },
      env: { type: "string" },
      limit: { type: "string", default: "20" },
      json: { type: "boolean" },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const base = values.url!.replace(/\/$/, "");
  const get = async (path: string) => {
    const r = await fetch(`${base}${path}`).catch((e: Error) => {
      throw new UsageError(`cannot reach the agent at ${base}: ${(e.cause as Error | undefined)?.message ?? e.message}`);
    });
    return r.json() as Promise<unknown>;
  };
  const st = (await get("/status")) as ReturnType<Agent["status"]>;
  const q = new URLSearchParams({ limit: values.limit!, ...(values.env ? { env: values.env } : {}) });
  const { runs } = (await get(`/runs?${q}`)) as { runs: RunRecord[] };
  if (values.json) {
    io.out(JSON.stringify({ status: st, runs }, null, 2));
    return 0;
  }
  io.out(`remote: ${st.remote}${st.lastPollError ? ` (last poll failed: ${st.lastPollError})` : ""}`);
  for (const [env, e] of Object.entries(st.environments))
    io.out(
      `${env}: converged to ${e.convergedTo?.slice(0, 12) ?? "nothing yet"}; drift: ${e.drifted ?? "none"}` +
        (e.failuresInARow
          ? `; ${e.failuresInARow} failure(s) in a row, automatic runs wait until ${e.automaticRunsNotBefore}`
          : ""),
    );
  const rows = [
    ["RUN", "ENV", "OP", "TRIGGER", "COMMIT", "RESULT", "CHANGES", "STARTED", "LOG"],
    ...runs.map((r) => [
      String(r.id),
      r.env,
      r.operation,
      r.trigger,
      `${r.commit.slice(0, 12)}${r.branch ? ` (${r.branch})` : ""}`,
      r.status,
      r.status === "failed" ? (r.error ?? "").split("\n")[0]! : (r.summary ?? ""),
      r.startedAt ?? "",
      r.log,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) io.out(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join("  "));
  return 0;
}
