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

path=${target%%\?*}
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
  *" /api/"*)
    fail "404 Not Found" "phoenix-lab stand-in: not doubled" ;;
  *)
    respond "200 OK" "$(cat /stand-in/www/index.html)" "text/html" ;;
esac
