# NVIDIA userland matching the node's kernel driver exactly, and the CUDA toolkit at CUDA_VERSION (none when empty).
# Params: NVIDIA_DRIVER_VERSION, NVIDIA_SOURCE (nvidia: NVIDIA's runfile with --no-kernel-module and NVIDIA's CUDA
# repository; debian: the distribution's non-free/restricted packages, which must carry that exact version),
# CUDA_VERSION, NVIDIA_RUNFILE_URL.
phx_detect_os
want="$NVIDIA_DRIVER_VERSION"

# The distribution's mirror as the guest already uses it (a local proxy in the lab), for contrib and non-free (nvidia-support is in contrib).
debian_mirror() {
  local url
  url=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' "$R"/etc/apt/sources.list "$R"/etc/apt/sources.list.d/*.list 2>/dev/null | grep -v security | head -n 1 || true)
  [ -n "$url" ] || url=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' "$R"/etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n 1 || true)
  printf '%s' "${url:-http://deb.debian.org/debian}"
}

# Installs packages after checking apt offers the exact upstream version wanted.
install_exact() {
  local version="$1" probe="$2" candidate
  shift 2
  phx_apt_refresh_if_stale
  [ "$PHX_APT_UPDATED" = 1 ] || { phx_apt_get update; PHX_APT_UPDATED=1; }
  candidate=$(phx_apt_candidate "$probe")
  candidate=${candidate#*:}
  [ "${candidate%%-*}" = "$version" ] ||
    phx_die "$PHX_OS_ID $PHX_OS_VERSION's $probe is '${candidate:-not available}', not $version: match the version or use source: nvidia"
  phx_apt_install "$@"
}

installed=$(phx_nvidia_userland_version)
if [ "$installed" = "$want" ]; then
  phx_log "NVIDIA userland $want already installed"
elif [ "$NVIDIA_SOURCE" = debian ]; then
  if [ "$PHX_OS_ID" = debian ]; then
    if echo "deb $(debian_mirror) $PHX_OS_CODENAME contrib non-free non-free-firmware" | phx_write_if_changed "$R/etc/apt/sources.list.d/phoenix-non-free.list" 0644; then
      phx_apt_sources_changed
    fi
    install_exact "$want" nvidia-smi nvidia-smi libnvidia-ml1 libcuda1
  else
    major=${want%%.*}
    install_exact "$want" "nvidia-utils-$major" "nvidia-utils-$major" "libnvidia-compute-$major"
  fi
else
  phx_apt_install ca-certificates curl kmod
  phx_nvidia_runfile "$NVIDIA_RUNFILE_URL" "" --silent --no-kernel-module --no-x-check --no-nouveau-check --no-nvidia-modprobe
fi
installed=$(phx_nvidia_userland_version)
[ "$installed" = "$want" ] || phx_die "NVIDIA userland is '${installed:-missing}' after installing, expected $want"

if [ -n "$CUDA_VERSION" ] && [ "$(phx_cuda_release)" != "$CUDA_VERSION" ]; then
  if [ "$NVIDIA_SOURCE" = debian ]; then
    [ "$PHX_OS_ID" = debian ] || phx_die "CUDA from Ubuntu's packages is not supported: use source: nvidia"
    candidate=$(phx_apt_candidate nvidia-cuda-toolkit)
    case "${candidate#*:}" in "$CUDA_VERSION".*) ;; *) phx_die "Debian's nvidia-cuda-toolkit is '${candidate:-not available}', not CUDA $CUDA_VERSION: use source: nvidia" ;; esac
    phx_apt_install nvidia-cuda-toolkit
  else
    if ! phx_pkg_installed cuda-keyring; then
      phx_apt_install ca-certificates curl
      distro="$PHX_OS_ID${PHX_OS_VERSION//./}"
      curl -fsSL "https://developer.download.nvidia.com/compute/cuda/repos/$distro/x86_64/cuda-keyring_1.1-1_all.deb" -o "$R/tmp/cuda-keyring.deb"
      dpkg -i "$R/tmp/cuda-keyring.deb"
      rm -f "$R/tmp/cuda-keyring.deb"
      phx_apt_sources_changed
    fi
    phx_apt_install "cuda-toolkit-${CUDA_VERSION//./-}"
  fi
  [ "$(phx_cuda_release)" = "$CUDA_VERSION" ] || phx_die "nvcc reports CUDA '$(phx_cuda_release)' after installing, expected $CUDA_VERSION"
fi

if [ "$(phx_gpu_count)" = 0 ]; then
  phx_log "NVIDIA userland $want installed, no GPU visible (nothing passed through, or no GPU on this node)"
else
  nvidia-smi
fi
