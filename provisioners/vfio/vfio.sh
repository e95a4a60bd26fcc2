# VFIO on the node. Params: VFIO_MODPROBE_CONF and VFIO_MODULES_CONF (the files, rendered by vfio.ts),
# VFIO_INTEL_PARAMS / VFIO_AMD_PARAMS (kernel parameters), VFIO_DEVICES ("pci=gpu:group …" of what goes to vfio-pci).
# Checks the IOMMU groups first (when the IOMMU is on), then writes the kernel command line (GRUB's
# /etc/default/grub and systemd-boot's /etc/kernel/cmdline, whichever the node has) and the module files, refreshes
# the boot loader and the initramfs, and says when a reboot is needed. It never reboots.
devices=""
for d in $VFIO_DEVICES; do devices="$devices ${d%%=*}"; done
# 1. IOMMU groups: a VM takes a device's whole group, so every other device in it must be declared (or be a bridge).
if [ -n "$(ls -A "$R/sys/kernel/iommu_groups" 2>/dev/null)" ]; then
  for d in $VFIO_DEVICES; do
    pci=${d%%=*} rest=${d#*=}
    gpu=${rest%%:*} declared=${rest#*:}
    [ -e "$R/sys/bus/pci/devices/$pci" ] || phx_die "GPU $gpu: no PCI device $pci on this node (lspci -D)"
    group=$(phx_pci_group "$pci")
    [ -n "$group" ] || phx_die "GPU $gpu ($pci) is in no IOMMU group although the IOMMU is on"
    [ -z "$declared" ] || [ "$declared" = "$group" ] ||
      phx_die "GPU $gpu ($pci) is in IOMMU group $group, the definition says $declared: set iommuGroup: $group"
    for member in "$R/sys/kernel/iommu_groups/$group/devices/"*; do
      m=${member##*/}
      case " $devices " in *" $m "*) continue ;; esac
      class=$(cat "$R/sys/bus/pci/devices/$m/class" 2>/dev/null || true)
      case $class in 0x0604*) continue ;; esac # a PCI bridge stays with the host
      id="$(sed 's/^0x//' "$R/sys/bus/pci/devices/$m/vendor"):$(sed 's/^0x//' "$R/sys/bus/pci/devices/$m/device")"
      phx_die "IOMMU group $group of GPU $gpu ($pci) also holds $m ($id, class $class): a VM takes the whole group; declare it under the GPU's iommuGroupDevices to pass it along, or move the card to a slot with its own group"
    done
  done
else
  phx_log "the IOMMU is off: IOMMU groups are checked at the first up after the reboot"
fi

# 2. The kernel command line.
params=$(phx_vfio_params)
cmdline_changed=0
add_params() { # a line of parameters → the same with the missing ones appended
  local line="$1" p
  for p in $params; do
    case " $line " in *" $p "*) ;; *) line="${line:+$line }$p" ;; esac
  done
  printf '%s' "$line"
}
if [ -f "$R/etc/kernel/cmdline" ]; then
  old=$(head -n 1 "$R/etc/kernel/cmdline")
  new=$(add_params "$old")
  if [ "$new" != "$old" ]; then
    printf '%s\n' "$new" | phx_write_if_changed "$R/etc/kernel/cmdline" 0644
    phx_log "/etc/kernel/cmdline (systemd-boot): $new"
    cmdline_changed=1
  fi
fi
if [ -f "$R/etc/default/grub" ]; then
  old=$(sed -n 's/^GRUB_CMDLINE_LINUX_DEFAULT="\(.*\)"$/\1/p' "$R/etc/default/grub" | tail -n 1)
  new=$(add_params "$old")
  if [ "$new" != "$old" ]; then
    if grep -q '^GRUB_CMDLINE_LINUX_DEFAULT=' "$R/etc/default/grub"; then
      sed "s|^GRUB_CMDLINE_LINUX_DEFAULT=.*|GRUB_CMDLINE_LINUX_DEFAULT=\"$new\"|" "$R/etc/default/grub" | phx_write_if_changed "$R/etc/default/grub" 0644
    else
      { cat "$R/etc/default/grub"; printf 'GRUB_CMDLINE_LINUX_DEFAULT="%s"\n' "$new"; } | phx_write_if_changed "$R/etc/default/grub" 0644
    fi
    phx_log "/etc/default/grub (GRUB): GRUB_CMDLINE_LINUX_DEFAULT=\"$new\""
    cmdline_changed=1
  fi
fi
[ -f "$R/etc/kernel/cmdline" ] || [ -f "$R/etc/default/grub" ] ||
  phx_die "neither /etc/kernel/cmdline (systemd-boot) nor /etc/default/grub (GRUB) exists: add $params to the kernel command line by hand"
if [ "$cmdline_changed" = 1 ]; then
  if [ -e "$R/etc/kernel/proxmox-boot-uuids" ]; then proxmox-boot-tool refresh; else update-grub; fi
fi

# 3. The modules and vfio-pci's devices.
modules_changed=0
if printf '%s' "$VFIO_MODULES_CONF" | phx_write_if_changed "$R/etc/modules-load.d/phoenix-vfio.conf" 0644; then modules_changed=1; fi
if printf '%s' "$VFIO_MODPROBE_CONF" | phx_write_if_changed "$R/etc/modprobe.d/phoenix-vfio.conf" 0644; then modules_changed=1; fi
if [ "$modules_changed" = 1 ]; then
  update-initramfs -u -k all
  [ -e "$R/etc/kernel/proxmox-boot-uuids" ] && [ "$cmdline_changed" = 0 ] && proxmox-boot-tool refresh
fi

# 4. What the running kernel still lacks: a reboot applies it (Phoenix does not reboot).
pending=""
phx_cmdline_has "$params" || pending="the kernel command line ($params)"
for pci in $devices; do
  drv=$(phx_pci_driver "$pci")
  [ "$drv" = vfio-pci ] || pending="${pending:+$pending, }$pci on vfio-pci (now $drv)"
done
mkdir -p "$R/var/lib/phoenix"
if [ -n "$pending" ]; then
  printf '%s\n' "$pending" >"$R/var/lib/phoenix/vfio-reboot-required"
  phx_log "REBOOT NEEDED on this node for VFIO: $pending. Phoenix does not reboot: reboot when its guests allow, then run pulumi up again"
else
  rm -f "$R/var/lib/phoenix/vfio-reboot-required"
  phx_log "VFIO ready: $devices on vfio-pci"
fi
