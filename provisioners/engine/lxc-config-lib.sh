# Raw lxc.* lines in a Proxmox container config, shared by apparmor.sh and its delete script.
# Lines go into the main section (before the first [snapshot] section), where Proxmox reads the container's own
# settings. The lines written are recorded in a state file, so lines dropped from the definition are removed later.
# Proxmox's API cannot set raw lxc.* keys (only root may write them, in the file itself), hence the file edit.
# Keys whose lines the definition sets as a whole: a line of such a key it no longer has goes, whoever wrote it (an
# lxc.idmap line copied from a template included: Proxmox replaces its default map with all of a config's entries).
LXC_SINGLE_KEYS="lxc.apparmor.profile lxc.apparmor.allow_nesting lxc.apparmor.allow_incomplete lxc.seccomp.profile lxc.idmap"

# Proxmox's config lock: its writers of /etc/pve/lxc/<vmid>.conf (pct set, the API, vzdump) hold an exclusive flock on
# this file while they read, change and write the config (PVE::LXC::Config->lock_config, 10 s timeout). So do we.
phx_lxc_conf_lockfile() { printf '%s/run/lock/lxc/pve-config-%s.lock' "$R" "$1"; }

# phx_lxc_conf_apply CONF STATE LINES: makes CONF hold LINES (newline-separated), removing the lines STATE recorded
# that LINES no longer has and other values of single-valued keys LINES sets. Returns 0 when CONF changed. Holds the
# container's config lock throughout, refuses a config with a `lock:` (a backup, a snapshot… is running), and
# replaces the file whole (a temp file beside it, then a rename, as Proxmox writes configs).
phx_lxc_conf_apply() {
  local conf="$1" state="$2" lines="$3" vmid lockfile lockfd lock tmp changed=1
  [ -f "$conf" ] || phx_die "no container config at $conf"
  vmid=$(basename "$conf" .conf)
  lockfile=$(phx_lxc_conf_lockfile "$vmid")
  mkdir -p "$(dirname "$lockfile")" "$(dirname "$state")"
  exec {lockfd}>>"$lockfile"
  flock -w "${PHX_CONFIG_LOCK_TIMEOUT:-10}" "$lockfd" || phx_die "can't lock file '$lockfile' - got timeout: another writer holds CT $vmid's config; run pulumi up again"
  lock=$(sed -n '/^\[/q; s/^lock:[[:space:]]*//p' "$conf")
  if [ -n "$lock" ]; then
    phx_die "CT is locked ($lock): CT $vmid's config has 'lock: $lock', so its lxc lines were not written. Run pulumi up again once the $lock is over; if no $lock is running (a lock left behind), 'pct unlock $vmid' on the node removes it first."
  fi
  [ -f "$state" ] || : >"$state"
  tmp="$conf.tmp.$$"
  printf '%s\n' "$lines" >"$tmp.new"
  awk -v oldf="$state" -v newf="$tmp.new" -v singles="$LXC_SINGLE_KEYS" '
    function key(l,  k) { k = l; sub(/[:=].*/, "", k); gsub(/[ \t]/, "", k); return k }
    function flush_new(  i) { for (i = 1; i <= n; i++) if (!(order[i] in seen)) print order[i] }
    BEGIN {
      main = 1; n = 0; blanks = ""
      split(singles, s, " "); for (i in s) single[s[i]] = 1
      while ((getline l < oldf) > 0) old[l] = 1
      while ((getline l < newf) > 0) if (l != "" && !(l in want)) { want[l] = 1; order[++n] = l; newkey[key(l)] = 1 }
    }
    {
      if (main && $0 ~ /^\[/) { flush_new(); printf "%s", blanks; blanks = ""; main = 0 }
      if (!main) { print; next }
      if ($0 == "") { blanks = blanks "\n"; next }
      printf "%s", blanks; blanks = ""
      if ($0 in want) { if (!($0 in seen)) { seen[$0] = 1; print } ; next }
      if ($0 in old) next
      k = key($0)
      if ((k in single) && (k in newkey)) next
      print
    }
    END { if (main) { flush_new(); printf "%s", blanks } }
  ' "$conf" >"$tmp"
  if cmp -s "$tmp" "$conf"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$conf"
    changed=0
    phx_log "updated lxc lines in $conf"
  fi
  grep -v '^$' "$tmp.new" >"$state" || true
  rm -f "$tmp.new"
  exec {lockfd}>&-
  return "$changed"
}

phx_ct_running() { pct status "$1" 2>/dev/null | grep -q 'status: running'; }

# Raw lxc.* options take effect when the container starts: restart it if it runs.
phx_ct_restart_if_running() {
  if phx_ct_running "$1"; then
    phx_log "restarting CT $1 so its new lxc options apply"
    pct shutdown "$1" --timeout 120 || pct stop "$1"
    pct start "$1"
  fi
}

apparmor_enabled() { [ "$(cat "$R/sys/module/apparmor/parameters/enabled" 2>/dev/null || true)" = Y ]; }
apparmor_loaded() { grep -q "^$1 " "$R/sys/kernel/security/apparmor/profiles" 2>/dev/null; }
