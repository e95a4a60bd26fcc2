# Docker Engine from Docker's apt repository (DOCKER_SOURCE=docker) or Debian's/Ubuntu's docker.io (debian), a compose CLI,
# with /etc/docker/daemon.json as declared. Params: DOCKER_SOURCE, DOCKER_DAEMON_JSON, DOCKER_DAEMON_JSON_NVIDIA
# (the same settings plus the nvidia runtime, set when the guest also has nvidia-container-toolkit).
phx_detect_os
list="$R/etc/apt/sources.list.d/docker.list"
key="$R/etc/apt/keyrings/docker.asc"
case "$DOCKER_SOURCE" in
  docker)
    if [ ! -s "$key" ]; then
      phx_apt_install ca-certificates curl
      mkdir -p "$(dirname "$key")"
      curl -fsSL "https://download.docker.com/linux/$PHX_OS_ID/gpg" -o "$key"
      chmod 0644 "$key"
    fi
    if echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/$PHX_OS_ID $PHX_OS_CODENAME stable" |
      phx_write_if_changed "$list" 0644; then
      phx_apt_sources_changed
    fi
    packages=(docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin)
    ;;
  debian)
    if [ -e "$list" ]; then
      rm -f "$list"
      phx_apt_sources_changed
    fi
    packages=(docker.io)
    ;;
  *) phx_die "DOCKER_SOURCE must be docker or debian, got '$DOCKER_SOURCE'" ;;
esac
phx_apt_install "${packages[@]}"
# Apps need a compose CLI: Docker's plugin (installed above), Ubuntu's docker-compose-v2 or Debian's docker-compose.
phx_compose_install

daemon="$DOCKER_DAEMON_JSON"
if [ -n "${DOCKER_DAEMON_JSON_NVIDIA:-}" ] && command -v nvidia-container-runtime >/dev/null; then daemon="$DOCKER_DAEMON_JSON_NVIDIA"; fi
changed=0
if printf '%s\n' "$daemon" | phx_write_if_changed "$R/etc/docker/daemon.json" 0644; then changed=1; fi

systemctl is-enabled --quiet docker || systemctl enable docker
if [ "$changed" = 1 ] && systemctl is-active --quiet docker; then
  phx_log "daemon.json changed: restarting docker"
  systemctl restart docker
elif ! systemctl is-active --quiet docker; then
  systemctl start docker
fi
phx_log "docker $(docker version --format '{{.Server.Version}}') ready, compose: ${PHX_COMPOSE[*]} $PHX_COMPOSE_VERSION"
