# Deletes the stack through Portainer's API (Portainer runs `down` against the agent); a stack already gone is fine.
PHX_PORTAINER_WAIT=${PHX_PORTAINER_WAIT:-30}
phx_pt_connect
jwt=$(phx_pt_login_from_file) || phx_die "cannot log in to Portainer with $R/etc/portainer/admin-password to delete stack $APP_NAME"
eid=$(phx_pt_environment "$PORTAINER_ENVIRONMENT" "$jwt")
[ -n "$eid" ] || { phx_log "no environment $PORTAINER_ENVIRONMENT: stack $APP_NAME went with it"; exit 0; }
sid=$(phx_pt_stack "$APP_NAME" "$eid" "$jwt")
[ -n "$sid" ] || { phx_log "no stack $APP_NAME on $PORTAINER_ENVIRONMENT"; exit 0; }
status=$(phx_pt_call DELETE "/stacks/$sid?endpointId=$eid" "$jwt")
[ "$status" = 204 ] || [ "$status" = 404 ] || phx_die "deleting stack $APP_NAME ($sid) failed (HTTP $status): $(head -c 600 "$PT_OUT")"
phx_log "deleted stack $APP_NAME ($sid) from $PORTAINER_ENVIRONMENT"
