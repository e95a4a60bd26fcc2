# Prepended to create.sh, read.sh and delete.sh: stops unless zfs is installed and sets __phx_exists to 1 or 0.
# Params: ZFS_DATASET. Any `zfs list` error other than a missing dataset stops the script with that error.
set -eu
command -v zfs >/dev/null || { echo "zfs: command not found on this host" >&2; exit 127; }
if __phx_out=$(zfs list -H -o name "$ZFS_DATASET" 2>&1); then __phx_exists=1; else
  case $__phx_out in *"does not exist"*) __phx_exists=0 ;; *) printf '%s\n' "$__phx_out" >&2; exit 1 ;; esac
fi
