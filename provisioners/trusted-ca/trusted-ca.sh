# Installs TRUSTED_CA_PEM as TRUSTED_CA_FILE and runs update-ca-certificates when the file changed (or the system
# bundle lacks it); installs Debian's ca-certificates first when the guest has none.
phx_detect_os
[ -n "${TRUSTED_CA_PEM:-}" ] || phx_die "no CA certificate given (the gateway has not made its root yet?)"
phx_apt_install ca-certificates
bundle="$R/etc/ssl/certs/ca-certificates.crt"
body=$(printf '%s' "$TRUSTED_CA_PEM" | sed -n '2p')
if printf '%s' "$TRUSTED_CA_PEM" | phx_write_if_changed "$R$TRUSTED_CA_FILE" 0644 || ! grep -qxF "$body" "$bundle" 2>/dev/null; then
  update-ca-certificates >/dev/null
  phx_log "trusted the gateway's CA ($(openssl x509 -noout -subject -in "$R$TRUSTED_CA_FILE" 2>/dev/null || echo "$TRUSTED_CA_FILE"))"
fi
