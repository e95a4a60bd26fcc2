# Shared by vfio.sh and its check.
# The IOMMU parameters this CPU needs (intel or amd, from /proc/cpuinfo).
phx_vfio_params() {
  if grep -q '^vendor_id[[:space:]]*:[[:space:]]*AuthenticAMD' "$R/proc/cpuinfo" 2>/dev/null; then
    printf '%s' "$VFIO_AMD_PARAMS"
  else
    printf '%s' "$VFIO_INTEL_PARAMS"
  fi
}
# The driver a PCI device is bound to, or "none".
phx_pci_driver() {
  local link
  link=$(readlink "$R/sys/bus/pci/devices/$1/driver" 2>/dev/null || true)
  printf '%s' "${link:+${link##*/}}"
  [ -n "$link" ] || printf none
}
# The IOMMU group of a PCI device, or "" when the IOMMU is off.
phx_pci_group() {
  local link
  link=$(readlink "$R/sys/bus/pci/devices/$1/iommu_group" 2>/dev/null || true)
  printf '%s' "${link##*/}"
}
# Whether every parameter of a space-separated list is on the running kernel's command line.
phx_cmdline_has() {
  local p list
  read -ra list <<<"$1"
  for p in "${list[@]}"; do grep -qw -- "$p" "$R/proc/cmdline" || return 1; done
}
