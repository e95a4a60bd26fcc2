#!/usr/bin/env bash
# Install the named Debian packages that are missing; does nothing (not even apt-get update) when all are installed.
# Usage: scripts/ensure-apt.sh PACKAGE...
set -euo pipefail

missing() {
  local p
  for p in "$@"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || echo "$p"
  done
}

[ -z "$(missing "$@")" ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
# Test files run in parallel and may ask at the same time: one apt at a time, and look again once it is our turn.
exec 9>"${TMPDIR:-/tmp}/phoenix-ensure-apt.lock"
flock 9
mapfile -t todo < <(missing "$@")
[ ${#todo[@]} -eq 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${todo[@]}"
