# Applies a property change to an existing dataset: `zfs set` for changed, added and reset properties, `zfs inherit`
# for removed ones. Params: ZFS_DATASET; ZFS_CHANGES, one change a line in the order applied, either
# "set property=value" or "inherit property" (values hold no newline).
set -eu
__phx_changes=()
while IFS= read -r __phx_line; do
  if [ -n "$__phx_line" ]; then __phx_changes+=("$__phx_line"); fi
done <<<"$ZFS_CHANGES"
for __phx_line in "${__phx_changes[@]}"; do
  case $__phx_line in
    "set "*) zfs set "${__phx_line#set }" "$ZFS_DATASET" ;;
    "inherit "*) zfs inherit "${__phx_line#inherit }" "$ZFS_DATASET" ;;
    *) printf 'unknown ZFS change: %s\n' "$__phx_line" >&2; exit 1 ;;
  esac
done
