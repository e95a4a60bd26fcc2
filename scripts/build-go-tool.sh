#!/usr/bin/env bash
# Build a small Go tool the tests need, once, into the toolchain's cache (keyed by version and source), and print
# its path on stdout. Progress goes to stderr. Idempotent: a second run is a cache hit.
#
#   scripts/build-go-tool.sh deploy-settings-check   Pulumi.<env>.deploy.yaml checker (scripts/toolchain/deploy-settings-check),
#                                                    built against github.com/pulumi/pulumi/sdk/v3 at the version
#                                                    scripts/bootstrap-toolchain.sh pins
#   scripts/build-go-tool.sh actionlint              the GitHub/Forgejo workflow linter, `go install`ed from its module
#   scripts/build-go-tool.sh docker-compose          Docker Compose v2 (static), built from its module's source: the lab's
#                                                    Portainer double runs it, as Portainer bundles it
#   scripts/build-go-tool.sh stand-in-portainer-agent  the lab's stand-in agent (lab/host/stand-in-portainer-agent)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# One pin: the bootstrap's.
PULUMI_VERSION=$(sed -n 's/^PULUMI_VERSION=\([0-9.]*\).*/\1/p' "$REPO/scripts/bootstrap-toolchain.sh")
YAML_V3_VERSION=v3.0.1
ACTIONLINT_VERSION=v1.7.12
COMPOSE_VERSION=v2.40.3
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/phoenix-hypervisor
TOOLS=$CACHE_ROOT/tools

log() { printf '[build-go-tool] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
tree_hash() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16); }

find_go() {
  GO=$(command -v go || true)
  [ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
  [ -n "$GO" ] || die "'go' was not found: install Go >= 1.26 and put it on PATH"
  export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false"
}

# cached NAME KEY: prints the binary's path and succeeds when it was built from KEY.
cached() {
  local dir=$TOOLS/$1
  if [ -x "$dir/$1" ] && [ "$(cat "$dir/key" 2>/dev/null)" = "$2" ]; then
    log "$1: cache hit"
    echo "$dir/$1"
    return 0
  fi
  return 1
}

finish() {
  local dir=$TOOLS/$1
  printf '%s' "$2" >"$dir/key"
  log "$1: built in $(( $(date +%s) - $3 )) s"
  echo "$dir/$1"
}

build_deploy_settings_check() {
  local name=deploy-settings-check src=$REPO/scripts/toolchain/deploy-settings-check
  local key; key="pulumi-sdk $PULUMI_VERSION yaml $YAML_V3_VERSION $(tree_hash "$src")"
  cached $name "$key" && return
  find_go
  local t; t=$(date +%s)
  local dir=$TOOLS/$name build; build=$(mktemp -d)
  mkdir -p "$dir"
  cp -R "$src/." "$build/"
  printf 'module phoenix.local/deploy-settings-check\n\ngo 1.25.11\n\nrequire (\n\tgithub.com/pulumi/pulumi/sdk/v3 v%s\n\tgopkg.in/yaml.v3 %s\n)\n' \
    "$PULUMI_VERSION" "$YAML_V3_VERSION" >"$build/go.mod"
  log "$name: building against github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION"
  if ! (cd "$build" && "$GO" mod tidy && "$GO" build -trimpath -ldflags "-s -w" -o "$dir/$name" .) >"$dir/build.log" 2>&1; then
    tail -n 30 "$dir/build.log" >&2
    rm -rf "$build"
    die "building $name failed (full log: $dir/build.log)"
  fi
  rm -rf "$build"
  finish $name "$key" "$t"
}

build_actionlint() {
  local name=actionlint key="actionlint $ACTIONLINT_VERSION"
  cached $name "$key" && return
  find_go
  local t; t=$(date +%s)
  local dir=$TOOLS/$name
  mkdir -p "$dir"
  log "$name: go install github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  if ! GOBIN=$dir "$GO" install -trimpath -ldflags "-s -w" "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" \
      >"$dir/build.log" 2>&1; then
    tail -n 30 "$dir/build.log" >&2
    die "building $name failed (full log: $dir/build.log)"
  fi
  finish $name "$key" "$t"
}

# Compose's go.mod has exclude directives, so `go install …@version` refuses it: it is built as the main module.
build_docker_compose() {
  local name=docker-compose key="compose $COMPOSE_VERSION static"
  cached $name "$key" && return
  find_go
  local t; t=$(date +%s)
  local dir=$TOOLS/$name src build
  mkdir -p "$dir"
  log "$name: building github.com/docker/compose/v2@$COMPOSE_VERSION (a few minutes the first time)"
  if ! src=$("$GO" mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p') || [ -z "$src" ]; then
    die "downloading github.com/docker/compose/v2@$COMPOSE_VERSION failed"
  fi
  build=$(mktemp -d)
  cp -R "$src/." "$build/" && chmod -R u+w "$build"
  if ! (cd "$build" && CGO_ENABLED=0 "$GO" build -trimpath \
      -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" -o "$dir/$name" ./cmd) >"$dir/build.log" 2>&1; then
    tail -n 30 "$dir/build.log" >&2
    rm -rf "$build"
    die "building $name failed (full log: $dir/build.log)"
  fi
  rm -rf "$build"
  finish $name "$key" "$t"
}

build_stand_in_agent() {
  local name=stand-in-portainer-agent src=$REPO/lab/host/stand-in-portainer-agent
  local key; key="agent $(tree_hash "$src")"
  cached $name "$key" && return
  find_go
  local t; t=$(date +%s)
  local dir=$TOOLS/$name build
  mkdir -p "$dir"
  build=$(mktemp -d)
  cp -R "$src/." "$build/"
  printf 'module phoenix.local/stand-in-portainer-agent\n\ngo 1.25\n' >"$build/go.mod"
  if ! (cd "$build" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w" -o "$dir/$name" .) >"$dir/build.log" 2>&1; then
    tail -n 30 "$dir/build.log" >&2
    rm -rf "$build"
    die "building $name failed (full log: $dir/build.log)"
  fi
  rm -rf "$build"
  finish $name "$key" "$t"
}

mkdir -p "$TOOLS"
exec 9>"$TOOLS/.lock"
flock 9
case "${1:-}" in
  deploy-settings-check) build_deploy_settings_check ;;
  actionlint) build_actionlint ;;
  docker-compose) build_docker_compose ;;
  stand-in-portainer-agent) build_stand_in_agent ;;
  *) echo "usage: $0 deploy-settings-check|actionlint|docker-compose|stand-in-portainer-agent" >&2; exit 2 ;;
esac
