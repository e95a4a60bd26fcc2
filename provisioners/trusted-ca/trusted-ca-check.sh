# Prints whether the declared CA (TRUSTED_CA_PEM) is installed as TRUSTED_CA_FILE and in the system bundle; exits
# non-zero otherwise (removed or replaced by hand, or update-ca-certificates never ran).
bundle="$R/etc/ssl/certs/ca-certificates.crt"
if [ "$(cat "$R$TRUSTED_CA_FILE" 2>/dev/null)" != "$(printf '%s' "${TRUSTED_CA_PEM:-}")" ]; then
  echo "$TRUSTED_CA_FILE is not the gateway's CA root"
  exit 1
fi
body=$(printf '%s' "$TRUSTED_CA_PEM" | sed -n '2p')
if ! grep -qxF "$body" "$bundle" 2>/dev/null; then
  echo "the gateway's CA root is not in $bundle (update-ca-certificates)"
  exit 1
fi
echo "the gateway's CA root is trusted ($(printf '%s' "$TRUSTED_CA_PEM" | sha256sum | cut -c1-16))"
