#!/usr/bin/env bash
# npm run demo: set-up on a fresh machine (npm dependencies, then everything else from scripts/demo.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
exec npx tsx scripts/demo.ts
