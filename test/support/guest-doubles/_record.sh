# Sourced by every test double: records the call (name and argv) in $CALLS, one line per call.
printf '%s' "${CALLS_NAME:-$(basename "$0")}" >>"$CALLS"
for a in "$@"; do printf ' %s' "$a" >>"$CALLS"; done
printf '\n' >>"$CALLS"
# shellcheck disable=SC2034 # for the test doubles that source this file
S="$DOUBLES_STATE"
