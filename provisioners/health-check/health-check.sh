# Runs the guest's declared health checks, each retried at its interval; reports every failing one with its output.
# Params: HC_COUNT and, for each check i, HC_<i>_NAME, HC_<i>_COMMAND, HC_<i>_RETRIES, HC_<i>_INTERVAL. HC_ONCE=1 (the
# refresh check) tries each once.
failed=0
for ((i = 0; i < HC_COUNT; i++)); do
  name_var="HC_${i}_NAME" command_var="HC_${i}_COMMAND" retries_var="HC_${i}_RETRIES" interval_var="HC_${i}_INTERVAL"
  name=${!name_var} command=${!command_var} retries=${!retries_var} interval=${!interval_var}
  [ "${HC_ONCE:-0}" = 1 ] && retries=1
  for ((try = 1; ; try++)); do
    rc=0
    out=$(bash -c "$command" 2>&1 </dev/null) || rc=$?
    [ "$rc" -eq 0 ] && break
    [ "$try" -lt "$retries" ] || break
    sleep "$interval"
  done
  if [ "$rc" -eq 0 ]; then
    echo "health check $name: ok"
  else
    echo "health check $name: FAILED (exit $rc after $try attempt(s)) running: $command"
    [ -z "$out" ] || printf '%s\n' "$out" | tail -n 20 | sed 's/^/  | /'
    failed=$((failed + 1))
  fi
done
[ "$failed" -eq 0 ] || phx_die "$failed of $HC_COUNT health check(s) failed"
