# Portainer's API for an app's stack, from the server's guest: the server container's own address on the docker
# network, port 9000 (Portainer's plain HTTP listener). Passwords reach curl on stdin, tokens a root-only header file.
PT_OUT=$(mktemp)
PT_HEADERS=$(umask 077 && mktemp)
trap 'rm -f "$PT_OUT" "$PT_HEADERS"' EXIT

# Sets PT_API and waits for the API (PHX_PORTAINER_API replaces the address in tests).
phx_pt_connect() {
  local ip
  if [ -n "${PHX_PORTAINER_API:-}" ]; then
    PT_API=$PHX_PORTAINER_API
  else
    ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$PORTAINER_NAME" 2>/dev/null || true)
    [ -n "$ip" ] || phx_die "no address for the Portainer container $PORTAINER_NAME: is it running? (docker ps -a)"
    PT_API="http://$ip:9000/api"
  fi
  for _ in $(seq 1 "${PHX_PORTAINER_WAIT:-60}"); do
    curl -fsS -o /dev/null --max-time 5 "$PT_API/system/status" 2>/dev/null && return 0
    sleep 1
  done
  phx_die "Portainer's API at $PT_API did not answer within ${PHX_PORTAINER_WAIT:-60} s (docker logs $PORTAINER_NAME)"
}

# phx_pt_call METHOD PATH [JWT]: the body on stdin (none for GET and DELETE); prints the HTTP status, the response in $PT_OUT.
phx_pt_call() {
  local method=$1 path=$2 jwt=${3:-} data=()
  : >"$PT_HEADERS"
  [ -z "$jwt" ] || printf 'Authorization: Bearer %s\n' "$jwt" >"$PT_HEADERS"
  case $method in GET | DELETE) ;; *) data=(-H 'Content-Type: application/json' --data-binary @-) ;; esac
  curl -sS -o "$PT_OUT" -w '%{http_code}' --max-time 300 -X "$method" -H 'Expect:' -H @"$PT_HEADERS" "${data[@]}" "$PT_API$path" || echo 000
}

# phx_pt_login VAR: a token for admin with the password held in the variable named VAR.
phx_pt_login() {
  local status
  status=$(jq -n --rawfile p <(printf '%s' "${!1}") '{Username: "admin", Password: $p}' | phx_pt_call POST /auth)
  [ "$status" = 200 ] || return 1
  jq -r .jwt "$PT_OUT"
}

# The password the portainer feature keeps in its root-only file (checks and deletes get no secrets).
phx_pt_login_from_file() {
  [ -r "$R/etc/portainer/admin-password" ] || return 1
  # shellcheck disable=SC2034 # read by name
  PT_FILE_PASSWORD=$(cat "$R/etc/portainer/admin-password")
  phx_pt_login PT_FILE_PASSWORD
}

# The id of the environment named $1 ("" when there is none).
phx_pt_environment() {
  local status
  status=$(phx_pt_call GET /endpoints "$2")
  [ "$status" = 200 ] || phx_die "listing Portainer's environments failed (HTTP $status): $(head -c 300 "$PT_OUT")"
  jq -r --arg n "$1" '[.[] | select(.Name == $n) | .Id][0] // empty' "$PT_OUT"
}

# The id of stack $1 on environment $2 ("" when there is none).
phx_pt_stack() {
  local status
  status=$(phx_pt_call GET /stacks "$3")
  [ "$status" = 200 ] || phx_die "listing Portainer's stacks failed (HTTP $status): $(head -c 300 "$PT_OUT")"
  jq -r --arg n "$1" --argjson e "$2" '[.[] | select(.Name == $n and .EndpointId == $e) | .Id][0] // empty' "$PT_OUT"
}
