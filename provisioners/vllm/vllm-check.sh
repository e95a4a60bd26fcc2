# Prints whether vllm.service is enabled, active, runs the declared arguments and serves the declared model on
# /v1/models, with the engine's version: the venv's installed release, else what the server's /version answers; exits
# non-zero otherwise (an adopted guest skips vllm.sh only when all of that holds). A pinned VLLM_VERSION must be that
# version, so a hand upgrade is drift.
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
engine=""
[ "$VLLM_INSTALL" = venv ] && [ -z "${VLLM_BIN:-}" ] &&
  engine=$(find "$R/opt/vllm/lib" -maxdepth 4 -type d -name 'vllm-*.dist-info' 2>/dev/null | sed 's|.*/vllm-\(.*\)\.dist-info$|\1|' | head -n 1 || true)
[ -n "$engine" ] ||
  engine=$(curl -fsS "http://$VLLM_CHECK_HOST:$VLLM_PORT/version" 2>/dev/null | tr -d ' \n' | sed -n 's/.*"version":"\([^"]*\)".*/\1/p' || true)
if [ -n "${VLLM_VERSION:-}" ] && [ "$engine" != "$VLLM_VERSION" ]; then
  echo "vllm ${engine:-of unknown version} runs, $VLLM_VERSION declared"
  exit 1
fi
if curl -fsS "http://$VLLM_CHECK_HOST:$VLLM_PORT/v1/models" 2>/dev/null | tr -d ' \n' | grep -qF "\"id\":\"$VLLM_SERVED_MODEL_NAME\""; then
  echo "vllm${engine:+ $engine} serves $VLLM_SERVED_MODEL_NAME on port $VLLM_PORT"
else
  echo "vllm is active but /v1/models on port $VLLM_PORT does not list $VLLM_SERVED_MODEL_NAME"
  exit 1
fi
