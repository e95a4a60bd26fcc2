// The Pulumi toolchain for tests: what scripts/bootstrap-toolchain.sh provides (built once, cached).
import { execFileSync } from "node:child_process";
import { join } from "node:path";

export const ROOT = join(__dirname, "..", "..");

let cached: Record<string, string> | undefined;

/** Environment (PATH with the pulumi CLI and plugins first, update checks off) for the Automation API. */
export function toolchainEnv(): Record<string, string> {
  if (cached) return cached;
  const out = execFileSync("bash", [join(ROOT, "scripts", "bootstrap-toolchain.sh"), "--print-env"], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 90 * 60 * 1000,
  });
  const env: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const m = /^export ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = unquote(m[2]!);
  }
  // The Automation API finds the `pulumi` binary on this process's PATH.
  if (env.PATH) process.env.PATH = env.PATH;
  cached = env;
  return env;
}

function unquote(v: string): string {
  if (v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1).replace(/'\\''/g, "'");
  if (v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(["\\$`])/g, "$1");
  return v;
}
