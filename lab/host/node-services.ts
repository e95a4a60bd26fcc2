// The lab node's services: this machine runs no systemd (its PID 1 is not), so the node's sessions get a `systemctl` of
// the lab's that runs dnsmasq.service the way its unit does (Debian's own /usr/share/dnsmasq/systemd-helper: checkconfig,
// exec, the resolvconf hooks), with the lab's own /etc/dnsmasq.d and /run/dnsmasq; any other unit goes to the real
// systemctl, which says systemd is not running. Labs side by side each run their own dnsmasq on their own bridge.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ok, run, waitFor } from "./run";

/** The node's directories a lab keeps its own of (bind-mounted in its node sshd's mount namespace): target → source. */
export function nodeServiceBinds(stateDir: string): Record<string, string> {
  const dir = join(stateDir, "node");
  return { "/etc/dnsmasq.d": join(dir, "etc-dnsmasq.d"), "/run/dnsmasq": join(dir, "run-dnsmasq") };
}

/** Makes the bind sources, and their targets on this machine (empty directories, as the package would make them). */
export function ensureNodeServiceDirs(stateDir: string): void {
  for (const [target, source] of Object.entries(nodeServiceBinds(stateDir))) {
    mkdirSync(source, { recursive: true });
    mkdirSync(target, { recursive: true });
  }
}

const UNIT_FLAGS = "-q|--quiet|--no-block|--no-pager|--no-ask-password|--now|--system";

/** `systemctl` for the node's sessions, first on their PATH (host/sshd.ts, the /usr/local/sbin overlay). */
export function labSystemctl(): string {
  return `#!/bin/sh
# phoenix-lab systemctl: this lab node has no systemd. dnsmasq.service runs as its unit says (Type=forking,
# PIDFile=/run/dnsmasq/dnsmasq.pid, Debian's systemd-helper for ExecStartPre/ExecStart/ExecStartPost/ExecStop);
# "enabled" is a mark (the lab never boots). Every other unit: the real systemctl.
quiet=0 verb= unit=
for a in "$@"; do
  case $a in
    -q | --quiet) quiet=1 ;;
    ${UNIT_FLAGS}) ;;
    -*) exec /usr/bin/systemctl "$@" ;;
    *) if [ -z "$verb" ]; then verb=$a; elif [ -z "$unit" ]; then unit=$a; else exec /usr/bin/systemctl "$@"; fi ;;
  esac
done
case $unit in dnsmasq | dnsmasq.service) ;; *) exec /usr/bin/systemctl "$@" ;; esac
helper=/usr/share/dnsmasq/systemd-helper
pidfile=/run/dnsmasq/dnsmasq.pid
mark=/run/dnsmasq/.phoenix-lab-enabled
say() { [ "$quiet" = 1 ] || echo "$@"; }
main_pid() {
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q dnsmasq "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}
installed() { [ -x "$helper" ] || { echo "Unit dnsmasq.service could not be found." >&2; exit 5; }; }
start() {
  installed
  main_pid >/dev/null && return 0
  "$helper" checkconfig || { echo "Job for dnsmasq.service failed: its configuration does not pass dnsmasq --test." >&2; exit 1; }
  "$helper" exec || { echo "Job for dnsmasq.service failed because the control process exited with error code." >&2; exit 1; }
  "$helper" start-resolvconf || true
}
stop() {
  pid=$(main_pid) || return 0
  "$helper" stop-resolvconf || true
  kill "$pid"
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  rm -f "$pidfile"
}
case $verb in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  reload | force-reload) pid=$(main_pid) && kill -HUP "$pid" ;;
  try-restart | condrestart) if main_pid >/dev/null; then stop; start; fi ;;
  is-active) if main_pid >/dev/null; then say active; else say inactive; exit 3; fi ;;
  is-enabled) installed; if [ -e "$mark" ]; then say enabled; else say disabled; exit 1; fi ;;
  enable) installed; touch "$mark" ;;
  disable) rm -f "$mark" ;;
  status) if pid=$(main_pid); then echo "dnsmasq.service: active (running), main PID $pid"; else echo "dnsmasq.service: inactive (dead)"; exit 3; fi ;;
  *) exec /usr/bin/systemctl "$@" ;;
esac
`;
}

/** Stops the lab's dnsmasq (its sessions' /run/dnsmasq is the lab's own directory), if it runs. */
export async function stopNodeDnsmasq(stateDir: string): Promise<void> {
  const pidfile = join(nodeServiceBinds(stateDir)["/run/dnsmasq"]!, "dnsmasq.pid");
  if (!existsSync(pidfile)) return;
  const pid = Number(readFileSync(pidfile, "utf8").trim());
  const cmdline =
    Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, "utf8") : "";
  if (!cmdline.includes("dnsmasq")) return;
  run("kill", [String(pid)], { allowFail: true });
  await waitFor("the lab node's dnsmasq to exit", () => !ok("kill", ["-0", String(pid)]), 10_000);
}
