# Creates or updates an app's stack through Portainer's API, onto the environment of the guest's agent: Portainer runs
# Compose against the agent (`up -d --remove-orphans` on update, with prune). Params: APP_NAME, APP_COMPOSE,
# APP_ENV_JSON (plain variables), PORTAINER_NAME, PORTAINER_ENVIRONMENT. Secret: PORTAINER_ADMIN_PASSWORD.
# shellcheck disable=SC2016 # $name, $content, $env are jq's variables
phx_apt_install ca-certificates curl jq
phx_pt_connect
jwt=$(phx_pt_login PORTAINER_ADMIN_PASSWORD) ||
  phx_die "Portainer refused the declared admin password: the portainer feature sets it; run it first, or set the secret to the server's password"
eid=$(phx_pt_environment "$PORTAINER_ENVIRONMENT" "$jwt")
[ -n "$eid" ] || phx_die "Portainer has no environment named $PORTAINER_ENVIRONMENT: the guest's agent registers as one (features.portainer: { role: agent })"
sid=$(phx_pt_stack "$APP_NAME" "$eid" "$jwt")
body() { jq -n --rawfile content <(printf '%s' "$APP_COMPOSE") --rawfile env <(printf '%s' "$APP_ENV_JSON") "$@"; }
if [ -z "$sid" ]; then
  status=$(body --arg name "$APP_NAME" '{name: $name, stackFileContent: $content, env: ($env | fromjson)}' |
    phx_pt_call POST "/stacks/create/standalone/string?endpointId=$eid" "$jwt")
  [ "$status" = 200 ] || phx_die "creating stack $APP_NAME on $PORTAINER_ENVIRONMENT failed (HTTP $status): $(head -c 600 "$PT_OUT")"
  phx_log "created stack $APP_NAME (id $(jq -r .Id "$PT_OUT")) on environment $PORTAINER_ENVIRONMENT ($eid)"
else
  status=$(body '{stackFileContent: $content, env: ($env | fromjson), prune: true, pullImage: false}' |
    phx_pt_call PUT "/stacks/$sid?endpointId=$eid" "$jwt")
  [ "$status" = 200 ] || phx_die "updating stack $APP_NAME ($sid) failed (HTTP $status): $(head -c 600 "$PT_OUT")"
  phx_log "updated stack $APP_NAME ($sid) on environment $PORTAINER_ENVIRONMENT ($eid)"
fi
