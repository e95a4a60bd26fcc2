# Reads the dataset back for a refresh (after zfs-lib.sh): prints __PHX_ABSENT__ (ABSENT in zfs-dataset.ts) when it
# does not exist, else `zfs get -Hp` of the properties asked for. Params: ZFS_DATASET; ZFS_GET_PROPERTIES, the
# property names comma-separated (empty: none).
# shellcheck disable=SC2154 # __phx_exists is set by zfs-lib.sh, which runs first
[ "$__phx_exists" = 1 ] || { echo __PHX_ABSENT__; exit 0; }
if [ -n "$ZFS_GET_PROPERTIES" ]; then zfs get -Hp -o property,value,source "$ZFS_GET_PROPERTIES" "$ZFS_DATASET"; fi
