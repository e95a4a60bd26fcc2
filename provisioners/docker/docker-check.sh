# Prints the observed Docker state; exits non-zero unless Docker is installed from DOCKER_SOURCE, enabled, running and
# configured with the declared daemon.json (an adopted guest skips docker.sh only when all of that holds).
phx_detect_os
case "$DOCKER_SOURCE" in
  docker) packages=(docker-ce docker-ce-cli containerd.io) ;;
  debian) packages=(docker.io) ;;
  *)
    echo "DOCKER_SOURCE must be docker or debian, got '$DOCKER_SOURCE'"
    exit 1
    ;;
esac
for p in "${packages[@]}"; do
  if ! phx_pkg_installed "$p"; then
    echo "package $p is not installed (source: $DOCKER_SOURCE)"
    exit 1
  fi
done
if [ "$DOCKER_SOURCE" = debian ] && [ -e "$R/etc/apt/sources.list.d/docker.list" ]; then
  echo "Docker's apt repository is configured, but the source is Debian's docker.io"
  exit 1
fi
if ! version=$(docker version --format '{{.Server.Version}}' 2>&1); then
  echo "docker not running or not installed: $version"
  exit 1
fi
echo "docker server $version"
if phx_compose_detect; then
  echo "compose: ${PHX_COMPOSE[*]}"
else
  echo "no compose CLI (docker compose, docker-compose)"
  exit 1
fi
if ! systemctl is-enabled --quiet docker 2>/dev/null; then
  echo "docker.service is not enabled at boot"
  exit 1
fi
daemon=$(cat "$R/etc/docker/daemon.json" 2>/dev/null || true)
want="$DOCKER_DAEMON_JSON"
if [ -n "${DOCKER_DAEMON_JSON_NVIDIA:-}" ] && command -v nvidia-container-runtime >/dev/null; then want="$DOCKER_DAEMON_JSON_NVIDIA"; fi
if [ "$daemon" = "$want" ]; then
  echo "daemon.json as declared"
else
  echo "daemon.json differs from the definition"
  exit 1
fi
