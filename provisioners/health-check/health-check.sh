# Runs the guest's declared health checks, each retried at its interval; reports every failing one with its output.
# Params: HC_COUNT, HC_LIMIT (seconds all checks may take together) and, for each check i, HC_<i>_NAME, HC_<i>_COMMAND,
# HC_<i>_RETRIES, HC_<i>_INTERVAL, HC_<i>_TIMEOUT (seconds one attempt may take). HC_ONCE=1 (the refresh check) tries
# each once. Once the overall limit has run out, the check being tried fails with its name and the time taken, and
# the checks after it are not run.
failed=0
limit=${HC_LIMIT:-900}
started=$SECONDS
out_of_time=""
for ((i = 0; i < HC_COUNT; i++)); do
  name_var="HC_${i}_NAME" command_var="HC_${i}_COMMAND" retries_var="HC_${i}_RETRIES" interval_var="HC_${i}_INTERVAL"
  timeout_var="HC_${i}_TIMEOUT"
  name=${!name_var} command=${!command_var} retries=${!retries_var} interval=${!interval_var} attempt_limit=${!timeout_var:-60}
  if [ -n "$out_of_time" ]; then
    echo "health check $name: not run: the overall limit of ${limit}s ran out during '$out_of_time'"
    failed=$((failed + 1))
    continue
  fi
  [ "${HC_ONCE:-0}" = 1 ] && retries=1
  rc=0 out="" gave_up=""
  for ((try = 1; ; try++)); do
    left=$((limit - (SECONDS - started)))
    if [ "$left" -le 0 ]; then
      rc=124 out="(no time left for attempt $try)" gave_up=1
      break
    fi
    per=$attempt_limit
    [ "$per" -le "$left" ] || per=$left
    rc=0
    out=$(timeout -k 5 "$per" bash -c "$command" 2>&1 </dev/null) || rc=$?
    case $rc in 124 | 137) out="${out:+$out
}(attempt stopped after ${per}s)" ;; esac
    [ "$rc" -eq 0 ] && break
    [ "$try" -lt "$retries" ] || break
    # Another attempt needs its interval and at least a second to run within the overall limit.
    if [ $((limit - (SECONDS - started))) -le "${interval%.*}" ]; then
      gave_up=1
      break
    fi
    sleep "$interval"
  done
  if [ "$rc" -eq 0 ]; then
    echo "health check $name: ok"
  elif [ -n "$gave_up" ] || [ $((SECONDS - started)) -ge "$limit" ]; then
    echo "health check $name: FAILED: gave up after $((SECONDS - started))s at attempt $try of $retries (exit $rc), the health checks' overall limit is ${limit}s (timeouts.healthChecks) running: $command"
    [ -z "$out" ] || printf '%s\n' "$out" | tail -n 20 | sed 's/^/  | /'
    out_of_time=$name
    failed=$((failed + 1))
  else
    echo "health check $name: FAILED (exit $rc after $try attempt(s)) running: $command"
    [ -z "$out" ] || printf '%s\n' "$out" | tail -n 20 | sed 's/^/  | /'
    failed=$((failed + 1))
  fi
done
[ -z "$out_of_time" ] || phx_die "health check '$out_of_time' ran out of time after $((SECONDS - started))s (overall limit ${limit}s); $failed of $HC_COUNT health check(s) failed"
[ "$failed" -eq 0 ] || phx_die "$failed of $HC_COUNT health check(s) failed"
