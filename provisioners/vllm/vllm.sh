# vLLM as the systemd service vllm.service, serving one model. Params: VLLM_INSTALL (venv|container), VLLM_SERVE_ARGS
# (`serve <model> --…`, quoted for systemd), VLLM_DESCRIPTION (escaped for systemd), VLLM_SERVED_MODEL_NAME, VLLM_PORT,
# VLLM_CHECK_HOST, VLLM_IMAGE (a checked image reference) and VLLM_IMAGE_WORD (the same, quoted for systemd),
# VLLM_START_TIMEOUT and, to run another OpenAI-compatible server instead of vLLM, VLLM_BIN. Everything that goes into
# the unit comes quoted from vllm.ts: no raw value is written into it. Secret: HF_TOKEN (optional),
# kept in a root-only file that huggingface_hub reads through HF_TOKEN_PATH. Pins (optional): VLLM_VERSION (the venv's
# vllm==<version>), VLLM_TORCH_INDEX (pip's --extra-index-url for torch's CUDA build), VLLM_CUDA_ARCH_LIST
# (TORCH_CUDA_ARCH_LIST for the install and in the unit; compute capabilities only, as the schema allows).
phx_detect_os
unit="$R/etc/systemd/system/vllm.service"
token="$R/etc/vllm/hf-token"
token_changed=0
if [ -n "${HF_TOKEN:-}" ]; then
  if phx_secret_file_if_changed HF_TOKEN "$token"; then token_changed=1; fi
elif [ -e "$token" ]; then
  rm -f "$token"
  token_changed=1
fi
token_env=""
[ -n "${HF_TOKEN:-}" ] && token_env="HF_TOKEN_PATH=/etc/vllm/hf-token"
arch_env=""
[ -n "${VLLM_CUDA_ARCH_LIST:-}" ] && arch_env="Environment=\"TORCH_CUDA_ARCH_LIST=$VLLM_CUDA_ARCH_LIST\""
engine_changed=0

phx_apt_install ca-certificates curl
if [ -n "${VLLM_BIN:-}" ]; then
  [[ "$VLLM_BIN" =~ ^/[A-Za-z0-9._/-]+$ ]] || phx_die "VLLM_BIN must be an absolute path, got '$VLLM_BIN'"
  [ -x "$R$VLLM_BIN" ] || phx_die "VLLM_BIN $VLLM_BIN is not an executable file"
  exec_start="$VLLM_BIN $VLLM_SERVE_ARGS"
  exec_pre=""
  environment="${token_env:+Environment=$token_env}"
elif [ "$VLLM_INSTALL" = container ]; then
  command -v docker >/dev/null || phx_die "install: container needs the docker feature (docker is not installed)"
  phx_docker_ready "install: container needs the docker feature (no Docker daemon answers)"
  mounts="-v /var/lib/vllm/hf:/root/.cache/huggingface"
  [ -n "$token_env" ] && mounts="$mounts -v /etc/vllm/hf-token:/etc/vllm/hf-token:ro -e $token_env"
  [ -n "${VLLM_CUDA_ARCH_LIST:-}" ] && mounts="$mounts -e \"TORCH_CUDA_ARCH_LIST=$VLLM_CUDA_ARCH_LIST\""
  exec_start="/usr/bin/docker run --rm --name vllm --gpus all --ipc=host -p $VLLM_PORT:$VLLM_PORT $mounts --entrypoint vllm $VLLM_IMAGE_WORD $VLLM_SERVE_ARGS"
  exec_pre="ExecStartPre=-/usr/bin/docker rm -f vllm"
  environment=""
  mkdir -p "$R/var/lib/vllm/hf"
  docker image inspect "$VLLM_IMAGE" >/dev/null 2>&1 || docker pull "$VLLM_IMAGE"
else
  # The release installed, from its dist-info directory (no Python needed to read it).
  installed=$(find "$R/opt/vllm/lib" -maxdepth 4 -type d -name 'vllm-*.dist-info' 2>/dev/null | sed 's|.*/vllm-\(.*\)\.dist-info$|\1|' | head -n 1 || true)
  if [ ! -x "$R/opt/vllm/bin/vllm" ] || { [ -n "${VLLM_VERSION:-}" ] && [ "$installed" != "$VLLM_VERSION" ]; }; then
    phx_apt_install python3-venv python3-pip
    [ -x "$R/opt/vllm/bin/pip" ] || python3 -m venv "$R/opt/vllm"
    spec=vllm
    [ -n "${VLLM_VERSION:-}" ] && spec="vllm==$VLLM_VERSION"
    index=()
    [ -n "${VLLM_TORCH_INDEX:-}" ] && index=(--extra-index-url "$VLLM_TORCH_INDEX")
    phx_log "installing $spec${installed:+ (was $installed)}${VLLM_TORCH_INDEX:+, torch from $VLLM_TORCH_INDEX}"
    TORCH_CUDA_ARCH_LIST="${VLLM_CUDA_ARCH_LIST:-}" "$R/opt/vllm/bin/pip" install --no-cache-dir "${index[@]}" "$spec"
    engine_changed=1
  fi
  exec_start="/opt/vllm/bin/vllm $VLLM_SERVE_ARGS"
  exec_pre=""
  environment="Environment=HF_HOME=/var/lib/vllm/hf${token_env:+ $token_env}"
  mkdir -p "$R/var/lib/vllm/hf"
fi
# The architectures kernels are built for (TORCH_CUDA_ARCH_LIST), on a line of their own when pinned.
if [ -n "$arch_env" ]; then environment="${environment:+$environment
}$arch_env"; fi

unit_changed=0
if phx_write_if_changed "$unit" 0644 <<UNIT; then unit_changed=1; fi
[Unit]
Description=$VLLM_DESCRIPTION
After=network-online.target
Wants=network-online.target

[Service]
$environment
$exec_pre
ExecStart=$exec_start
Restart=on-failure
RestartSec=5

[Install]
WantedBy=multi-user.target
UNIT

[ "$unit_changed" = 1 ] && systemctl daemon-reload
systemctl is-enabled --quiet vllm || systemctl enable vllm
if [ "$unit_changed" = 1 ] || [ "$token_changed" = 1 ] || [ "$engine_changed" = 1 ]; then
  phx_log "vllm.service, its token or the engine changed: restarting"
  systemctl restart vllm
elif ! systemctl is-active --quiet vllm; then
  systemctl start vllm
fi

# Model downloads make the first start slow: wait until the server lists the model.
deadline=$((SECONDS + ${VLLM_START_TIMEOUT:-900}))
until curl -fsS "http://$VLLM_CHECK_HOST:$VLLM_PORT/v1/models" 2>/dev/null | tr -d ' \n' | grep -qF "\"id\":\"$VLLM_SERVED_MODEL_NAME\""; do
  systemctl is-active --quiet vllm || { systemctl status vllm --no-pager || true; phx_die "vllm.service stopped before serving $VLLM_SERVED_MODEL_NAME"; }
  [ "$SECONDS" -lt "$deadline" ] || phx_die "vllm did not list $VLLM_SERVED_MODEL_NAME on /v1/models within ${VLLM_START_TIMEOUT:-900}s"
  sleep "${PHX_POLL_DELAY:-5}"
done
phx_log "vllm serves $VLLM_SERVED_MODEL_NAME on port $VLLM_PORT"
