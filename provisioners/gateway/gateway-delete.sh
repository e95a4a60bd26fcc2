# The gateway removed from the definition: caddy stopped and disabled. Its data (the CA) stays, so a gateway put back
# in this guest keeps the root the guests already trust.
if systemctl list-unit-files caddy.service >/dev/null 2>&1; then
  systemctl disable --now --quiet caddy 2>/dev/null || true
  phx_log "stopped caddy"
fi
