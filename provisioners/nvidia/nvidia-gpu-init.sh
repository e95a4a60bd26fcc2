# Installs phoenix-nvidia-init.service on the node (NVIDIA_INIT_UNIT, rendered by nvidia-gpu-init.ts) and runs it now
# when the driver is loaded; otherwise it runs at the next boot, before pve-guests.service.
unit="$R/etc/systemd/system/phoenix-nvidia-init.service"
changed=0
if printf '%s' "$NVIDIA_INIT_UNIT" | phx_write_if_changed "$unit" 0644; then changed=1; fi
[ "$changed" = 1 ] && systemctl daemon-reload
systemctl is-enabled --quiet phoenix-nvidia-init || systemctl enable phoenix-nvidia-init
if [ -z "$(phx_nvidia_kernel_version)" ] && [ ! -x "$R/usr/bin/nvidia-smi" ]; then
  phx_log "no NVIDIA driver on the node yet: phoenix-nvidia-init.service runs at the next boot"
elif [ "$changed" = 1 ] || ! systemctl is-active --quiet phoenix-nvidia-init; then
  systemctl restart phoenix-nvidia-init
  phx_log "phoenix-nvidia-init.service ran: $(find "$R/dev" -maxdepth 1 -name 'nvidia*' 2>/dev/null | wc -l) /dev/nvidia* node(s)"
fi
