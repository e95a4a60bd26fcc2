# Sourced by every test double: records the call (name and argv) in $CALLS, one line per call.
printf '%s' "$(basename "$0")" >>"$CALLS"
for a in "$@"; do printf ' %s' "$a" >>"$CALLS"; done
printf '\n' >>"$CALLS"
S="$DOUBLES_STATE"
