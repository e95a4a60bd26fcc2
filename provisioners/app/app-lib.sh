# An app's project directory on its guest, and what refresh compares the guest against. Params: APP_NAME, APP_DIR,
# APP_FILES (lines "index<TAB>mode<TAB>plain|secret<TAB>services,…<TAB>path"; a plain file's content in APP_FILE_<index>,
# a secret one's in the secret variable APP_SECRET_FILE_<index>), APP_VOLUMES (lines "name<TAB>driver<TAB>key=value"),
# APP_EXTERNAL_VOLUMES, APP_SERVICES (lines "service run|job image").
# Large values stay shell variables: exported, they would travel into every command's environment.
# shellcheck disable=SC2163 # export -n of the variable whose name $v holds
for v in "${!APP_FILE_@}" APP_COMPOSE APP_FILES APP_SERVICES; do export -n "$v" 2>/dev/null || true; done

APP_RESTART=()

# Writes the declared files into the project directory (root-only directory); files written before and no longer
# declared are removed. A file that existed with other content adds the services using it to APP_RESTART.
phx_app_write_files() {
  local index mode kind users path var changed manifest="$R$APP_DIR/.phoenix/files"
  install -d -m 0700 "$R$APP_DIR" "$R$APP_DIR/.phoenix" "$R$APP_DIR/secrets"
  local written=()
  while IFS=$'\t' read -r index mode kind users path; do
    [ -n "$index" ] || continue
    # Docker makes an empty directory for a bind-mounted file that is missing when a container starts (a guest put
    # back to an earlier state with the app's containers still declared): the file goes there instead
    if [ -d "$R$APP_DIR/$path" ]; then
      rmdir "$R$APP_DIR/$path" 2>/dev/null ||
        phx_die "$APP_DIR/$path is a directory with content where app $APP_NAME declares a file: move it away"
      phx_log "removed the empty directory ./$path (Docker made it for the missing file)"
    fi
    changed=1
    [ -e "$R$APP_DIR/$path" ] || changed=0
    if [ "$kind" = secret ]; then var="APP_SECRET_FILE_$index"; else var="APP_FILE_$index"; fi
    if printf '%s' "${!var}" | phx_write_if_changed "$R$APP_DIR/$path" "$mode" >/dev/null; then
      phx_log "wrote ./$path"
      if [ "$changed" = 1 ] && [ -n "$users" ]; then IFS=, read -r -a more <<<"$users"; APP_RESTART+=("${more[@]}"); fi
    fi
    written+=("$path")
  done <<<"$APP_FILES"
  if [ -f "$manifest" ]; then
    while IFS= read -r path; do
      [ -n "$path" ] || continue
      printf '%s\n' "${written[@]}" | grep -qxF -- "$path" && continue
      rm -f "$R$APP_DIR/$path" && phx_log "removed ./$path (no longer declared)"
    done <"$manifest"
  fi
  printf '%s\n' "${written[@]}" | phx_write_if_changed "$manifest" 0600 >/dev/null || true
}

# Creates the declared volumes that are missing; checks that the external ones exist.
phx_app_volumes() {
  # current_driver: the volume's own driver (when flush runs, driver already holds the next line's, or nothing at the end)
  local name driver opt current="" current_driver="" opts=()
  flush() {
    [ -n "$current" ] || return 0
    if ! docker volume inspect "$current" >/dev/null 2>&1; then
      docker volume create --driver "$current_driver" "${opts[@]}" "$current" >/dev/null
      phx_log "created volume $current ($current_driver)"
    fi
  }
  while IFS=$'\t' read -r name driver opt; do
    [ -n "$name" ] || continue
    if [ "$name" != "$current" ]; then flush; current=$name current_driver=$driver opts=(); fi
    [ -z "$opt" ] || opts+=(--opt "$opt")
  done <<<"${APP_VOLUMES:-}"
  flush
  while IFS= read -r name; do
    [ -n "$name" ] || continue
    docker volume inspect "$name" >/dev/null 2>&1 ||
      phx_die "external volume $name does not exist on this guest: create it (docker volume create …), or declare it under the app's volumes so Phoenix creates it"
  done <<<"${APP_EXTERNAL_VOLUMES:-}"
}

