# Reports the node's GPU readiness: phoenix-nvidia-init.service enabled (and active once the driver is loaded), the
# device nodes containers need, each host GPU's device minor against its declared index (NVIDIA_HOST_GPUS, "index=pci
# …"), and persistence mode. Exits non-zero when the unit is not enabled, or the driver is loaded and a node is missing.
rc=0
if systemctl is-enabled --quiet phoenix-nvidia-init; then
  echo "phoenix-nvidia-init.service enabled, $(systemctl is-active phoenix-nvidia-init 2>/dev/null || true)"
else
  echo "phoenix-nvidia-init.service not enabled"
  rc=1
fi
driver=$(phx_nvidia_kernel_version)
if [ -z "$driver" ]; then
  echo "NVIDIA driver not loaded: the device nodes appear at the next boot"
  exit "$rc"
fi
echo "NVIDIA driver $driver loaded"
systemctl --quiet is-active phoenix-nvidia-init || rc=1
nodes="nvidiactl nvidia-uvm nvidia-uvm-tools"
for g in $NVIDIA_HOST_GPUS; do nodes="$nodes nvidia${g%%=*}"; done
for n in $nodes; do
  if [ -e "$R/dev/$n" ]; then echo "/dev/$n present"; else echo "/dev/$n missing"; rc=1; fi
done
for g in $NVIDIA_HOST_GPUS; do
  index=${g%%=*} pci=${g#*=}
  [ -n "$pci" ] || continue
  info="$R/proc/driver/nvidia/gpus/$pci/information"
  if [ ! -r "$info" ]; then
    echo "GPU $index ($pci): not bound to the nvidia driver"
    rc=1
    continue
  fi
  minor=$(sed -n 's/^Device Minor:[[:space:]]*\([0-9]*\).*/\1/p' "$info")
  if [ "$minor" = "$index" ]; then
    echo "GPU $index ($pci): /dev/nvidia$minor"
  else
    echo "GPU $index ($pci): the driver made it /dev/nvidia$minor, but containers get /dev/nvidia$index: declare index $minor"
    rc=1
  fi
done
nvidia-smi --query-gpu=pci.bus_id,persistence_mode --format=csv,noheader 2>/dev/null | sed 's/^/persistence /' || true
exit "$rc"
