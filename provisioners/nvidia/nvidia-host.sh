# The NVIDIA kernel driver on the node itself (a Proxmox VE host) at NVIDIA_DRIVER_VERSION, from NVIDIA's runfile built
# with DKMS so kernel updates rebuild it. Opt-in (nodes[].nvidia.installOnHost). Params: NVIDIA_DRIVER_VERSION,
# NVIDIA_RUNFILE_URL, NVIDIA_RUNFILE_SHA256 (required: the runfile runs as root only once its checksum matches).
phx_detect_os
loaded=$(phx_nvidia_kernel_version)
if [ "$loaded" = "$NVIDIA_DRIVER_VERSION" ]; then
  phx_log "NVIDIA driver $loaded loaded"
  exit 0
fi
[ -z "$loaded" ] || phx_log "NVIDIA driver $loaded loaded, $NVIDIA_DRIVER_VERSION declared: installing it"
kernel=$(uname -r)
# Proxmox names its kernel headers proxmox-headers-<release>; plain Debian linux-headers-<release>.
headers="linux-headers-$kernel"
[ -z "$(phx_apt_candidate "proxmox-headers-$kernel")" ] || headers="proxmox-headers-$kernel"
phx_apt_install ca-certificates curl dkms build-essential "$headers"
if printf 'blacklist nouveau\noptions nouveau modeset=0\n' | phx_write_if_changed "$R/etc/modprobe.d/phoenix-blacklist-nouveau.conf" 0644; then
  update-initramfs -u
fi
[ -n "${NVIDIA_RUNFILE_SHA256:-}" ] || phx_die "no sha256 for NVIDIA's runfile: set nodes[].nvidia.runfileSha256 (it runs as root on the node)"
phx_nvidia_runfile "$NVIDIA_RUNFILE_URL" "$NVIDIA_RUNFILE_SHA256" --silent --dkms --no-x-check --disable-nouveau
grep -qw '^nouveau' "$R/proc/modules" 2>/dev/null && phx_die "NVIDIA driver $NVIDIA_DRIVER_VERSION installed, but nouveau is loaded: reboot the node, then run pulumi up again"
modprobe nvidia
loaded=$(phx_nvidia_kernel_version)
[ "$loaded" = "$NVIDIA_DRIVER_VERSION" ] || phx_die "the loaded NVIDIA driver is '${loaded:-none}' after installing $NVIDIA_DRIVER_VERSION: reboot the node, then run pulumi up again"
phx_log "NVIDIA driver $loaded loaded"
