#!/usr/bin/env bash
# npm run test:cold: the CI tier (npm test) with every lab cache (base template, VM image, apt proxy, registry) in an
# empty directory, as on a fresh machine; the Pulumi toolchain stays cached. Prints the time it took.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=$(mktemp -d "${TMPDIR:-/tmp}/phoenix-cold-cache-XXXXXX")
trap 'rm -rf "$cache"' EXIT
start=$(date +%s)
rc=0
PHOENIX_LAB_CACHE_DIR=$cache npm test || rc=$?
echo "test:cold: exit $rc after $(( $(date +%s) - start )) s with lab caches starting empty ($cache)"
exit "$rc"
