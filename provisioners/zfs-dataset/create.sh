# Creates the dataset with its properties, or sets them on one that already exists (after zfs-lib.sh); either way the
# dataset gets this resource's claim in the user property phoenix:owner, which delete.sh checks before destroying.
# Params: ZFS_DATASET; ZFS_PROPERTIES, one property=value a line (values hold no newline), in the order applied;
# ZFS_CLAIM, the creating resource's claim.
# shellcheck disable=SC2154 # __phx_exists is set by zfs-lib.sh, which runs first
__phx_entries=()
while IFS= read -r __phx_entry; do
  if [ -n "$__phx_entry" ]; then __phx_entries+=("$__phx_entry"); fi
done <<<"$ZFS_PROPERTIES"
if [ "$__phx_exists" = 1 ]; then
  # Set locally only: a child inherits its parent's claim, which is not a claim on the child.
  __phx_owner=$(zfs get -H -o value -s local phoenix:owner "$ZFS_DATASET")
  if [ -z "$__phx_owner" ] || [ "$__phx_owner" = - ]; then
    echo "$ZFS_DATASET exists already: setting its properties"
  else
    echo "$ZFS_DATASET exists already (claimed by $__phx_owner): adopting it, setting its properties"
  fi
  for __phx_entry in "${__phx_entries[@]}"; do zfs set "$__phx_entry" "$ZFS_DATASET"; done
  zfs set "phoenix:owner=$ZFS_CLAIM" "$ZFS_DATASET"
else
  __phx_opts=()
  for __phx_entry in "${__phx_entries[@]}"; do __phx_opts+=(-o "$__phx_entry"); done
  zfs create -p "${__phx_opts[@]}" -o "phoenix:owner=$ZFS_CLAIM" "$ZFS_DATASET"
fi
