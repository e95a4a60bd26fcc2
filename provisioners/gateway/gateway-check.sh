# Prints the gateway's state and its CA root (the stack's gatewayCaCertificate); exits non-zero when caddy is missing or
# stopped, or /etc/caddy/Caddyfile is not the declared one (a hand edit: refresh shows it, up writes it back).
conf="$R/etc/caddy/Caddyfile"
if ! command -v caddy >/dev/null; then
  echo "caddy is not installed"
  exit 1
fi
if [ "$(cat "$conf" 2>/dev/null)" != "$(printf '%s' "$GATEWAY_CADDYFILE")" ]; then
  echo "$conf differs from the declared sites:"
  diff <(printf '%s' "$GATEWAY_CADDYFILE") "$conf" | head -n 20 || true
  exit 1
fi
if ! systemctl is-active --quiet caddy; then
  echo "caddy.service is $(systemctl is-active caddy 2>/dev/null || true)"
  exit 1
fi
echo "caddy $(caddy version | cut -d' ' -f1) serving $(grep -c '^[a-z0-9].* {$' "$conf" || true) site(s) as declared"
if [ ! -s "$R$GATEWAY_ROOT_CERT" ]; then
  echo "no CA root at $GATEWAY_ROOT_CERT"
  exit 1
fi
cat "$R$GATEWAY_ROOT_CERT"
