# Prints whether vllm.service is enabled, active, runs the declared arguments and serves the declared model on
# /v1/models; exits non-zero otherwise (an adopted guest skips vllm.sh only when all of that holds).
unit="$R/etc/systemd/system/vllm.service"
state=$(systemctl is-active vllm 2>/dev/null || true)
if [ "$state" != active ]; then
  echo "vllm.service ${state:-missing}"
  exit 1
fi
exec_start=$(sed -n 's/^ExecStart=//p' "$unit" 2>/dev/null | tail -n 1)
case "$exec_start" in
  *" $VLLM_SERVE_ARGS") ;;
  *)
    echo "vllm.service runs other arguments than the definition's (${exec_start:-no ExecStart in $unit})"
    exit 1
    ;;
esac
if ! systemctl is-enabled --quiet vllm 2>/dev/null; then
  echo "vllm.service is not enabled at boot"
  exit 1
fi
if curl -fsS "http://$VLLM_CHECK_HOST:$VLLM_PORT/v1/models" 2>/dev/null | tr -d ' \n' | grep -qF "\"id\":\"$VLLM_SERVED_MODEL_NAME\""; then
  echo "vllm serves $VLLM_SERVED_MODEL_NAME on port $VLLM_PORT"
else
  echo "vllm is active but /v1/models on port $VLLM_PORT does not list $VLLM_SERVED_MODEL_NAME"
  exit 1
fi
