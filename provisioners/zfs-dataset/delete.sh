# Destroys the dataset (after zfs-lib.sh; no -r: children stop it), or says why it is kept: already gone; claimed by
# another resource (phoenix:owner is not ZFS_CLAIM: a replacement adopted it, or another stack did); protected.
# Params: ZFS_DATASET; ZFS_CLAIM, the deleting resource's claim (empty for a state from before claims); ZFS_PROTECT (1/0).
# shellcheck disable=SC2154 # __phx_exists is set by zfs-lib.sh, which runs first
[ "$__phx_exists" = 1 ] || { echo "$ZFS_DATASET is already gone"; exit 0; }
# A claim is set locally: a child inherits its parent's, which is not a claim on the child.
__phx_owner=$(zfs get -H -o value -s local phoenix:owner "$ZFS_DATASET")
if [ -n "$__phx_owner" ] && [ "$__phx_owner" != - ] && [ "$__phx_owner" != "$ZFS_CLAIM" ]; then
  echo "__PHX_CLAIMED__ $__phx_owner"
  echo "$ZFS_DATASET is kept: it is claimed by $__phx_owner"
  exit 0
fi
if [ "$ZFS_PROTECT" = 1 ]; then echo __PHX_PROTECTED__; exit 0; fi
# "dataset is busy" can be passing (something still has the mount open; zfs-fuse reports it for any mounted
# dataset): unmount first and try a few times before giving up.
for __phx_try in 1 2 3 4 5 6; do
  if [ "$(zfs get -H -o value mounted "$ZFS_DATASET")" = yes ]; then zfs unmount "$ZFS_DATASET" || true; fi
  if __phx_out=$(zfs destroy "$ZFS_DATASET" 2>&1); then echo "destroyed $ZFS_DATASET"; exit 0; fi
  case $__phx_out in *busy*) echo "$__phx_out (attempt $__phx_try)"; sleep $__phx_try ;; *) break ;; esac
done
printf '%s\n' "$__phx_out" >&2
exit 1
