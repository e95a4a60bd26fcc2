#!/usr/bin/env bash
# Make a working Pulumi toolchain available offline: the pulumi CLI, a Node.js language host, the
# dynamic-provider shim and the proxmoxve resource plugin, all built from Go modules into a cache
# outside the repository (keyed by version, so later runs are cache hits that take seconds).
#
# Usage:
#   scripts/bootstrap-toolchain.sh               build/check, then print a summary (stderr)
#   eval "$(scripts/bootstrap-toolchain.sh --print-env)"
#                                                 same, then print `export` lines on stdout
#
# Progress goes to stderr, so --print-env's stdout holds only the export lines.
# PULUMI_CONFIG_PASSPHRASE is not set here: secrets are the caller's business.
set -euo pipefail

PULUMI_VERSION=3.259.0   # keep equal to @pulumi/pulumi in package.json
PROXMOXVE_VERSION=8.6.0  # keep equal to @muhlba91/pulumi-proxmoxve in package.json

# What @muhlba91/pulumi-proxmoxve 8.6.0 is built from (its provider module itself is not served by
# the module proxy, see scripts/toolchain/pulumi-resource-proxmoxve/provider/provider.go).
TF_PROXMOX_MODULE=github.com/bpg/terraform-provider-proxmox
TF_PROXMOX_VERSION=v0.112.0
TF_BRIDGE_VERSION=v3.137.0
# Forks that the upstream go.mod files pull in with `replace` (not inherited by a module that requires them).
TF_PLUGIN_SDK_FORK="github.com/pulumi/terraform-plugin-sdk/v2 v2.0.0-20260318212141-5525259d096b"
CLIPBOARD_FORK="github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e"
X_TEXT_PIN="golang.org/x/text v0.39.0"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$REPO/scripts/toolchain
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/phoenix-hypervisor
CACHE=$CACHE_ROOT/pulumi-$PULUMI_VERSION
BIN=$CACHE/bin              # goes on PATH
PLUGINS=$CACHE/plugins      # proxmoxve plugin; kept off PATH, installed with `pulumi plugin install`
STAMPS=$CACHE/stamps
LOGS=$CACHE/logs
VERSION_PKG=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version

mode=summary
case "${1:-}" in
  --print-env) mode="env" ;;
  "") ;;
  -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 [--print-env]" >&2; exit 2 ;;
esac

log() { printf '[bootstrap-toolchain] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

export PULUMI_SKIP_UPDATE_CHECK=true
# Never let the engine fetch a missing plugin from the internet: offline it would only hang or fail.
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

# --- stamps: a component is a cache hit when its outputs exist and were built from the same key ---
stamp_ok() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
write_stamp() { mkdir -p "$STAMPS"; printf '%s' "$2" >"$STAMPS/$1"; }
tree_hash() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16); }

# --- Go ---
GO=
go_ready=
need_go() {
  [ -n "$go_ready" ] && return 0
  GO=$(command -v go || true)
  [ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
  [ -n "$GO" ] || die "'go' was not found (needed to build the Pulumi toolchain): install Go >= 1.26 and put it on PATH"
  export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false"
  local t; t=$(now)
  if ! timeout 60 "$GO" list -m "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION" >/dev/null 2>"$LOGS/proxy-check.log"; then
    die "the Go module proxy ($("$GO" env GOPROXY)) is unreachable or refuses github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION: $(tail -n 3 "$LOGS/proxy-check.log")"
  fi
  log "go: $("$GO" env GOVERSION), module proxy reachable ($(since "$t"))"
  go_ready=1
}

# go_build NAME DIR -- go build args…  (log in $LOGS/NAME.log; its tail is shown on failure)
go_build() {
  local name=$1 dir=$2; shift 3
  if ! (cd "$dir" && "$GO" mod tidy && "$GO" build -trimpath "$@") >"$LOGS/$name.log" 2>&1; then
    tail -n 30 "$LOGS/$name.log" >&2
    die "building $name failed (full log: $LOGS/$name.log)"
  fi
}

# write_gomod DIR MODULE GOVERSION "require lines" "replace lines"
write_gomod() {
  printf 'module %s\n\ngo %s\n\nrequire (\n%s\n)\n\n%s\n' "$2" "$3" "$4" "$5" >"$1/go.mod"
  rm -f "$1/go.sum"
}

PULUMI_REPLACES="replace (
	github.com/atotto/clipboard => $CLIPBOARD_FORK
	golang.org/x/text => $X_TEXT_PIN
)"

