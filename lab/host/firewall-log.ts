// The lab's stand-in for pvefw-logger: Debian's ulogd2 reads the packets the firewall's log rules hand to NFLOG (one
// group per lab node, from its nftables table's name, so labs side by side never read each other's) and writes each
// as a JSON record to the node's log file; the API formats them as pve-firewall's log lines when asked
// (pve/firewall-log.ts). Proxmox's own logger listens on group 0, which the lab leaves alone.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { livePid, ok, run, waitFor } from "./run";

export const ULOGD_PACKAGES = ["ulogd2", "ulogd2-json"];
const ULOGD = "/usr/sbin/ulogd";
const PLUGINS = "/usr/lib/x86_64-linux-gnu/ulogd";

/** The NFLOG group of a node's log rules (1…65535), from its nftables table's name (host/firewall-nft.ts). */
export function logGroup(table: string): number {
  return (parseInt(createHash("sha256").update(table).digest("hex").slice(0, 8), 16) % 65535) + 1;
}

/** Where a node's logged packets land (<node state>/firewall-log/pve-firewall.json, one JSON record a line). */
export const firewallLogFile = (nodeDir: string) => join(nodeDir, "firewall-log", "pve-firewall.json");

const daemonDir = (labDir: string) => join(labDir, "ulogd");

/** ulogd's configuration: one stack per node, NFLOG group → the node's JSON file. */
export function ulogdConfig(labDir: string, nodes: { dir: string; group: number }[]): string {
  const plugins = ["inppkt_NFLOG", "raw2packet_BASE", "filter_IFINDEX", "filter_IP2STR", "filter_HWHDR", "output_JSON"].map(
    (p) => `plugin="${PLUGINS}/ulogd_${p}.so"`,
  );
  const stacks = nodes.map(
    (_, i) => `stack=log${i}:NFLOG,base${i}:BASE,ifi${i}:IFINDEX,ip2str${i}:IP2STR,mac2str${i}:HWHDR,json${i}:JSON`,
  );
  const sections = nodes.flatMap((n, i) => [
    `[log${i}]`,
    `group=${n.group}`,
    `[json${i}]`,
    "sync=1",
    `file="${firewallLogFile(n.dir)}"`,
  ]);
  return [
    "[global]",
    `logfile="${join(daemonDir(labDir), "ulogd.log")}"`,
    "loglevel=3",
    ...plugins,
    ...stacks,
    ...sections,
    "",
  ].join("\n");
}

const pidOf = (labDir: string) => livePid(join(daemonDir(labDir), "pid"));

/**
 * Starts ulogd for the lab's nodes (each `dir` a node's state directory, `group` its NFLOG group), or restarts it when
 * the nodes changed; returns once it listens.
 */
export async function ensureFirewallLogger(labDir: string, nodes: { dir: string; group: number }[]): Promise<void> {
  const dir = daemonDir(labDir);
  mkdirSync(dir, { recursive: true });
  for (const n of nodes) mkdirSync(join(n.dir, "firewall-log"), { recursive: true });
  const conf = join(dir, "ulogd.conf");
  const text = ulogdConfig(labDir, nodes);
  const same = existsSync(conf) && readFileSync(conf, "utf8") === text;
  if (same && pidOf(labDir) !== undefined) return;
  await stopFirewallLogger(labDir);
  writeFileSync(conf, text);
  rmSync(join(dir, "ulogd.log"), { force: true });
  run(ULOGD, ["-d", "-c", conf, "-p", join(dir, "pid")]);
  const log = join(dir, "ulogd.log");
  const ready = () => existsSync(log) && readFileSync(log, "utf8").includes("entering main loop");
  try {
    await waitFor("ulogd (the firewall's log)", ready, 15_000);
  } catch {
    const said = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").slice(-3).join("; ") : "no log";
    throw new Error(`ulogd did not start listening on NFLOG groups ${nodes.map((n) => n.group).join(", ")}: ${said}`);
  }
}

export async function stopFirewallLogger(labDir: string): Promise<void> {
  const pid = pidOf(labDir);
  if (pid === undefined) return;
  run("kill", [String(pid)], { allowFail: true });
  await waitFor("ulogd to exit", () => !ok("kill", ["-0", String(pid)]), 10_000);
}

/** The node's logged packets, oldest first (ulogd2's JSON records; a line cut short by a write under way is skipped). */
export function readLoggedPackets(nodeDir: string): Record<string, string | number>[] {
  const f = firewallLogFile(nodeDir);
  if (!existsSync(f)) return [];
  return readFileSync(f, "utf8")
    .split("\n")
    .flatMap((l) => {
      try {
        return l ? [JSON.parse(l) as Record<string, string | number>] : [];
      } catch {
        return [];
      }
    });
}
