# Shared by nvidia.sh and its check.
# The NVIDIA userland version installed (from libnvidia-ml's file name, which needs no GPU), or "".
phx_nvidia_userland_version() {
  local lib
  lib=$(find "$R/usr/lib" "$R/usr/lib64" -name 'libnvidia-ml.so.*.*' 2>/dev/null | sort | tail -n 1 || true)
  [ -n "$lib" ] && printf '%s' "${lib##*/libnvidia-ml.so.}"
  return 0
}
# nvcc's release (e.g. 12.8) of the CUDA toolkit at CUDA_VERSION, or "".
phx_cuda_release() {
  local nvcc
  for nvcc in "$R/usr/local/cuda-$CUDA_VERSION/bin/nvcc" "$R/usr/local/cuda/bin/nvcc" "$R/usr/bin/nvcc"; do
    if [ -x "$nvcc" ]; then
      "$nvcc" --version 2>/dev/null | sed -n 's/.*release \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' | head -n 1
      return 0
    fi
  done
}
# How many GPUs the guest sees: /dev/nvidia0… passed through, and nvidia-smi answering.
phx_gpu_count() {
  compgen -G "$R/dev/nvidia[0-9]*" >/dev/null || { echo 0; return 0; }
  nvidia-smi --query-gpu=name --format=csv,noheader | wc -l
}
# The NVIDIA kernel driver loaded on this machine (from /proc/driver/nvidia/version), or "".
phx_nvidia_kernel_version() {
  sed -n 's/^NVRM version:.*  \([0-9][0-9.]*\)  .*/\1/p' "$R/proc/driver/nvidia/version" 2>/dev/null | head -n 1
  return 0
}
# Downloads NVIDIA's runfile from $1 into a private directory (mktemp -d: mode 0700, a name nobody can guess), checks its
# sha256 against $2 when given (lower or upper case hex), runs it as root with the remaining arguments, and removes it.
# A mismatch stops before anything runs, with both sums.
phx_nvidia_runfile() {
  local url=$1 want_sum=${2,,} dir run got_sum rc=0
  shift 2
  dir=$(mktemp -d "$R/tmp/phoenix-nvidia.XXXXXXXX")
  run="$dir/${url##*/}"
  curl -fsSL "$url" -o "$run" || { rm -rf "$dir"; phx_die "downloading $url failed"; }
  got_sum=$(sha256sum "$run" | cut -d' ' -f1)
  if [ -n "$want_sum" ] && [ "$got_sum" != "$want_sum" ]; then
    rm -rf "$dir"
    phx_die "checksum mismatch for $url: expected sha256 $want_sum, downloaded a file with sha256 $got_sum; it was not run"
  fi
  [ -n "$want_sum" ] || phx_log "running $url unchecked (sha256 $got_sum)"
  sh "$run" "$@" || rc=$?
  rm -rf "$dir"
  return "$rc"
}
