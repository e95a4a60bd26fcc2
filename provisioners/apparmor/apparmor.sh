# On the node: an AppArmor profile installed, checked and loaded with apparmor_parser, and the container's raw lxc.*
# lines (its lxc.apparmor.profile and the definition's lxcOptions) in /etc/pve/lxc/<vmid>.conf, as the original system
# did. Params: VMID, APPARMOR_PROFILE (a name, or empty), APPARMOR_PROFILE_TEXT (empty for profiles the host ships),
# LXC_LINES (one `lxc.key: value` per line), LXC_RESTART (1: restart a running container whose lines changed).
conf="$R/etc/pve/lxc/$VMID.conf"
profile_changed=0
if [ -n "$APPARMOR_PROFILE_TEXT" ]; then
  [[ "$APPARMOR_PROFILE" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || phx_die "not an AppArmor profile name: '$APPARMOR_PROFILE'"
  file="$R/etc/apparmor.d/$APPARMOR_PROFILE"
  if printf '%s\n' "$APPARMOR_PROFILE_TEXT" | phx_write_if_changed "$file" 0644; then profile_changed=1; fi
  apparmor_parser -QK "$file" || phx_die "apparmor_parser rejects $file"
  if apparmor_enabled; then
    if [ "$profile_changed" = 1 ] || ! apparmor_loaded "$APPARMOR_PROFILE"; then apparmor_parser -r -W "$file"; fi
    phx_log "AppArmor profile $APPARMOR_PROFILE loaded"
  else
    phx_log "AppArmor profile $APPARMOR_PROFILE checked; this kernel has no AppArmor, so it is not loaded"
  fi
fi
if phx_lxc_conf_apply "$conf" "$R/var/lib/phoenix/lxc-lines/$VMID" "$LXC_LINES" || [ "$profile_changed" = 1 ]; then
  if [ "$LXC_RESTART" = 1 ]; then phx_ct_restart_if_running "$VMID"; fi
fi
