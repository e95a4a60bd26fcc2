// `phoenix env list`: each environment, its backend, its last update and whether it drifted (the stack's history).
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Io } from "../io";
import { type HistoryEntry, type StackSummary, summarize } from "./history";
import { backendUrl, environments } from "./project";
import { pulumi, stackNames } from "./pulumi-cli";

export interface EnvRow extends StackSummary {
  env: string;
  definition: string;
  backend: string;
  stack: "initialised" | "missing" | "no Pulumi.<env>.yaml";
  deployFile: boolean;
  agentFile: boolean;
}

export function envRows(project: string): EnvRow[] {
  const backend = backendUrl(project);
  const stacks = new Set(stackNames(project));
  return environments(project).map((e) => {
    const stack = !e.stackFile ? "no Pulumi.<env>.yaml" : stacks.has(e.name) ? "initialised" : "missing";
    let summary: StackSummary = { drift: "unknown" };
    if (stack === "initialised") {
      const r = pulumi(project, ["stack", "history", "--json", "--stack", e.name, "--page-size", "100"]);
      if (r.code === 0) summary = summarize(JSON.parse(r.stdout || "[]") as HistoryEntry[]);
    }
    return {
      env: e.name,
      definition: e.definition + (existsSync(join(project, e.definition)) ? "" : " (missing)"),
      backend,
      stack,
      deployFile: e.deployFile !== undefined,
      agentFile: e.agentFile !== undefined,
      ...summary,
    };
  });
}

export function envList(project: string, json: boolean, io: Io): number {
  const rows = envRows(project);
  if (json) {
    io.out(JSON.stringify(rows, null, 2));
    return 0;
  }
  if (rows.length) io.out(`backend: ${rows[0]!.backend}`);
  const table = [
    ["ENV", "DEFINITION", "STACK", "LAST UPDATE", "DRIFT"],
    ...rows.map((r) => [
      r.env,
      r.definition,
      r.stack,
      r.lastUpdate ? `${r.lastUpdate.kind} ${r.lastUpdate.result} ${r.lastUpdate.time} (${r.lastUpdate.changes})` : "never",
      r.drift === "yes" ? `yes: ${r.driftDetail}` : r.drift === "no" ? "no" : "unknown (no refresh since the last update)",
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) io.out(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join("  "));
  return 0;
}
