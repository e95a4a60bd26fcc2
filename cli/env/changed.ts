// `phoenix env changed <base> [<head>]`: the environments whose deploy path filters match a file changed between two
// commits (what CI's matrix and the agent deploy), one per line or as a JSON array.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Io } from "../io";
import { parseDeploySettings } from "../agent/deploy-settings";
import { anyPathMatches } from "../agent/paths";
import { environments } from "./project";

export function changedFiles(cwd: string, base: string, head: string): string[] {
  const top = execFileSync("git", ["rev-parse", "--show-toplevel"], { cwd, encoding: "utf8" }).trim();
  const out = execFileSync("git", ["diff", "--name-only", "--no-renames", base, head], { cwd: top, encoding: "utf8" });
  return out.split("\n").filter(Boolean);
}

export function envChanged(project: string, base: string, head: string, json: boolean, io: Io): number {
  const files = changedFiles(project, base, head);
  const changed = environments(project)
    .filter((e) => e.deployFile && e.stackFile)
    .filter((e) => {
      const s = parseDeploySettings(readFileSync(e.deployFile!, "utf8"), e.deployFile!);
      return anyPathMatches(s.paths, files, s.repoDir);
    })
    .map((e) => e.name);
  io.out(json ? JSON.stringify(changed) : changed.join("\n"));
  return 0;
}
