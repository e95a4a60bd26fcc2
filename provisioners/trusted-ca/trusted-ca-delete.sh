# The gateway's CA no longer trusted here: its file removed and the bundle rebuilt without it.
if [ -e "$R$TRUSTED_CA_FILE" ]; then
  rm -f "$R$TRUSTED_CA_FILE"
  command -v update-ca-certificates >/dev/null && update-ca-certificates --fresh >/dev/null
  phx_log "no longer trusting the gateway's CA"
fi
