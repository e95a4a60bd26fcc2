#!/usr/bin/env bash
# `npm run lint`: Prettier's check, ESLint (eslint.config.mjs: import cycles, the pipeline's layers, line limits), and
# ShellCheck over every tracked *.sh file (.shellcheckrc). Every step runs even when one before it failed; exits
# non-zero when any step reports an error. ESLint's warnings (max-lines, max-lines-per-function) are printed, not fatal.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
PATH="$PWD/node_modules/.bin:$PATH"

bash scripts/ensure-apt.sh shellcheck || exit 1

failed=()
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }'; }
step() {
  local name=$1 start=$EPOCHREALTIME
  shift
  echo "── $name"
  if "$@"; then
    echo "── $name: ok ($(elapsed "$start"))"
  else
    echo "── $name: FAILED ($(elapsed "$start"))"
    failed+=("$name")
  fi
}

# Every tracked *.sh file (every *.sh outside node_modules when this is not a git checkout).
shellcheck_all() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z -- '*.sh' | xargs -0 shellcheck
  else
    find . -name node_modules -prune -o -name '*.sh' -type f -print0 | xargs -0 shellcheck
  fi
}

step "prettier: npm run format:check (npm run format writes)" npm run --silent format:check
step "eslint" eslint .
step "shellcheck" shellcheck_all

if [ ${#failed[@]} -gt 0 ]; then
  echo "lint failed: ${failed[*]}" >&2
  exit 1
fi
echo "lint: no errors"
