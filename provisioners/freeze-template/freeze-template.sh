# Convert a golden template's container into a Proxmox template once its features are applied.
# Params: VMID. Idempotent: a container that is already a template is left alone.
if pct config "$VMID" | grep -q '^template: 1'; then
  echo "CT $VMID is already a template"
  exit 0
fi
if pct status "$VMID" | grep -q 'status: running'; then
  pct shutdown "$VMID" --timeout 120 || pct stop "$VMID"
fi
pct template "$VMID"
echo "CT $VMID converted to a template"
