// The lab's Docker registry (Debian's docker-registry, the distribution registry v2) on the bridge's
// gateway address. Guests' dockerd use it as their Docker Hub mirror ("registry-mirrors"), and it holds
// stand-in images pushed under Docker Hub's repository names (see stand-in-images.ts). Its storage
// outlives the lab, like the apt proxy's cache.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir } from "./base-template";
import { livePid, ok, run, waitFor } from "./run";

export const REGISTRY_PORT = 5000;
export const REGISTRY_BINARY = "/usr/bin/docker-registry";
/** What the registry and the stand-in images need from Debian (scripts/ensure-apt.sh). */
export const REGISTRY_PACKAGES = ["docker-registry", "busybox-static"];

const dirOf = (stateDir: string) => join(stateDir, "docker-registry");

function alive(pid: number): boolean {
  return ok("kill", ["-0", String(pid)]);
}

/** The recorded pid, if that process is still a docker-registry (a stale file after a reboot may name another). */
function pidOf(stateDir: string): number | undefined {
  const pid = livePid(join(dirOf(stateDir), "pid"));
  if (pid === undefined) return undefined;
  const cmdline = existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, "utf8") : "";
  return cmdline.includes("docker-registry") ? pid : undefined;
}

function answers(address: string, port: number): boolean {
  return ok("bash", ["-c", `exec 3<>/dev/tcp/${address}/${port}`]);
}

export function registryConfig(address: string, port: number, storageDir: string): string {
  return [
    "version: 0.1",
    "log:",
    "  level: info",
    "  fields:",
    "    service: phoenix-lab-registry",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${storageDir}`,
    "http:",
    `  addr: ${address}:${port}`,
    "",
  ].join("\n");
}

/** Starts the registry unless it already answers on address:port; returns its URL. */
export async function ensureRegistry(
  stateDir: string,
  address: string,
  port = REGISTRY_PORT,
  storageDir = join(cacheDir(), "registry"),
): Promise<string> {
  const url = `http://${address}:${port}`;
  const running = pidOf(stateDir);
  if (running !== undefined && answers(address, port)) return url;
  // Running but on another address or port (the lab came up on another bridge): start it afresh.
  if (running !== undefined) await stopRegistry(stateDir);
  if (!existsSync(REGISTRY_BINARY)) throw new Error(`${REGISTRY_BINARY} is missing: bash scripts/ensure-apt.sh docker-registry`);

  const dir = dirOf(stateDir);
  mkdirSync(dir, { recursive: true });
  mkdirSync(storageDir, { recursive: true });
  const config = join(dir, "config.yml");
  writeFileSync(config, registryConfig(address, port, storageDir));
  const logFd = openSync(join(dir, "log"), "a");
  let pid: number;
  try {
    // The registry has no daemon mode: run it in its own session so it outlives `phoenix lab up`.
    const child = spawn(REGISTRY_BINARY, ["serve", config], { detached: true, stdio: ["ignore", logFd, logFd] });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${REGISTRY_BINARY}`);
    pid = child.pid;
  } finally {
    closeSync(logFd);
  }
  writeFileSync(join(dir, "pid"), `${pid}\n`);
  await waitFor(`docker-registry on ${address}:${port}`, () => !alive(pid) || answers(address, port), 20_000);
  if (!alive(pid)) {
    rmSync(join(dir, "pid"), { force: true });
    const tail = readFileSync(join(dir, "log"), "utf8").trim().split("\n").slice(-5).join("\n");
    throw new Error(`docker-registry exited at start (${join(dir, "log")}):\n${tail}`);
  }
  return url;
}

export async function stopRegistry(stateDir: string): Promise<void> {
  const pid = pidOf(stateDir);
  if (pid !== undefined) {
    run("kill", [String(pid)], { allowFail: true });
    await waitFor("docker-registry to exit", () => !alive(pid), 15_000);
  }
  rmSync(join(dirOf(stateDir), "pid"), { force: true });
}
