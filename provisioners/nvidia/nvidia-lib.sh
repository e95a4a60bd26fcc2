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