build_cli() {
  local key="pulumi $PULUMI_VERSION"
  if [ -x "$BIN/pulumi" ] && stamp_ok pulumi "$key"; then log "pulumi CLI v$PULUMI_VERSION: cache hit"; return; fi
  need_go
  log "pulumi CLI v$PULUMI_VERSION: building from github.com/pulumi/pulumi/pkg/v3 (first build: ~5 min on 2 cores, plus module downloads)"
  local t d; t=$(now); d=$CACHE/build/pulumi
  rm -rf "$d"; mkdir -p "$d"
  write_gomod "$d" phoenix.local/pulumi-cli 1.25.11 \
    "	github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION" "$PULUMI_REPLACES"
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' >"$d/tools.go"
  go_build pulumi "$d" -- -ldflags "-s -w -X $VERSION_PKG=v$PULUMI_VERSION" -o "$d/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  mv -f "$d/pulumi" "$BIN/pulumi"
  rm -rf "$d"
  write_stamp pulumi "$key"
  log "pulumi CLI: built in $(since "$t")"
}

build_language_host() {
  local key; key="nodejs $PULUMI_VERSION $(tree_hash "$SRC/pulumi-language-nodejs")"
  if [ -x "$BIN/pulumi-language-nodejs" ] && stamp_ok language-nodejs "$key"; then
    log "pulumi-language-nodejs: cache hit"; return
  fi
  need_go
  log "pulumi-language-nodejs: building (scripts/toolchain/pulumi-language-nodejs)"
  local t d; t=$(now); d=$CACHE/build/language-nodejs
  rm -rf "$d"; mkdir -p "$d"; cp -R "$SRC/pulumi-language-nodejs/." "$d/"
  write_gomod "$d" phoenix.local/pulumi-language-nodejs 1.25.11 \
    "	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION" "$PULUMI_REPLACES"
  go_build language-nodejs "$d" -- -ldflags "-s -w -X $VERSION_PKG=v$PULUMI_VERSION" -o "$d/pulumi-language-nodejs" .
  mv -f "$d/pulumi-language-nodejs" "$BIN/pulumi-language-nodejs"
  rm -rf "$d"
  write_stamp language-nodejs "$key"
  log "pulumi-language-nodejs: built in $(since "$t")"
}

# The engine runs dynamic providers (pulumi.dynamic.Resource) as the plugin `pulumi-nodejs`; it
# starts the plugin in the program's directory, so resolve @pulumi/pulumi from there.
write_dynamic_provider_shim() {
  local f=$BIN/pulumi-resource-pulumi-nodejs tmp
  tmp=$(mktemp "$BIN/.shim.XXXXXX")
  cat >"$tmp" <<'SH'
#!/bin/sh
# Pulumi dynamic-provider plugin (written by scripts/bootstrap-toolchain.sh): runs the provider
# that ships with the program's own @pulumi/pulumi, resolved from the current directory.
entry=$(node -p "require.resolve('@pulumi/pulumi/cmd/dynamic-provider')") || {
  echo "pulumi-resource-pulumi-nodejs: @pulumi/pulumi is not installed in $(pwd)" >&2
  exit 1
}
exec node "$entry" "$@"
SH
  chmod 755 "$tmp"
  if [ -f "$f" ] && cmp -s "$tmp" "$f"; then rm -f "$tmp"; log "pulumi-resource-pulumi-nodejs shim: cache hit"
  else mv -f "$tmp" "$f"; log "pulumi-resource-pulumi-nodejs shim: written"; fi
}

