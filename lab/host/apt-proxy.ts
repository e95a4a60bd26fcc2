// The lab's caching apt proxy (Debian's apt-cacher-ng) on the bridge's gateway address: guests get
// Debian's packages through it and talk to no address but the lab's own. Its cache outlives the lab.
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir } from "./base-template";
import { livePid, ok, run, waitFor } from "./run";

export const APT_PROXY_PORT = 3142;

const pidOf = (stateDir: string) => livePid(join(stateDir, "apt-cacher-ng", "pid"));

function answers(address: string): boolean {
  return ok("bash", ["-c", `exec 3<>/dev/tcp/${address}/${APT_PROXY_PORT}`]);
}

/**
 * The Debian mirror this host's own apt uses. apt-cacher-ng would otherwise fetch from the backend its package
 * configured (ftp.debian.org), which a host that reaches only its configured mirror cannot resolve.
 */
export function hostDebianMirror(): string {
  const texts: string[] = [];
  for (const dir of ["/etc/apt/sources.list.d"])
    if (existsSync(dir))
      for (const f of readdirSync(dir).filter((f) => /\.(sources|list)$/.test(f))) texts.push(readFileSync(join(dir, f), "utf8"));
  if (existsSync("/etc/apt/sources.list")) texts.push(readFileSync("/etc/apt/sources.list", "utf8"));
  for (const t of texts) {
    const m = /^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(https?:\/\/\S+\/debian)\/?\s/m.exec(t);
    if (m) return `${m[1]}/`;
  }
  return "http://deb.debian.org/debian/";
}

export async function ensureAptProxy(stateDir: string, address: string): Promise<string> {
  const url = `http://${address}:${APT_PROXY_PORT}`;
  if (pidOf(stateDir) !== undefined && answers(address)) return url;
  const logs = join(stateDir, "apt-cacher-ng");
  const cache = join(cacheDir(), "apt-cacher-ng");
  mkdirSync(logs, { recursive: true });
  mkdirSync(cache, { recursive: true });
  run("apt-cacher-ng", [
    "-c",
    "/etc/apt-cacher-ng",
    `CacheDir=${cache}`,
    `LogDir=${logs}`,
    `PidFile=${join(logs, "pid")}`,
    `SocketPath=${join(logs, "socket")}`,
    `Port=${APT_PROXY_PORT}`,
    `BindAddress=${address}`,
    "ForeGround=0",
    `Remap-debrep=file:deb_mirror*.gz /debian ; ${hostDebianMirror()}`,
    // A cold cache fetches every package upstream while guests wait: retry a dropped download, give a slow mirror
    // time, and try IPv4 first (a host without IPv6 routes otherwise waits out FastTimeout on every connection).
    "DlMaxRetries=5",
    "NetworkTimeout=120",
    "ConnectProto=v4 v6",
  ]);
  await waitFor(`apt-cacher-ng on ${address}:${APT_PROXY_PORT}`, () => answers(address), 20_000);
  return url;
}

export async function stopAptProxy(stateDir: string): Promise<void> {
  const pid = pidOf(stateDir);
  if (pid === undefined) return;
  run("kill", [String(pid)], { allowFail: true });
  await waitFor("apt-cacher-ng to exit", () => !ok("kill", ["-0", String(pid)]), 15_000);
}

/** apt configuration a guest gets so every download goes through the lab's proxy, retried when it drops. */
export function aptProxyConf(url: string): string {
  return `Acquire::http::Proxy "${url}";\nAcquire::https::Proxy "DIRECT";\nAcquire::Retries "5";\n`;
}
