# Prints the Portainer container's image and state.
if ! state=$(docker inspect -f '{{.Config.Image}} {{.State.Running}}' "$PORTAINER_NAME" 2>/dev/null); then
  echo "portainer $PORTAINER_ROLE: no container $PORTAINER_NAME"
  exit 1
fi
image=${state% *}
echo "portainer $PORTAINER_ROLE $image on port $PORTAINER_PORT, running: ${state##* }"
[ "${state##* }" = true ] && [ "$image" = "$PORTAINER_IMAGE" ]
