#!/usr/bin/env bash
# Builds a real Ollama from its Go module (cgo: ggml's CPU backend) for the lab, which has no internet: the e2e test
# serves it to a guest as a release mirror would. Cached by version under ${XDG_CACHE_HOME:-~/.cache}/phoenix-hypervisor.
# Usage: scripts/build-ollama.sh [VERSION]; prints the binary's path last.
# 0.6.5 is the version the Go module proxy serves that builds as its module: later modules miss llama.cpp's vendored
# headers (nlohmann, stb, miniaudio), which module zips leave out. First build ≈ 22 min on 2 cores; a cache hit 0 s.
set -euo pipefail
version=${1:-0.6.5}
root=$(cd "$(dirname "$0")/.." && pwd)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/phoenix-hypervisor/ollama-$version"
if [ -x "$cache/ollama" ]; then
  echo "ollama $version: cache hit" >&2
  echo "$cache/ollama"
  exit 0
fi
bash "$root/scripts/ensure-apt.sh" gcc g++ >&2
start=$SECONDS
export GOFLAGS=-mod=mod
dir=$(go mod download -json "github.com/ollama/ollama@v$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || { echo "go mod download gave no directory for github.com/ollama/ollama@v$version" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
cp -r "$dir" "$tmp/src"
chmod -R u+w "$tmp/src"
echo "building ollama $version (cgo; the first build takes about 20 minutes on 2 cores)" >&2
(cd "$tmp/src" && CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X github.com/ollama/ollama/version.Version=$version" -o "$tmp/ollama" .) >&2
mkdir -p "$cache"
mv "$tmp/ollama" "$cache/ollama"
echo "ollama $version built in $((SECONDS - start)) s" >&2
echo "$cache/ollama"
