# The refresh check: each health check runs once (a retry loop would only hide what is wrong now).
# shellcheck disable=SC2034 # read by health-check.sh, which the engine appends to this file
HC_ONCE=1
