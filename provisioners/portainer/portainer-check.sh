# Prints the Portainer container's image, port and state; exits non-zero unless it runs the declared image, publishes
# the declared port and restarts always (an adopted guest skips portainer.sh only when all of that holds).
if ! state=$(docker inspect -f '{{.Config.Image}} {{.State.Running}} {{.HostConfig.RestartPolicy.Name}}' "$PORTAINER_NAME" 2>/dev/null); then
  echo "portainer $PORTAINER_ROLE: no container $PORTAINER_NAME"
  exit 1
fi
read -r image running restart <<<"$state"
case "$PORTAINER_ROLE" in server) inner=9443 ;; *) inner=9001 ;; esac
published=$(docker inspect -f "{{range (index .HostConfig.PortBindings \"$inner/tcp\")}}{{.HostPort}} {{end}}" "$PORTAINER_NAME" 2>/dev/null || true)
echo "portainer $PORTAINER_ROLE $image on port ${published% }, running: $running"
[ "$running" = true ] && [ "$image" = "$PORTAINER_IMAGE" ] && [ "${published% }" = "$PORTAINER_PORT" ] && [ "$restart" = always ]
