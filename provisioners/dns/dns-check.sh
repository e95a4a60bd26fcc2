# Prints whether the node's dnsmasq file is the plan's, byte for byte, and whether dnsmasq runs; fails when either is not.
conf="$R$DNS_CONF_PATH"
ok=1
if [ ! -f "$conf" ]; then
  echo "$DNS_CONF_PATH: missing"
  ok=0
elif printf '%s' "$DNS_CONF" | cmp -s - "$conf"; then
  echo "$DNS_CONF_PATH: as planned ($(sha256sum <"$conf" | cut -c1-12))"
else
  echo "$DNS_CONF_PATH: differs from the plan ($(sha256sum <"$conf" | cut -c1-12))"
  ok=0
fi
if systemctl is-active --quiet dnsmasq; then echo "dnsmasq: active"; else
  echo "dnsmasq: not running"
  ok=0
fi
[ "$ok" = 1 ]
