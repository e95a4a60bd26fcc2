# Removes an app: `down --remove-orphans` (with -v, and the volumes Phoenix created, when APP_REMOVE_VOLUMES is 1),
# then its project directory. A project directory that is gone falls back to Docker's labels.
command -v docker >/dev/null || exit 0
down=(down --remove-orphans)
[ "${APP_REMOVE_VOLUMES:-0}" != 1 ] || down+=(-v)
if [ -f "$R$APP_DIR/compose.yaml" ] && phx_compose_detect && phx_app_compose "${down[@]}" 2>&1; then
  phx_log "down: $APP_NAME"
else
  phx_app_remove_by_label
fi
phx_app_remove_volumes
rm -rf -- "$R${APP_DIR:?}"
phx_log "removed $APP_DIR"
