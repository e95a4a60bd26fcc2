# Prints each mount point directory's owner; fails when one is missing or owned by someone else.
ok=1
while IFS= read -r line; do
  [ -n "$line" ] || continue
  owner="${line%% *}"
  dir="$R${line#* }"
  seen=$(stat -c %u:%g "$dir" 2>/dev/null || echo missing)
  echo "${line#* }: $seen"
  [ "$seen" = "$owner" ] || ok=0
done <<<"$MOUNT_OWNERS"
[ "$ok" = 1 ]
