# Prepended to freeze-template.sh for a golden template that ran before the stack (phoenix adopt). Params: VMID.
# An adopted container with snapshots (the original system's `final-form`, which its linked clones were made from)
# stays the container it is: Proxmox cannot make a container with snapshots a template.
if ! pct config "$VMID" | grep -q '^template: 1' && snapshots=$(pct listsnapshot "$VMID" 2>/dev/null) &&
  grep -v -- '-> current' <<<"$snapshots" | grep -q .; then
  echo "CT $VMID has snapshots, so Proxmox cannot make it a template: adopted as the container it is"
  exit 0
fi
