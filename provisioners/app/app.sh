# Deploys an app with the guest's compose CLI: its project directory (compose.yaml, .env of plain variables, rendered
# files, root-only secret files), its volumes, then `up -d --remove-orphans`, which recreates only the services whose
# configuration changed; services whose files changed are restarted. Params: see app-lib.sh, and APP_COMPOSE, APP_ENV,
# APP_INTERPOLATED (secret variables the compose file interpolates: exported to the compose CLI from the secret
# variables APP_VAR_<NAME>, never written to a file or an argument).
phx_detect_os
command -v docker >/dev/null || phx_die "docker is not installed: the docker feature runs first"
phx_compose_install
phx_app_write_files
printf '%s\n' "$APP_COMPOSE" | phx_write_if_changed "$R$APP_DIR/compose.yaml" 0600 >/dev/null || true
printf '%s\n' "$APP_ENV" | phx_write_if_changed "$R$APP_DIR/.env" 0600 >/dev/null || true
phx_app_volumes

phx_log "${PHX_COMPOSE[*]} $PHX_COMPOSE_VERSION: up -d --remove-orphans ($APP_NAME)"
phx_app_compose up -d --remove-orphans 2>&1
phx_app_restart_changed
