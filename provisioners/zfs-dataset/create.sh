# Creates the dataset with its properties, or sets them on one that already exists (after zfs-lib.sh).
# Params: ZFS_DATASET; ZFS_PROPERTIES, one property=value a line (values hold no newline), in the order applied.
# shellcheck disable=SC2154 # __phx_exists is set by zfs-lib.sh, which runs first
__phx_entries=()
while IFS= read -r __phx_entry; do
  if [ -n "$__phx_entry" ]; then __phx_entries+=("$__phx_entry"); fi
done <<<"$ZFS_PROPERTIES"
if [ "$__phx_exists" = 1 ]; then
  echo "$ZFS_DATASET exists already: setting its properties"
  for __phx_entry in "${__phx_entries[@]}"; do zfs set "$__phx_entry" "$ZFS_DATASET"; done
else
  __phx_opts=()
  for __phx_entry in "${__phx_entries[@]}"; do __phx_opts+=(-o "$__phx_entry"); done
  zfs create -p "${__phx_opts[@]}" "$ZFS_DATASET"
fi
