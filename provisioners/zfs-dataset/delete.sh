# Destroys the dataset (after zfs-lib.sh; no -r: children stop it), or says it is already gone. Params: ZFS_DATASET.
# shellcheck disable=SC2154 # __phx_exists is set by zfs-lib.sh, which runs first
[ "$__phx_exists" = 1 ] || { echo "$ZFS_DATASET is already gone"; exit 0; }
# "dataset is busy" can be passing (something still has the mount open; zfs-fuse reports it for any mounted
# dataset): unmount first and try a few times before giving up.
for __phx_try in 1 2 3 4 5 6; do
  if [ "$(zfs get -H -o value mounted "$ZFS_DATASET")" = yes ]; then zfs unmount "$ZFS_DATASET" || true; fi
  if __phx_out=$(zfs destroy "$ZFS_DATASET" 2>&1); then echo "destroyed $ZFS_DATASET"; exit 0; fi
  case $__phx_out in *busy*) echo "$__phx_out (attempt $__phx_try)"; sleep $__phx_try ;; *) break ;; esac
done
printf '%s\n' "$__phx_out" >&2
exit 1
