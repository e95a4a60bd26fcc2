# The compose CLI of a guest with Docker: Docker's compose plugin (docker-ce's docker-compose-plugin) or Ubuntu's
# docker-compose-v2, both `docker compose`; else Debian's docker-compose (the 1.29 line on Debian 12). Shared by the
# docker feature, which installs it, and the apps, which use whichever is there.

# Sets PHX_COMPOSE (the command, an array) and PHX_COMPOSE_VERSION; fails when the guest has none.
phx_compose_detect() {
  if docker compose version >/dev/null 2>&1; then
    PHX_COMPOSE=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1; then
    PHX_COMPOSE=(docker-compose)
  else
    return 1
  fi
  PHX_COMPOSE_VERSION=$("${PHX_COMPOSE[@]}" version --short 2>/dev/null || true)
  PHX_COMPOSE_VERSION=${PHX_COMPOSE_VERSION#v}
}

# Installs the compose CLI that goes with the guest's Docker packages, unless one is there.
phx_compose_install() {
  phx_compose_detect && return 0
  if phx_pkg_installed docker-ce; then
    phx_apt_install docker-compose-plugin
  elif [ "${PHX_OS_ID:-}" = ubuntu ]; then
    phx_apt_install docker-compose-v2
  else
    phx_apt_install docker-compose
  fi
  phx_compose_detect || phx_die "no compose CLI after installing it (docker compose, docker-compose)"
  phx_log "compose CLI: ${PHX_COMPOSE[*]} $PHX_COMPOSE_VERSION"
}
