# NVIDIA Container Toolkit from NVIDIA's apt repository, and Docker's nvidia runtime. Params: DOCKER_DAEMON_JSON_NVIDIA
# (the docker feature's daemon.json plus the nvidia runtime: both features write the same bytes, so neither undoes the other),
# NVIDIA_NO_CGROUPS (1 in an unprivileged container).
phx_detect_os
key="$R/etc/apt/keyrings/nvidia-container-toolkit.asc"
if [ ! -s "$key" ]; then
  phx_apt_install ca-certificates curl
  mkdir -p "$(dirname "$key")"
  curl -fsSL https://nvidia.github.io/libnvidia-container/gpgkey -o "$key"
  chmod 0644 "$key"
fi
# shellcheck disable=SC2016 # $(ARCH) is apt's own substitution, written literally into the source line
if echo 'deb [signed-by=/etc/apt/keyrings/nvidia-container-toolkit.asc] https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /' |
  phx_write_if_changed "$R/etc/apt/sources.list.d/nvidia-container-toolkit.list" 0644; then
  phx_apt_sources_changed
fi
phx_apt_install nvidia-container-toolkit
# In an unprivileged container the toolkit's hook cannot make device cgroup rules (that takes the host's root): it must
# leave cgroups alone, as NVIDIA documents for rootless and unprivileged setups; the container's devN entries grant
# the GPU nodes themselves.
if [ "$NVIDIA_NO_CGROUPS" = 1 ]; then
  cfg="$R/etc/nvidia-container-runtime/config.toml"
  [ -f "$cfg" ] || phx_die "$cfg is missing: nvidia-container-toolkit installed no config"
  if ! grep -Eq '^[[:space:]]*no-cgroups[[:space:]]*=[[:space:]]*true' "$cfg"; then
    if grep -Eq '^[[:space:]]*#?[[:space:]]*no-cgroups[[:space:]]*=' "$cfg"; then
      sed -i -E 's/^[[:space:]]*#?[[:space:]]*no-cgroups[[:space:]]*=.*/no-cgroups = true/' "$cfg"
    else
      sed -i -E 's/^\[nvidia-container-cli\]$/&\nno-cgroups = true/' "$cfg"
    fi
    phx_log "no-cgroups = true in $cfg (an unprivileged container)"
  fi
fi
command -v docker >/dev/null || phx_die "docker is not installed: the docker feature runs first"
if printf '%s\n' "$DOCKER_DAEMON_JSON_NVIDIA" | phx_write_if_changed "$R/etc/docker/daemon.json" 0644; then
  phx_log "nvidia runtime added to daemon.json: restarting docker"
  systemctl restart docker
fi
phx_log "$(nvidia-ctk --version | head -n 1)"
