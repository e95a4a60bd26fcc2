# The HTTPS gateway: Debian's caddy, /etc/caddy/Caddyfile as declared (GATEWAY_CADDYFILE), reloaded only when it
# changed; then waits for the internal CA's root (GATEWAY_ROOT_CERT), which Caddy makes on its first start.
phx_detect_os
phx_apt_install caddy
conf="$R/etc/caddy/Caddyfile"
changed=0
printf '%s' "$GATEWAY_CADDYFILE" | phx_write_if_changed "$conf" 0644 && changed=1
# adapt reads the file as caddy's reload will, without starting anything (validate would make a CA of its own).
if ! out=$(caddy adapt --adapter caddyfile --config "$conf" 2>&1 >/dev/null); then
  phx_die "caddy refuses $conf: $(printf '%s' "$out" | tail -n 5)"
fi
systemctl enable --quiet caddy
if ! systemctl is-active --quiet caddy; then
  phx_log "starting caddy"
  systemctl start caddy
elif [ "$changed" = 1 ]; then
  phx_log "reloading caddy: its sites changed"
  systemctl reload caddy
fi
for _ in $(seq 1 60); do
  [ -s "$R$GATEWAY_ROOT_CERT" ] && break
  sleep 1
done
[ -s "$R$GATEWAY_ROOT_CERT" ] || phx_die "caddy made no CA root at $GATEWAY_ROOT_CERT within 60 s (journalctl -u caddy)"
phx_log "gateway: $(grep -c '^[a-z0-9].* {$' "$conf" || true) site(s), CA root at $GATEWAY_ROOT_CERT"
