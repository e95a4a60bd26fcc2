# Prints the NVIDIA userland and CUDA versions and what GPUs are visible; exits non-zero when they are not as declared.
installed=$(phx_nvidia_userland_version)
if [ "$installed" != "$NVIDIA_DRIVER_VERSION" ]; then
  echo "NVIDIA userland '${installed:-not installed}', expected $NVIDIA_DRIVER_VERSION"
  exit 1
fi
cuda=$(phx_cuda_release || true)
echo "NVIDIA userland $installed; CUDA ${cuda:-none}"
[ -z "$CUDA_VERSION" ] || [ "$cuda" = "$CUDA_VERSION" ] || { echo "CUDA $CUDA_VERSION expected"; exit 1; }
if ! gpus=$(phx_gpu_count 2>&1); then
  echo "GPU passed through but nvidia-smi fails: $gpus"
  exit 1
fi
if [ "$gpus" = 0 ]; then echo "installed, no GPU visible"; else echo "$gpus GPU(s) visible"; fi
