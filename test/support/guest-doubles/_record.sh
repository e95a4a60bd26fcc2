# Sourced by every test double: records the call (name and argv) in $CALLS, one line per call.
# A script that clears its environment but PATH (as apps do around the compose CLI) still reaches its sandbox: the
# sandbox's own dynbin is on PATH, beside its calls file and state.
if [ -z "${CALLS:-}" ]; then
  for d in ${PATH//:/ }; do
    # shellcheck disable=SC2034 # for the test doubles that source this file
    case $d in */dynbin) CALLS=${d%/dynbin}/calls DOUBLES_STATE=${d%/dynbin}/state DOUBLES_DYNBIN=$d && break ;; esac
  done
fi
printf '%s' "${CALLS_NAME:-$(basename "$0")}" >>"$CALLS"
for a in "$@"; do printf ' %s' "$a" >>"$CALLS"; done
printf '\n' >>"$CALLS"
# shellcheck disable=SC2034 # for the test doubles that source this file
S="$DOUBLES_STATE"
