#!/bin/sh
# shellcheck disable=SC2015 # `test && respond || fail`: the middle command is a test or the reply, C is the error reply
# phoenix-lab TEST DOUBLE of Portainer's HTTP API, in the stand-in image for portainer/portainer-ce (busybox
# only: `nc -ll -e` runs this once per connection). It is not Portainer: it answers the calls the portainer
# feature makes, with Portainer's status codes, so the feature's admin-password and agent-registration logic
# runs against something that can say no:
#   GET  /api/system/status              200
#   GET  /api/users/admin/check          204 admin exists, 404 not yet
#   POST /api/users/admin/init           200, 409 when an admin exists
#   POST /api/auth                       200 {"jwt"}, 422 wrong credentials
#   GET  /api/users                      the admin
#   PUT  /api/users/{id}/passwd          204, 403 when the current password does not match
#   GET  /api/endpoints                  the environments
#   POST /api/endpoints (multipart)      agent environments (EndpointCreationType 2) only; 500 when the agent
#                                        does not answer at its URL, 409 for a name already taken
#   DELETE /api/endpoints/{id}           204, 404
#   POST /api/stacks/create/standalone/string?endpointId=N   {name, stackFileContent, env}: 200 the stack; 409 for a
#                                        name taken on that environment, 400 for a bad name or payload
#   GET  /api/stacks, /api/stacks/{id}, /api/stacks/{id}/file
#   PUT  /api/stacks/{id}?endpointId=N   {stackFileContent, env, prune, pullImage}: 200 the stack
#   DELETE /api/stacks/{id}?endpointId=N 204, 404
#   *    /api/endpoints/{id}/docker/...  Portainer's Docker proxy: forwarded to the environment's agent as it came
# Stacks run for real: like Portainer, the double keeps the stack file and its env under /data/compose/<id> and runs
# the Compose v2 binary it bundles (/bin/docker-compose, built from Docker's sources) against the environment's
# agent (DOCKER_HOST=tcp://<agent>), whose stand-in forwards the Docker API to the agent guest's Docker. What is not
# Portainer: no TLS or agent signatures, no Swarm, no Git or file-upload stacks, no webhooks.
# Everything else under /api is 404; any other path gets the stand-in page. State lives in /data (the
# portainer_data volume), as Portainer's does, so it survives the container being recreated (STAND_IN_DATA
# moves it, for the feature tests that run this on the host).
D=${STAND_IN_DATA:-/data}/stand-in
mkdir -p "$D"
CR=$(printf '\r')

respond() { # status, body, [content type]
  printf 'HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
    "$1" "${3:-application/json}" "${#2}" "$2"
  exit 0
}
fail() { respond "$1" "{\"message\":\"$2\",\"details\":\"phoenix-lab stand-in\"}"; }

read -r method target _ || exit 0
len=0
auth=
expect=
while IFS= read -r line; do
  line=${line%"$CR"}
  [ -z "$line" ] && break
  value=${line#*:}
  value=${value# }
  case $line in
    [Cc]ontent-[Ll]ength:*) len=$value ;;
    [Aa]uthorization:*) auth=${value#Bearer } ;;
    [Ee]xpect:*) expect=$value ;;
  esac
done
[ "$expect" = "100-continue" ] && printf 'HTTP/1.1 100 Continue\r\n\r\n'
body=
[ "$len" -gt 0 ] 2>/dev/null && body=$(head -c "$len")

