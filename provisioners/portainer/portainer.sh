# Portainer server or agent as a Docker container. Params: PORTAINER_ROLE (server|agent), PORTAINER_IMAGE, PORTAINER_PORT,
# PORTAINER_NAME (the container's name). Secret: PORTAINER_ADMIN_PASSWORD (server). Portainer reads it from a file
# once, when it initialises its admin user (--admin-password-file); a later change goes through its API, from the
# password the root-only file holds (the server's current one) to the declared one. It never reaches argv.
phx_detect_os
command -v docker >/dev/null || phx_die "docker is not installed: the docker feature runs first"
phx_docker_ready
secret="$R/etc/portainer/admin-password"
args=()
# The file holds the password the server has: it changes only once the server took the new one.
current_password=
[ ! -f "$secret" ] || current_password=$(cat "$secret")
mounts=(-v /var/run/docker.sock:/var/run/docker.sock)
case "$PORTAINER_ROLE" in
  server)
    mounts+=(-v portainer_data:/data)
    ports=(-p "$PORTAINER_PORT:9443" -p 8000:8000)
    if [ -n "${PORTAINER_ADMIN_PASSWORD:-}" ]; then
      [ -f "$secret" ] || phx_secret_file_if_changed PORTAINER_ADMIN_PASSWORD "$secret" || true
      mounts+=(-v /etc/portainer/admin-password:/run/secrets/portainer-admin:ro)
      args+=(--admin-password-file /run/secrets/portainer-admin)
    fi
    ;;
  agent)
    mounts+=(-v /var/lib/docker/volumes:/var/lib/docker/volumes)
    ports=(-p "$PORTAINER_PORT:9001")
    ;;
  *) phx_die "PORTAINER_ROLE must be server or agent, got '$PORTAINER_ROLE'" ;;
esac

# What the container was made from, as a label: a different spec recreates it, the same one leaves it running.
spec=$(printf '%s\n' "$PORTAINER_ROLE" "$PORTAINER_IMAGE" "${ports[*]}" "${mounts[*]}" "${args[*]}" | sha256sum | cut -c1-16)
current=$(docker inspect -f '{{index .Config.Labels "phoenix.spec"}}' "$PORTAINER_NAME" 2>/dev/null || true)
if [ "$current" = "$spec" ]; then
  if [ "$(docker inspect -f '{{.State.Running}}' "$PORTAINER_NAME")" != true ]; then
    phx_log "starting $PORTAINER_NAME"
    docker start "$PORTAINER_NAME" >/dev/null
  fi
else
  if [ -n "$current" ] || docker inspect "$PORTAINER_NAME" >/dev/null 2>&1; then
    phx_log "$PORTAINER_NAME was made from other settings: recreating it (its data volume stays)"
    docker rm -f "$PORTAINER_NAME" >/dev/null
  fi
  docker image inspect "$PORTAINER_IMAGE" >/dev/null 2>&1 || docker pull "$PORTAINER_IMAGE"
  docker run -d --name "$PORTAINER_NAME" --restart=always --label "phoenix.spec=$spec" "${ports[@]}" "${mounts[@]}" "$PORTAINER_IMAGE" "${args[@]}" >/dev/null
  phx_log "started $PORTAINER_NAME ($PORTAINER_IMAGE, port $PORTAINER_PORT)"
fi

# The admin password: the declared one already works, or the server is moved to it from the one it had.
if [ "$PORTAINER_ROLE" = server ] && [ -n "${PORTAINER_ADMIN_PASSWORD:-}" ]; then
  phx_portainer_tools
  phx_portainer_connect
  if phx_portainer_login PORTAINER_ADMIN_PASSWORD >/dev/null; then
    :
  elif [ -n "$current_password" ] && jwt=$(phx_portainer_login current_password); then
    status=$(phx_portainer_call PUT /users/1/passwd "$jwt" <<<"{\"Password\":$(phx_json_string "$current_password"),\"NewPassword\":$(phx_json_string "$PORTAINER_ADMIN_PASSWORD")}")
    [ "$status" = 204 ] || phx_die "changing the Portainer admin password failed (HTTP $status): $(head -c 300 "$PT_OUT")"
    phx_log "changed the Portainer admin password"
  elif [ "$(phx_portainer_call GET /users/admin/check)" = 404 ]; then
    status=$(phx_portainer_call POST /users/admin/init <<<"{\"Username\":\"admin\",\"Password\":$(phx_json_string "$PORTAINER_ADMIN_PASSWORD")}")
    [ "$status" = 200 ] || phx_die "initialising the Portainer admin failed (HTTP $status): $(head -c 300 "$PT_OUT")"
    phx_log "initialised the Portainer admin"
  else
    phx_die "Portainer's admin password is neither the declared one nor the one this feature set before (changed in Portainer's UI?): set the secret to the current password, or reset it in Portainer"
  fi
  phx_secret_file_if_changed PORTAINER_ADMIN_PASSWORD "$secret" || true
fi
