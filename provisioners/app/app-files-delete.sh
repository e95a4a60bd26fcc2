# Removes the guest's side of a Portainer-deployed app (the stack is gone by now): its project directory, and with
# APP_REMOVE_VOLUMES=1 its volumes.
command -v docker >/dev/null || exit 0
if [ "${APP_REMOVE_VOLUMES:-0}" = 1 ]; then
  ids=$(docker volume ls -q --filter "label=com.docker.compose.project=$APP_NAME")
  # shellcheck disable=SC2086
  [ -z "$ids" ] || docker volume rm $ids >/dev/null || true
fi
phx_app_remove_volumes
rm -rf -- "$R${APP_DIR:?}"
phx_log "removed $APP_DIR"