build_proxmoxve() {
  local key; key="proxmoxve $PROXMOXVE_VERSION $TF_PROXMOX_VERSION $TF_BRIDGE_VERSION $(tree_hash "$SRC/pulumi-resource-proxmoxve")"
  local out=$PLUGINS/pulumi-resource-proxmoxve
  if [ -x "$out" ] && stamp_ok proxmoxve "$key"; then log "pulumi-resource-proxmoxve v$PROXMOXVE_VERSION: cache hit"; return; fi
  need_go
  log "pulumi-resource-proxmoxve v$PROXMOXVE_VERSION: building from $TF_PROXMOX_MODULE@$TF_PROXMOX_VERSION (first build: ~3 min, plus module downloads)"
  local t d; t=$(now); d=$CACHE/build/proxmoxve
  rm -rf "$d"; mkdir -p "$d"; cp -R "$SRC/pulumi-resource-proxmoxve/." "$d/"
  write_gomod "$d" phoenix.local/pulumi-resource-proxmoxve 1.26.0 \
    "	$TF_PROXMOX_MODULE $TF_PROXMOX_VERSION
	github.com/pulumi/pulumi-terraform-bridge/v3 $TF_BRIDGE_VERSION" "replace (
	github.com/hashicorp/terraform-plugin-sdk/v2 => $TF_PLUGIN_SDK_FORK
	github.com/atotto/clipboard => $CLIPBOARD_FORK
)"
  local ld="-s -w -X phoenix.local/pulumi-resource-proxmoxve/provider.Version=$PROXMOXVE_VERSION"
  # 1. schema generator, 2. schema + bridge metadata (no docs: they would need the internet), 3. the plugin.
  go_build proxmoxve-tfgen "$d" -- -ldflags "$ld" -o "$d/pulumi-tfgen-proxmoxve" ./cmd/pulumi-tfgen-proxmoxve
  if ! (cd "$d" && ./pulumi-tfgen-proxmoxve schema --skip-docs --skip-examples --out cmd/pulumi-resource-proxmoxve) \
      >"$LOGS/proxmoxve-schema.log" 2>&1; then
    tail -n 30 "$LOGS/proxmoxve-schema.log" >&2
    die "generating the proxmoxve schema failed (full log: $LOGS/proxmoxve-schema.log)"
  fi
  go_build proxmoxve "$d" -- -ldflags "$ld" -o "$d/pulumi-resource-proxmoxve" ./cmd/pulumi-resource-proxmoxve
  mkdir -p "$PLUGINS"
  mv -f "$d/pulumi-resource-proxmoxve" "$out"
  rm -rf "$d"
  write_stamp proxmoxve "$key"
  log "pulumi-resource-proxmoxve: built in $(since "$t")"
}

install_proxmoxve_plugin() {
  local pulumi=$1 src=$PLUGINS/pulumi-resource-proxmoxve
  local installed=${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-proxmoxve-v$PROXMOXVE_VERSION/pulumi-resource-proxmoxve
  if [ -f "$installed" ] && cmp -s "$src" "$installed"; then
    log "plugin resource proxmoxve v$PROXMOXVE_VERSION: already installed"; return
  fi
  local t; t=$(now)
  "$pulumi" plugin install resource proxmoxve "$PROXMOXVE_VERSION" --file "$src" --reinstall >"$LOGS/plugin-install.log" 2>&1 ||
    { cat "$LOGS/plugin-install.log" >&2; die "pulumi plugin install resource proxmoxve failed"; }
  log "plugin resource proxmoxve v$PROXMOXVE_VERSION: installed ($(since "$t"))"
}

# --- main ---
start=$(now)
mkdir -p "$CACHE_ROOT" "$BIN" "$PLUGINS" "$LOGS"

exec 9>"$CACHE_ROOT/.lock"
if ! flock -n 9; then
  log "another bootstrap holds $CACHE_ROOT/.lock; waiting"
  flock 9
fi

pulumi_bin=$BIN/pulumi
use_cache_bin=1
if existing=$(command -v pulumi 2>/dev/null) && [ "$existing" != "$BIN/pulumi" ] &&
   [ "$("$existing" version 2>/dev/null)" = "v$PULUMI_VERSION" ]; then
  log "using pulumi v$PULUMI_VERSION already on PATH: $existing"
  pulumi_bin=$existing
  use_cache_bin=
else
  build_cli
  build_language_host
  write_dynamic_provider_shim
fi
build_proxmoxve
install_proxmoxve_plugin "$pulumi_bin"

backend=${PULUMI_BACKEND_URL:-}
if [ -z "$backend" ]; then
  mkdir -p "$REPO/.pulumi-state"
  backend="file://$REPO/.pulumi-state"
fi
flock -u 9

log "toolchain ready in $(since "$start"): pulumi $("$pulumi_bin" version), cache $CACHE ($(du -sh "$CACHE" | cut -f1))"

if [ "$mode" = env ]; then
  q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
  path=$PATH
  if [ -n "$use_cache_bin" ]; then
    path=$BIN:$(printf '%s' "$PATH" | tr ':' '\n' | { grep -vxF "$BIN" || true; } | paste -sd: -)
  fi
  echo "export PATH=$(q "$path")"
  echo "export PULUMI_SKIP_UPDATE_CHECK=$(q true)"
  echo "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=$(q true)"
  echo "export PULUMI_BACKEND_URL=$(q "$backend")"
fi
