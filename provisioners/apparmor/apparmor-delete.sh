# Removes the lxc lines apparmor.sh wrote from the container's config (the profile stays: other containers may use it).
conf="$R/etc/pve/lxc/$VMID.conf"
if [ -f "$conf" ]; then phx_lxc_conf_apply "$conf" "$R/var/lib/phoenix/lxc-lines/$VMID" "" || true; fi
rm -f "$R/var/lib/phoenix/lxc-lines/$VMID"
