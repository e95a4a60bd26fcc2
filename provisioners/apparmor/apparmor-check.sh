# Prints whether the container's config holds its lxc lines and whether the profile is installed, valid and loaded.
conf="$R/etc/pve/lxc/$VMID.conf"
ok=1
total=0
present=0
while IFS= read -r line; do
  [ -n "$line" ] || continue
  total=$((total + 1))
  if grep -qxF -- "$line" "$conf" 2>/dev/null; then present=$((present + 1)); else ok=0; fi
done <<<"$LXC_LINES"
echo "CT $VMID: $present of $total lxc lines in its config"
if [ -n "$APPARMOR_PROFILE_TEXT" ]; then
  file="$R/etc/apparmor.d/$APPARMOR_PROFILE"
  if [ "$(cat "$file" 2>/dev/null || true)" != "$APPARMOR_PROFILE_TEXT" ]; then
    echo "profile $APPARMOR_PROFILE: $file differs from the definition"
    ok=0
  elif ! apparmor_parser -QK "$file" >/dev/null 2>&1; then
    echo "profile $APPARMOR_PROFILE: rejected by apparmor_parser"
    ok=0
  elif ! apparmor_enabled; then
    echo "profile $APPARMOR_PROFILE: installed and valid, not loaded (this kernel has no AppArmor)"
  elif apparmor_loaded "$APPARMOR_PROFILE"; then
    echo "profile $APPARMOR_PROFILE: loaded"
  else
    echo "profile $APPARMOR_PROFILE: installed, not loaded"
    ok=0
  fi
fi
[ "$ok" = 1 ]
