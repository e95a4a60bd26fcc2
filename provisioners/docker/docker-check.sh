# Prints the observed Docker state; exits non-zero when Docker is missing, stopped or configured otherwise.
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
daemon=$(cat "$R/etc/docker/daemon.json" 2>/dev/null || true)
if [ "$daemon" = "$DOCKER_DAEMON_JSON" ] || { [ -n "${DOCKER_DAEMON_JSON_NVIDIA:-}" ] && [ "$daemon" = "$DOCKER_DAEMON_JSON_NVIDIA" ]; }; then
  echo "daemon.json as declared"
else
  echo "daemon.json differs from the definition"
  exit 1
fi
