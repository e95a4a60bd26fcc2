# Prints each declared agent and whether the server has it as an environment at its URL; exit 1 when one is not.
# Logs in with the password the portainer feature keeps in its root-only file (checks get no secrets).
[ -r "$R/etc/portainer/admin-password" ] || { echo "no $R/etc/portainer/admin-password: the portainer feature has not run"; exit 1; }
# shellcheck disable=SC2034 # phx_portainer_login reads it by name, so the password never appears in argv
admin_password=$(cat "$R/etc/portainer/admin-password")
PHX_PORTAINER_WAIT=${PHX_PORTAINER_WAIT:-10}
phx_portainer_connect
jwt=$(phx_portainer_login admin_password) || { echo "Portainer refused the admin password in $R/etc/portainer/admin-password"; exit 1; }
registered=$(phx_portainer_endpoints "$jwt")
rc=0
while read -r name url; do
  [ -n "$name" ] || continue
  if printf '%s\n' "$registered" | cut -f2- | grep -qxF "$(printf '%s\t%s' "$name" "$url")"; then
    echo "agent $name: registered at $url"
  else
    echo "agent $name: not registered at $url"
    rc=1
  fi
done < <(printf '%s\n' "$PORTAINER_AGENTS" | sort)
exit "$rc"
