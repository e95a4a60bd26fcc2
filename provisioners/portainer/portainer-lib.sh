# Portainer API helpers, for the server's guest. The API is reached at the server container's own address on
# the docker network, port 9000 (Portainer's plain HTTP listener; the published 9443 is for people).
# Passwords go to curl on stdin and tokens in a root-only header file: neither ever reaches argv.
PT_OUT=$(mktemp)
PT_HEADERS=$(umask 077 && mktemp)
trap 'rm -f "$PT_OUT" "$PT_HEADERS"' EXIT

phx_portainer_tools() { phx_apt_install ca-certificates curl jq; }

# Sets PT_API and waits for the API to answer. PHX_PORTAINER_API replaces the address in tests, as PHX_ROOT does paths.
phx_portainer_connect() {
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

phx_json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

# phx_portainer_call METHOD PATH [JWT]: the request's body on stdin (none for GET and DELETE); prints the HTTP
# status, leaves the response body in $PT_OUT.
phx_portainer_call() {
  local method=$1 path=$2 jwt=${3:-} data=()
  : >"$PT_HEADERS"
  [ -z "$jwt" ] || printf 'Authorization: Bearer %s\n' "$jwt" >"$PT_HEADERS"
  case $method in GET | DELETE) ;; *) data=(-H 'Content-Type: application/json' --data-binary @-) ;; esac
  curl -sS -o "$PT_OUT" -w '%{http_code}' --max-time 30 -X "$method" -H 'Expect:' -H @"$PT_HEADERS" "${data[@]}" "$PT_API$path" || echo 000
}

# phx_portainer_login VAR: prints a token for user admin with the password held in the variable named VAR.
phx_portainer_login() {
  local status
  status=$(phx_portainer_call POST /auth <<<"{\"Username\":\"admin\",\"Password\":$(phx_json_string "${!1}")}")
  [ "$status" = 200 ] || return 1
  jq -r .jwt "$PT_OUT"
}

# Lines "id<TAB>name<TAB>url" of the server's environments.
phx_portainer_endpoints() {
  local status
  status=$(phx_portainer_call GET /endpoints "$1")
  [ "$status" = 200 ] || phx_die "listing Portainer's environments failed (HTTP $status): $(head -c 300 "$PT_OUT")"
  jq -r '.[] | [.Id, .Name, .URL] | @tsv' "$PT_OUT"
}
