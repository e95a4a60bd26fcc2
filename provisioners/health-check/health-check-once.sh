# The refresh check: each health check runs once (a retry loop would only hide what is wrong now).
HC_ONCE=1
