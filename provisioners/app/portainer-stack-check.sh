# Prints the stack as Portainer has it (its file, and its services through Portainer's Docker proxy to the agent);
# exits 1 on drift: no stack, another file, a service stopped, missing or on another image.
PHX_PORTAINER_WAIT=${PHX_PORTAINER_WAIT:-10}
phx_pt_connect
jwt=$(phx_pt_login_from_file) || { echo "cannot log in to Portainer with $R/etc/portainer/admin-password"; exit 1; }
eid=$(phx_pt_environment "$PORTAINER_ENVIRONMENT" "$jwt")
[ -n "$eid" ] || { echo "no environment $PORTAINER_ENVIRONMENT"; exit 1; }
sid=$(phx_pt_stack "$APP_NAME" "$eid" "$jwt")
[ -n "$sid" ] || { echo "no stack $APP_NAME on $PORTAINER_ENVIRONMENT"; exit 1; }
rc=0
status=$(phx_pt_call GET "/stacks/$sid/file" "$jwt")
# (both sides without their trailing newlines, which $(…) drops)
if [ "$status" = 200 ] && [ "$(jq -r .StackFileContent "$PT_OUT")" = "$(printf '%s' "$APP_COMPOSE")" ]; then
  echo "stack $APP_NAME on $PORTAINER_ENVIRONMENT: file as declared"
else
  echo "stack $APP_NAME on $PORTAINER_ENVIRONMENT: its file differs from the declared one (HTTP $status)"
  rc=1
fi
filters=$(jq -rn --arg p "$APP_NAME" '{label: ["com.docker.compose.project=\($p)"]} | tojson | @uri')
status=$(phx_pt_call GET "/endpoints/$eid/docker/containers/json?all=1&filters=$filters" "$jwt")
[ "$status" = 200 ] || { echo "listing the stack's containers through Portainer failed (HTTP $status)"; exit 1; }
jq -r '.[] | select(.Labels["com.docker.compose.oneoff"] != "True") |
  [.Labels["com.docker.compose.service"], .State, ((.Status | capture("\\((?<c>[0-9]+)\\)").c) // "0"), .Image] | join(" ")' "$PT_OUT" |
  phx_app_evaluate || rc=1
exit "$rc"
