# Raw lxc.* lines in a Proxmox container config, shared by apparmor.sh and its delete script.
# Lines go into the main section (before the first [snapshot] section), where Proxmox reads the container's own
# settings. The lines written are recorded in a state file, so lines dropped from the definition are removed later.
# Keys whose lines the definition sets as a whole: a line of such a key it no longer has goes, whoever wrote it (an
# lxc.idmap line copied from a template included: Proxmox replaces its default map with all of a config's entries).
LXC_SINGLE_KEYS="lxc.apparmor.profile lxc.apparmor.allow_nesting lxc.apparmor.allow_incomplete lxc.seccomp.profile lxc.idmap"

# phx_lxc_conf_apply CONF STATE LINES: makes CONF hold LINES (newline-separated), removing the lines STATE recorded
# that LINES no longer has and other values of single-valued keys LINES sets. Returns 0 when CONF changed.
phx_lxc_conf_apply() {
  local conf="$1" state="$2" lines="$3" tmp
  [ -f "$conf" ] || phx_die "no container config at $conf"
  mkdir -p "$(dirname "$state")"
  [ -f "$state" ] || : >"$state"
  tmp=$(mktemp)
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
  grep -v '^$' "$tmp.new" >"$state" || true
  rm -f "$tmp.new"
  if cmp -s "$tmp" "$conf"; then
    rm -f "$tmp"
    return 1
  fi
  # /etc/pve is Proxmox's cluster filesystem: rewrite the file in place rather than renaming over it.
  cat "$tmp" >"$conf"
  rm -f "$tmp"
  phx_log "updated lxc lines in $conf"
  return 0
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