# docker.io/library/ dropped and :latest added, as the plan normalises the declared images.
phx_app_image() {
  local r=${1#docker.io/}
  r=${r#library/}
  case $r in *@*) ;; *) [[ ${r##*/} == *:* ]] || r="$r:latest" ;; esac
  printf '%s' "$r"
}

# Reads lines "service status exitcode image" of the project's containers on stdin; prints each declared service's
# state and every difference; exits 1 on drift (a service stopped, missing or on another image, a container of a
# service no longer declared).
phx_app_evaluate() {
  local svc status code image declared mode want rc=0
  declare -A seen=() bad=()
  local observed
  observed=$(cat)
  while read -r svc status code image; do
    [ -n "$svc" ] || continue
    seen[$svc]=1
    declared=$(awk -v s="$svc" '$1 == s' <<<"$APP_SERVICES")
    if [ -z "$declared" ]; then
      echo "service $svc: not declared (an orphan container)"
      rc=1
      continue
    fi
    read -r _ mode want <<<"$declared"
    image=$(phx_app_image "$image")
    if [ "$image" != "$want" ]; then
      bad[$svc]="runs $image, declared $want"
    elif [ "$status" != running ] && ! { [ "$mode" = job ] && [ "$status" = exited ] && [ "$code" = 0 ]; }; then
      bad[$svc]="$status (exit $code)"
    fi
  done <<<"$observed"
  while read -r svc mode want; do
    [ -n "$svc" ] || continue
    if [ -z "${seen[$svc]:-}" ]; then
      echo "service $svc: no container"
      rc=1
    elif [ -n "${bad[$svc]:-}" ]; then
      echo "service $svc: ${bad[$svc]}"
      rc=1
    else
      echo "service $svc: ${mode/run/running} $want"
    fi
  done <<<"$APP_SERVICES"
  return "$rc"
}

# The project's containers as phx_app_evaluate reads them, from this guest's Docker (one-off `run` containers left out).
phx_app_containers() {
  local ids
  ids=$(docker ps -aq --filter "label=com.docker.compose.project=$APP_NAME")
  [ -n "$ids" ] || return 0
  # shellcheck disable=SC2086 # one id per word
  docker inspect --format '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{.State.ExitCode}} {{.Config.Image}} {{index .Config.Labels "com.docker.compose.oneoff"}}' $ids |
    awk '$5 != "True" { print $1, $2, $3, $4 }'
}

# The plain files as declared (secret ones are not compared: checks get no secrets).
phx_app_check_files() {
  local index mode kind users path var rc=0
  while IFS=$'\t' read -r index mode kind users path; do
    if [ -z "$index" ] || [ "$kind" != plain ]; then continue; fi
    var="APP_FILE_$index"
    if [ -f "$R$APP_DIR/$path" ] && [ "$(sha256sum <"$R$APP_DIR/$path")" = "$(printf '%s' "${!var}" | sha256sum)" ]; then
      echo "file ./$path: as declared"
    else
      echo "file ./$path: differs from the template's rendering"
      rc=1
    fi
  done <<<"$APP_FILES"
  return "$rc"
}

# Restarts the services whose files changed (Compose does not notice a bind-mounted file's new content).
phx_app_restart_changed() {
  [ "${#APP_RESTART[@]}" -gt 0 ] || return 0
  local svc ids
  for svc in $(printf '%s\n' "${APP_RESTART[@]}" | sort -u); do
    ids=$(docker ps -q --filter "label=com.docker.compose.project=$APP_NAME" --filter "label=com.docker.compose.service=$svc")
    [ -n "$ids" ] || continue
    # shellcheck disable=SC2086
    docker restart $ids >/dev/null
    phx_log "restarted $svc: a file it uses changed"
  done
}

# What `down` removes, found by Compose's labels: the project's containers and networks (and volumes, when asked).
phx_app_remove_by_label() {
  local ids
  ids=$(docker ps -aq --filter "label=com.docker.compose.project=$APP_NAME")
  # shellcheck disable=SC2086
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
  ids=$(docker network ls -q --filter "label=com.docker.compose.project=$APP_NAME")
  # shellcheck disable=SC2086
  [ -z "$ids" ] || docker network rm $ids >/dev/null || true
  if [ "${APP_REMOVE_VOLUMES:-0}" = 1 ]; then
    ids=$(docker volume ls -q --filter "label=com.docker.compose.project=$APP_NAME")
    # shellcheck disable=SC2086
    [ -z "$ids" ] || docker volume rm $ids >/dev/null || true
  fi
  phx_log "removed $APP_NAME's containers and networks by their labels"
}

# With APP_REMOVE_VOLUMES=1, the volumes Phoenix created for the app go too (external ones made elsewhere stay).
phx_app_remove_volumes() {
  [ "${APP_REMOVE_VOLUMES:-0}" = 1 ] || return 0
  local name
  while IFS= read -r name; do
    [ -z "$name" ] || ! docker volume rm "$name" >/dev/null 2>&1 || phx_log "removed volume $name"
  done < <(cut -f1 <<<"${APP_VOLUMES:-}" | sort -u)
  return 0
}

# The compose CLI in the project directory, with only PATH and HOME of this script's environment (the params would
# otherwise take part in interpolation) and the interpolated secrets.
phx_app_compose() {
  (
    cd "$R$APP_DIR" || exit 1
    # shellcheck disable=SC2163 # export -n of the variable whose name $v holds
    for v in $(compgen -e); do case $v in PATH | HOME) ;; *) export -n "$v" ;; esac; done
    for name in ${APP_INTERPOLATED:-}; do
      var="APP_VAR_$name"
      export "$name=${!var:-}"
    done
    exec "${PHX_COMPOSE[@]}" -p "$APP_NAME" -f compose.yaml --env-file .env "$@"
  )
}
