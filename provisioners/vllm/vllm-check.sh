# Prints whether vllm.service is active and serves the declared model on /v1/models.
state=$(systemctl is-active vllm 2>/dev/null || true)
if [ "$state" != active ]; then
  echo "vllm.service ${state:-missing}"
  exit 1
fi
if curl -fsS "http://$VLLM_CHECK_HOST:$VLLM_PORT/v1/models" 2>/dev/null | tr -d ' \n' | grep -qF "\"id\":\"$VLLM_SERVED_MODEL_NAME\""; then
  echo "vllm serves $VLLM_SERVED_MODEL_NAME on port $VLLM_PORT"
else
  echo "vllm is active but /v1/models on port $VLLM_PORT does not list $VLLM_SERVED_MODEL_NAME"
  exit 1
fi
