# Registers the declared Portainer agents as environments of the server (runs in the server's guest, after the
# agents run). Params: PORTAINER_NAME (the server's container), PORTAINER_AGENTS (lines "name url", url
# tcp://address:port). Secret: PORTAINER_ADMIN_PASSWORD. Environments this step registered before and no longer
# declared are removed; ones made by hand under other names are left alone.
managed="$R/etc/portainer/phoenix-agents"
phx_portainer_tools
phx_portainer_connect
jwt=$(phx_portainer_login PORTAINER_ADMIN_PASSWORD) ||
  phx_die "Portainer refused the declared admin password (HTTP 422): the portainer feature sets it; run it first, or set the secret to the server's password"

declare -A want=()
while read -r name url; do [ -z "$name" ] || want[$name]=$url; done <<<"$PORTAINER_AGENTS"

remove() {
  local status
  status=$(phx_portainer_call DELETE "/endpoints/$1" "$jwt")
  [ "$status" = 204 ] || [ "$status" = 404 ] || phx_die "removing Portainer environment $2 failed (HTTP $status): $(head -c 300 "$PT_OUT")"
  phx_log "removed Portainer environment $2 ($3)"
}

declare -A have=()
while IFS=$'\t' read -r id name url; do
  [ -n "$id" ] || continue
  if [ -n "${want[$name]+set}" ]; then
    if [ "${want[$name]}" = "$url" ]; then have[$name]=1; else remove "$id" "$name" "$url, declared at ${want[$name]} now"; fi
  elif [ -f "$managed" ] && grep -qxF "$name" "$managed"; then
    remove "$id" "$name" "no longer declared"
  fi
done < <(phx_portainer_endpoints "$jwt")

for name in $(printf '%s\n' "${!want[@]}" | sort); do
  [ -z "${have[$name]:-}" ] || continue
  status=$(curl -sS -o "$PT_OUT" -w '%{http_code}' --max-time 60 -H 'Expect:' -H @"$PT_HEADERS" \
    -F "Name=$name" -F EndpointCreationType=2 -F "URL=${want[$name]}" -F GroupID=1 \
    -F TLS=true -F TLSSkipVerify=true -F TLSSkipClientVerify=true "$PT_API/endpoints") || status=000
  [ "$status" = 200 ] || phx_die "registering agent $name at ${want[$name]} failed (HTTP $status): $(head -c 300 "$PT_OUT") — is its portainer agent running and reachable from this guest?"
  phx_log "registered agent $name at ${want[$name]}"
done
printf '%s\n' "${!want[@]}" | sort | phx_write_if_changed "$managed" 0644 || true