# A JSON string field of the body ($1 a sed pattern for the key, e.g. [Pp]assword), unescaped.
field() {
  printf '%s' "$body" | sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\(\([^\"\\\\]\|\\\\.\)*\)\".*/\1/p" | sed 's/\\\(.\)/\1/g'
}
# A multipart form value.
form() {
  printf '%s' "$body" | tr -d '\r' | awk -v k="$1" 'f == 1 && $0 == "" { f = 2; next } f == 2 { print; exit } index($0, "name=\"" k "\"") { f = 1 }'
}
hash() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
json_escape() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
authed() { [ -n "$auth" ] && [ -f "$D/tokens" ] && grep -qxF "$auth" "$D/tokens"; }
endpoint_json() { # id name type url
  printf '{"Id":%s,"Name":"%s","Type":%s,"URL":"%s","GroupId":1,"Status":1}' "$1" "$(json_escape "$2")" "$3" "$(json_escape "$4")"
}

# Stacks: lines "id<TAB>name<TAB>endpoint id" in $D/stacks; each stack's file and env under /data/compose/<id>.
C=${STAND_IN_DATA:-/data}/compose
stack_line() { [ -f "$D/stacks" ] && awk -F '\t' -v id="$1" '$1 == id' "$D/stacks"; }
env_json() { # the stack's env file as Portainer's [{name, value}]
  list=
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    list="$list${list:+,}{\"name\":\"$(printf '%s' "${line%%=*}" | json_text)\",\"value\":\"$(printf '%s' "${line#*=}" | json_text)\"}"
  done <"$C/$1/stack.env"
  printf '[%s]' "$list"
}
stack_json() { # id name endpoint
  printf '{"Id":%s,"Name":"%s","Type":2,"EndpointId":%s,"SwarmId":"","EntryPoint":"docker-compose.yml","ProjectPath":"%s","Env":%s,"Status":1,"CreatedBy":"admin"}' \
    "$1" "$(json_escape "$2")" "$3" "$C/$1" "$(env_json "$1")"
}
# Writes the body's stackFileContent and env into the stack's directory.
stack_files() {
  mkdir -p "$C/$1"
  json_get stackfilecontent >"$C/$1/docker-compose.yml.new" || fail "400 Bad Request" "Invalid stack file content"
  [ -s "$C/$1/docker-compose.yml.new" ] || fail "400 Bad Request" "Invalid stack file content"
  mv "$C/$1/docker-compose.yml.new" "$C/$1/docker-compose.yml"
  : >"$C/$1/stack.env"
  i=0
  while n=$(json_get "env.$i.name"); do
    printf '%s=%s\n' "$n" "$(json_get "env.$i.value")" >>"$C/$1/stack.env"
    i=$((i + 1))
  done
}
# Compose against the environment's agent: compose_run id name endpoint args…; 500 with Compose's output when it fails.
compose_run() {
  sid=$1 sname=$2 eid=$3
  shift 3
  url=$(awk -F '\t' -v id="$eid" '$1 == id { print $4 }' "$D/endpoints" 2>/dev/null)
  [ -n "$url" ] || fail "404 Not Found" "Unable to find an environment with the specified identifier inside the database"
  if ! DOCKER_HOST=tcp://${url#tcp://} HOME=$D busybox timeout 600 /bin/docker-compose -p "$sname" --project-directory "$C/$sid" \
    -f "$C/$sid/docker-compose.yml" --env-file "$C/$sid/stack.env" "$@" >"$C/$sid/compose.log" 2>&1; then
    respond "500 Internal Server Error" "{\"message\":\"Failed to deploy a stack\",\"details\":\"$(tail -n 20 "$C/$sid/compose.log" | json_text)\"}"
  fi
}
path=${target%%\?*}
query=
case $target in *\?*) query=${target#*\?} ;; esac
# A query parameter's value ($1 its name, as Portainer's are matched: exactly).
qparam() { printf '%s' "$query" | tr '&' '\n' | sed -n "s/^$1=//p" | head -n 1; }

# The value at a path of the JSON body (keys lowercased, as Go matches them; array items by index: env.0.name),
# strings decoded. Exit 1 when the path is absent.
json_get() {
  printf '%s' "$body" | tr '\n\r' '  ' | awk -v want="$1" '
    function ws() { while (substr(S, P, 1) ~ /[ \t]/) P++ }
    function str(   start, c) { P++; start = P
      while (P <= L) { c = substr(S, P, 1); if (c == "\\") P += 2; else if (c == "\"") break; else P++ }
      P++; return substr(S, start, P - start - 1) }
    function hex(h,   i, v) { v = 0; h = tolower(h); for (i = 1; i <= 4; i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1; return v }
    function utf8(c) { if (c < 128) return sprintf("%c", c); if (c < 2048) return sprintf("%c%c", 192 + int(c / 64), 128 + c % 64)
      return sprintf("%c%c%c", 224 + int(c / 4096), 128 + int(c / 64) % 64, 128 + c % 64) }
    function decode(s,   out, i, c) { out = ""
      for (i = 1; i <= length(s); i++) { c = substr(s, i, 1)
        if (c != "\\") { out = out c; continue }
        c = substr(s, ++i, 1)
        if (c == "n") out = out "\n"; else if (c == "t") out = out "\t"; else if (c == "r") out = out "\r"
        else if (c == "b") out = out "\b"; else if (c == "f") out = out "\f"
        else if (c == "u") { out = out utf8(hex(substr(s, i + 1, 4))); i += 4 } else out = out c }
      return out }
    function leaf(path, v) { if (path == want) { printf "%s", v; found = 1 } }
    function value(path,   c, k, i) { ws(); c = substr(S, P, 1)
      if (c == "{") { P++; ws(); if (substr(S, P, 1) == "}") { P++; return }
        while (1) { ws(); k = tolower(decode(str())); ws(); P++; value(path == "" ? k : path "." k); ws(); c = substr(S, P, 1); P++; if (c != ",") return } }
      if (c == "[") { P++; ws(); if (substr(S, P, 1) == "]") { P++; return }
        for (i = 0; ; i++) { value(path "." i); ws(); c = substr(S, P, 1); P++; if (c != ",") return } }
      if (c == "\"") { leaf(path, decode(str())); return }
      k = P; while (P <= L && index(",}] \t", substr(S, P, 1)) == 0) P++; leaf(path, substr(S, k, P - k)) }
    { S = S $0 } END { L = length(S); P = 1; value(""); exit(found ? 0 : 1) }'
}
# Text as a JSON string's content (the whole of stdin, trailing newlines included).
json_text() { awk 'BEGIN { RS = "\001"; ORS = "" } { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\r/, "\\r"); gsub(/\n/, "\\n"); print }'; }
case "$method $path" in
  "GET /api/system/status" | "GET /api/status")
    respond "200 OK" '{"Version":"phoenix-lab stand-in","InstanceID":"stand-in"}' ;;
  "GET /api/users/admin/check")
    [ -f "$D/admin" ] && respond "204 No Content" "" || fail "404 Not Found" "No administrator account found inside the database" ;;
  "POST /api/users/admin/init")
    user=$(field '[Uu]sername')
    pass=$(field '[Pp]assword')
    [ -n "$user" ] && [ -n "$pass" ] || fail "400 Bad Request" "Invalid request payload"
    [ -f "$D/admin" ] && fail "409 Conflict" "Unable to create administrator user"
    printf '%s %s\n' "$user" "$(hash "$pass")" >"$D/admin"
    respond "200 OK" "{\"Id\":1,\"Username\":\"$(json_escape "$user")\",\"Role\":1}" ;;
  "POST /api/auth")
    user=$(field '[Uu]sername')
    pass=$(field '[Pp]assword')
    [ -f "$D/admin" ] && [ "$(cat "$D/admin")" = "$user $(hash "$pass")" ] || fail "422 Unprocessable Entity" "Invalid credentials"
    token=$(head -c 24 /dev/urandom | sha256sum | cut -c1-48)
    echo "$token" >>"$D/tokens"
    respond "200 OK" "{\"jwt\":\"$token\"}" ;;
  "GET /api/users")
    authed || fail "401 Unauthorized" "Unauthorized"
    read -r user _ <"$D/admin"
    respond "200 OK" "[{\"Id\":1,\"Username\":\"$(json_escape "$user")\",\"Role\":1}]" ;;
  "PUT /api/users/1/passwd")
    authed || fail "401 Unauthorized" "Unauthorized"
    current=$(field '[Pp]assword')
    new=$(field '[Nn]ew[Pp]assword')
    [ -n "$current" ] && [ -n "$new" ] || fail "400 Bad Request" "Invalid request payload"
    read -r user stored <"$D/admin"
    [ "$stored" = "$(hash "$current")" ] || fail "403 Forbidden" "Specified password do not match actual password"
    printf '%s %s\n' "$user" "$(hash "$new")" >"$D/admin"
    respond "204 No Content" "" ;;
  "PUT /api/users/"*"/passwd")
    fail "404 Not Found" "Unable to find a user with the specified identifier inside the database" ;;
  "GET /api/endpoints")
    authed || fail "401 Unauthorized" "Unauthorized"
    list=
    if [ -f "$D/endpoints" ]; then
      while IFS='	' read -r id name type url; do
        list="$list${list:+,}$(endpoint_json "$id" "$name" "$type" "$url")"
      done <"$D/endpoints"
    fi
    respond "200 OK" "[$list]" ;;
  "POST /api/endpoints")
    authed || fail "401 Unauthorized" "Unauthorized"
    name=$(form Name)
    kind=$(form EndpointCreationType)
    url=$(form URL)
    [ -n "$name" ] || fail "400 Bad Request" "Invalid environment name"
    [ "$kind" = 2 ] || fail "400 Bad Request" "phoenix-lab stand-in: only agent environments (EndpointCreationType 2) are doubled"
    [ -f "$D/endpoints" ] && cut -f2 "$D/endpoints" | grep -qxF "$name" && fail "409 Conflict" "Name is not unique"
    hostport=${url#tcp://}
    # Portainer talks to the agent before it saves the environment; the stand-in agent answers plain HTTP.
    reply=$(printf 'GET /ping HTTP/1.0\r\n\r\n' | busybox timeout 5 busybox nc "${hostport%:*}" "${hostport##*:}" 2>/dev/null | head -c 5)
    [ "$reply" = "HTTP/" ] || fail "500 Internal Server Error" "Unable to initiate communications with environment"
    id=$(($( (cat "$D/last-id" 2>/dev/null || echo 1) ) + 1))
    echo "$id" >"$D/last-id"
    printf '%s\t%s\t2\t%s\n' "$id" "$name" "$url" >>"$D/endpoints"
    respond "200 OK" "$(endpoint_json "$id" "$name" 2 "$url")" ;;
  "DELETE /api/endpoints/"*)
    authed || fail "401 Unauthorized" "Unauthorized"
    id=${path##*/}
    [ -f "$D/endpoints" ] && cut -f1 "$D/endpoints" | grep -qxF "$id" || fail "404 Not Found" "Unable to find an environment with the specified identifier inside the database"
    awk -F '\t' -v id="$id" '$1 != id' "$D/endpoints" >"$D/endpoints.new" && mv "$D/endpoints.new" "$D/endpoints"
    respond "204 No Content" "" ;;
  "POST /api/stacks/create/standalone/string")
    authed || fail "401 Unauthorized" "Unauthorized"
    eid=$(qparam endpointId)
    [ -n "$eid" ] || fail "400 Bad Request" "Invalid query parameter: endpointId"
    [ -f "$D/endpoints" ] && cut -f1 "$D/endpoints" | grep -qxF "$eid" || fail "404 Not Found" "Unable to find an environment with the specified identifier inside the database"
    name=$(json_get name) || fail "400 Bad Request" "Invalid stack name"
    printf '%s' "$name" | grep -qE '^[a-z0-9][a-z0-9_-]*$' || fail "400 Bad Request" "Invalid stack name"
    [ -f "$D/stacks" ] && awk -F '\t' -v n="$name" -v e="$eid" '$2 == n && $3 == e { f = 1 } END { exit !f }' "$D/stacks" &&
      fail "409 Conflict" "A stack with the normalized name '$name' already exists"
    id=$(($( (cat "$D/last-stack-id" 2>/dev/null || echo 0) ) + 1))
    echo "$id" >"$D/last-stack-id"
    stack_files "$id"
    compose_run "$id" "$name" "$eid" up -d --remove-orphans
    printf '%s\t%s\t%s\n' "$id" "$name" "$eid" >>"$D/stacks"
    respond "200 OK" "$(stack_json "$id" "$name" "$eid")" ;;
  "GET /api/stacks")
    authed || fail "401 Unauthorized" "Unauthorized"
    list=
    if [ -f "$D/stacks" ]; then
      while IFS='	' read -r id name eid; do list="$list${list:+,}$(stack_json "$id" "$name" "$eid")"; done <"$D/stacks"
    fi
    respond "200 OK" "[$list]" ;;
  "GET /api/stacks/"*"/file")
    authed || fail "401 Unauthorized" "Unauthorized"
    id=${path#/api/stacks/}
    id=${id%/file}
    [ -n "$(stack_line "$id")" ] || fail "404 Not Found" "Unable to find a stack with the specified identifier inside the database"
    respond "200 OK" "{\"StackFileContent\":\"$(json_text <"$C/$id/docker-compose.yml")\"}" ;;
  "GET /api/stacks/"* | "PUT /api/stacks/"* | "DELETE /api/stacks/"*)
    authed || fail "401 Unauthorized" "Unauthorized"
    id=${path##*/}
    line=$(stack_line "$id")
    [ -n "$line" ] || fail "404 Not Found" "Unable to find a stack with the specified identifier inside the database"
    name=$(printf '%s' "$line" | cut -f2)
    eid=$(printf '%s' "$line" | cut -f3)
    case $method in
      GET) respond "200 OK" "$(stack_json "$id" "$name" "$eid")" ;;
      PUT)
        stack_files "$id"
        set -- up -d
        [ "$(json_get prune)" != true ] || set -- "$@" --remove-orphans
        [ "$(json_get pullimage)" != true ] || set -- "$@" --pull always
        compose_run "$id" "$name" "$eid" "$@"
        respond "200 OK" "$(stack_json "$id" "$name" "$eid")" ;;
      DELETE)
        compose_run "$id" "$name" "$eid" down --remove-orphans
        awk -F '\t' -v id="$id" '$1 != id' "$D/stacks" >"$D/stacks.new" && mv "$D/stacks.new" "$D/stacks"
        rm -rf "${C:?}/$id"
        respond "204 No Content" "" ;;
    esac ;;
  *" /api/endpoints/"*"/docker/"*)
    authed || fail "401 Unauthorized" "Unauthorized"
    eid=${path#/api/endpoints/}
    eid=${eid%%/*}
    url=$(awk -F '\t' -v id="$eid" '$1 == id { print $4 }' "$D/endpoints" 2>/dev/null)
    [ -n "$url" ] || fail "404 Not Found" "Unable to find an environment with the specified identifier inside the database"
    hostport=${url#tcp://}
    # Portainer's Docker proxy: the request, as it came, to the agent (HTTP/1.0, so the answer ends with the connection).
    docker_path=${target#/api/endpoints/"$eid"/docker}
    # nc's stdin stays open until the agent has answered and closed: nc gives up on a connection whose stdin ends first.
    fifo=$D/proxy.$$
    mkfifo "$fifo"
    { printf '%s %s HTTP/1.0\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n%s' \
        "$method" "$docker_path" "${#body}" "$body"; sleep 60; } >"$fifo" &
    feeder=$!
    out=$D/proxy.$$.out
    busybox timeout 60 busybox nc "${hostport%:*}" "${hostport##*:}" <"$fifo" >"$out"
    kill "$feeder" 2>/dev/null
    rm -f "$fifo"
    [ -s "$out" ] || { rm -f "$out"; fail "502 Bad Gateway" "Unable to proxy the request to the environment's agent"; }
    cat "$out"
    rm -f "$out"
    exit 0 ;;
  *" /api/"*)
    fail "404 Not Found" "phoenix-lab stand-in: not doubled" ;;
  *)
    respond "200 OK" "$(cat /stand-in/www/index.html)" "text/html" ;;
esac
