# Reports VFIO on the node: the IOMMU parameters on the running kernel's command line, each VM device's driver, and
# whether a reboot is pending. Exits non-zero when the managed files are missing or differ (someone changed them).
params=$(phx_vfio_params)
rc=0
if [ "$(cat "$R/etc/modprobe.d/phoenix-vfio.conf" 2>/dev/null || true)" != "$(printf '%s' "$VFIO_MODPROBE_CONF")" ]; then
  echo "/etc/modprobe.d/phoenix-vfio.conf differs from the definition's"
  rc=1
fi
if [ "$(cat "$R/etc/modules-load.d/phoenix-vfio.conf" 2>/dev/null || true)" != "$(printf '%s' "$VFIO_MODULES_CONF")" ]; then
  echo "/etc/modules-load.d/phoenix-vfio.conf differs from the definition's"
  rc=1
fi
if phx_cmdline_has "$params"; then echo "IOMMU: $params on the kernel command line"; else echo "IOMMU: $params not on the running kernel's command line"; fi
for d in $VFIO_DEVICES; do
  pci=${d%%=*} rest=${d#*=}
  group=$(phx_pci_group "$pci")
  echo "$pci (GPU ${rest%%:*}): $(phx_pci_driver "$pci")${group:+, IOMMU group $group}"
done
if [ -s "$R/var/lib/phoenix/vfio-reboot-required" ]; then echo "reboot needed: $(cat "$R/var/lib/phoenix/vfio-reboot-required")"; fi
exit "$rc"
