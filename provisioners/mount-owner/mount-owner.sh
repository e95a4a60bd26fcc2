# On the node: each mount point's host directory owned by its container-side owner shifted through the container's id
# map (mountPoints[].owner; 100000+uid in a default unprivileged container), as the original's owner_uid/owner_gid.
# The directory only: what it holds keeps its owners. Params: MOUNT_OWNERS (one "<host uid>:<host gid> <path>" a line).
while IFS= read -r line; do
  [ -n "$line" ] || continue
  owner="${line%% *}"
  dir="$R${line#* }"
  [[ "$owner" =~ ^[0-9]+:[0-9]+$ ]] || phx_die "not a uid:gid: '$owner'"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir"
    phx_log "created $dir"
  fi
  if [ "$(stat -c %u:%g "$dir")" != "$owner" ]; then
    chown "$owner" "$dir"
    phx_log "$dir owned by $owner"
  fi
done <<<"$MOUNT_OWNERS"
