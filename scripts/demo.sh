#!/usr/bin/env bash
# npm run demo: set-up on a fresh machine, then the dev stack (stacks/dev.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$*"; }

step "npm dependencies"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; else echo "up to date"; fi

step "validate stacks/dev.yaml"
node scripts/phoenix.cjs validate stacks/dev.yaml

step "plan stacks/dev.yaml"
node scripts/phoenix.cjs plan stacks/dev.yaml
